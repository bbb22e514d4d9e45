import { SUPERSIM_SMS_MAX_CHARS, WIRELESS_BINARY_MAX_BYTES, WIRELESS_TEXT_MAX_CHARS } from '../commands';
import type { SimulatedDevice } from './device';
import { formatDuration } from './duration';
import { truncateCodePoints } from './params';

/** Where the CLI writes; console by default. */
export interface CliOutput {
  log(line: string): void;
  error(line: string): void;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Text when the bytes are printable UTF-8, hex otherwise, so a log line never garbles. */
function preview(bytes: Buffer): string {
  try {
    const text = UTF8.decode(bytes);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return JSON.stringify(text);
  } catch {
    // not UTF-8: fall through to hex
  }
  return `0x${bytes.toString('hex')}`;
}

/** The CLI's devices answer everything they receive, so a flow sees traffic both ways. */
export function echo(device: SimulatedDevice, out: CliOutput): void {
  const failed = (error: Error): void => out.error(`[${device.uniqueName}] echo failed: ${error.message}`);
  device.on('ip', (bytes, info) => {
    out.log(`[${device.uniqueName}] IP Command ${info.commandSid} on device port ${info.devicePort}: ${bytes.length} bytes ${preview(bytes)}`);
    info.reply(Buffer.concat([Buffer.from('ack:'), bytes])).catch(failed);
  });
  device.on('sms', (text, info) => {
    out.log(`[${device.uniqueName}] SMS Command ${info.commandSid}: ${JSON.stringify(text)}`);
    device.sendSms(truncateCodePoints(`ack:${text}`, SUPERSIM_SMS_MAX_CHARS)).catch(failed);
  });
  device.on('wireless', (command, info) => {
    const shown = typeof command === 'string' ? JSON.stringify(command) : preview(command);
    out.log(`[${device.uniqueName}] Command ${info.commandSid} (${info.mode}): ${shown}`);
    const answer =
      typeof command === 'string'
        ? truncateCodePoints(`ack:${command}`, WIRELESS_TEXT_MAX_CHARS)
        : Buffer.concat([Buffer.from('ack:'), command]).subarray(0, WIRELESS_BINARY_MAX_BYTES);
    device.sendSms(answer).catch(failed);
  });
}

/** One log line per change, so whoever watches the terminal sees why a command failed. */
export function logAttachment(device: SimulatedDevice, out: CliOutput): void {
  const name = `[${device.uniqueName}]`;
  const lasting = (forMs: number | null): string => (forMs === null ? '' : ` for ${formatDuration(forMs)}`);
  device.on('detached', ({ forMs, sleeping }) => out.log(`${name} ${sleeping ? 'asleep (detached)' : 'detached'}${lasting(forMs)}`));
  device.on('attached', ({ forMs, sleeping }) => out.log(`${name} ${sleeping ? 'awake (attached)' : 'attached'}${lasting(forMs)}`));
}
