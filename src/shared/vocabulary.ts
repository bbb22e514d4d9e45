/**
 * The words of Super SIM and Programmable Wireless Commands, shared by the API client, the command
 * rules, the callbacks and the simulator, so that none of them reaches into another for them.
 */

export type CommandStatus = 'queued' | 'sent' | 'delivered' | 'received' | 'failed';
export type CommandDirection = 'to_sim' | 'from_sim';
/** IP Commands, Super SIM SMS Commands and Programmable Wireless Commands. */
export type CommandKind = 'ip' | 'sms' | 'wireless';
export type HttpMethod = 'GET' | 'POST';
export type IpPayloadType = 'text' | 'binary';
export type WirelessCommandMode = 'text' | 'binary';
export type IncludeSid = 'none' | 'start' | 'end';
