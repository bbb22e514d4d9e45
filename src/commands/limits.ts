/** The vendors' documented limits; the command rules, the simulator and the editor all read these. */

/** Decoded bytes of one IP Command payload (one UDP datagram, no fragmentation). */
export const IP_PAYLOAD_MAX_BYTES = 1300;
/** Characters of a Super SIM SMS Command (text only). */
export const SUPERSIM_SMS_MAX_CHARS = 160;
/** Characters of a Programmable Wireless text Command. */
export const WIRELESS_TEXT_MAX_CHARS = 160;
/** With IncludeSid start/end the API adds the command SID and a space, and documents 128 characters before it. */
export const WIRELESS_TEXT_WITH_SID_MAX_CHARS = 128;
/** Decoded bytes of a Programmable Wireless binary Command (one SMS PDU). */
export const WIRELESS_BINARY_MAX_BYTES = 140;
export const DEVICE_PORT_MIN = 1;
export const DEVICE_PORT_MAX = 65535;
