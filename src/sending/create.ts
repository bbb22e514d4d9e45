import type { CreateIpCommandParams, CreateSmsCommandParams, CreateWirelessCommandParams, IpCommand, SmsCommand, SuperSimClient, WirelessCommand } from '../api';
import type { CommandKind } from '../shared';
import { withTrackingCallback } from './requests';

export type CreateRequest = CreateIpCommandParams | CreateSmsCommandParams | CreateWirelessCommandParams;

/**
 * Sends a checked create request of any kind; the same function creates a message's first attempt
 * and, from what the pending store kept, every later one (after a restart too).
 */
export function createCommand(
  client: Pick<SuperSimClient, 'createIpCommand' | 'createSmsCommand' | 'createWirelessCommand'>,
  kind: CommandKind,
  request: CreateRequest,
  trackingCallbackUrl: string | undefined,
  signal: AbortSignal,
): Promise<IpCommand | SmsCommand | WirelessCommand> {
  switch (kind) {
    case 'ip':
      return client.createIpCommand(withTrackingCallback(request as CreateIpCommandParams, trackingCallbackUrl), { signal });
    case 'sms':
      return client.createSmsCommand(withTrackingCallback(request as CreateSmsCommandParams, trackingCallbackUrl), { signal });
    case 'wireless':
      return client.createWirelessCommand(withTrackingCallback(request as CreateWirelessCommandParams, trackingCallbackUrl), { signal });
  }
}
