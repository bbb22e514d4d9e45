#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { SUPERSIM_SMS_MAX_CHARS, WIRELESS_BINARY_MAX_BYTES, WIRELESS_TEXT_MAX_CHARS } from '../commands';
import type { SimulatedDevice } from './device';
import { DURATION_FORMS, formatDuration, parseDuration } from './duration';
import { truncateCodePoints } from './params';
import { Simulator } from './simulator';
import type { SimulatedSimOptions, SimulatorMode } from './types';

export const USAGE = `Usage: supersim-simulator [options]

A local Super SIM / Programmable Wireless API (KORE or Twilio flavour) with simulated devices that
echo what they receive: an IP Command is answered with "ack:<payload>" over UDP, an SMS with an SMS
"ack:<text>".

Every SIM is in one Fleet, unique name "default". To receive what the devices send, open a
supersim-command-in node, click "Point a Fleet at this node" and type default as the Fleet.

Options:
  --port N           HTTP port on 127.0.0.1 (default 1881; 0 picks a free one)
  --mode kore|twilio API flavour and credentials (default kore)
  --devices LIST     comma-separated SIM unique names; prefix a name with "wireless:" for a
                     Programmable Wireless SIM (default sim-thermostat,sim-tracker,wireless:sim-meter).
                     "sleepy:NAME:30s" is a SIM whose device sleeps: detached (its commands fail)
                     for 30 s, then attached for 30 s, and so on, starting asleep; "sleepy:NAME:2m/30s"
                     sleeps 2 min and wakes 30 s. Durations: 500ms, 30s, 2m, 1h. Prefixes combine:
                     sleepy:wireless:sim-meter:90s
  --device-port N    the device port every Super SIM device listens on (default 6655)
  --help             show this help

While it runs, detach or attach a SIM (by unique name or SID) over HTTP, without credentials:
  curl -X POST 'http://127.0.0.1:1881/simulator/sims/sim-thermostat/detach?for=30s'
  curl -X POST http://127.0.0.1:1881/simulator/sims/sim-thermostat/attach
Each answers {"sim":…,"sid":…,"attached":…}. Like the APIs it listens on 127.0.0.1 only.
`;

const DEFAULT_DEVICES = 'sim-thermostat,sim-tracker,wireless:sim-meter';
const DIGITS = /^[0-9]+$/;

export interface CliDevice {
  uniqueName: string;
  api: 'supersim' | 'wireless';
  /** Only for "sleepy:" entries. */
  sleep?: { asleepMs: number; awakeMs: number };
}

export interface CliOptions {
  port: number;
  mode: SimulatorMode;
  devices: CliDevice[];
  devicePort: number;
  help: boolean;
}

/** A mistake in the command line: reported with the usage hint and exit code 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

function portOption(name: string, value: string, min: number): number {
  const port = DIGITS.test(value) ? Number(value) : NaN;
  if (!(port >= min && port <= 65535)) throw new CliUsageError(`--${name} must be an integer from ${min} to 65535, got "${value}"`);
  return port;
}

const SLEEPY_FORMS = `sleepy:NAME:30s (asleep and awake 30 s each) or sleepy:NAME:2m/30s (asleep 2 min, awake 30 s); a duration is ${DURATION_FORMS}`;

/** One --devices entry: "name", "wireless:name", "sleepy:name:30s", the prefixes in either order. */
function deviceEntry(entry: string): CliDevice {
  const parts = entry.split(':').map((part) => part.trim());
  let wireless = false;
  let sleepy = false;
  while (parts.length > 1 && (parts[0] === 'wireless' || parts[0] === 'sleepy')) {
    if (parts[0] === 'wireless') wireless = true;
    else sleepy = true;
    parts.shift();
  }
  let sleep: CliDevice['sleep'];
  if (sleepy) {
    if (parts.length < 2) throw new CliUsageError(`--devices: "${entry}" needs how long the device sleeps: use ${SLEEPY_FORMS}`);
    const spec = parts.pop() as string;
    const [asleepText, awakeText, extra] = spec.split('/');
    const asleepMs = parseDuration(asleepText);
    const awakeMs = awakeText === undefined ? asleepMs : parseDuration(awakeText);
    if (asleepMs === null || awakeMs === null || extra !== undefined) {
      throw new CliUsageError(`--devices: "${entry}" has an invalid duration "${spec}": use ${SLEEPY_FORMS}`);
    }
    sleep = { asleepMs, awakeMs };
  }
  const uniqueName = parts.join(':');
  if (uniqueName === '' || uniqueName.includes('/')) throw new CliUsageError(`--devices: "${entry}" is not a usable SIM name`);
  const device: CliDevice = { uniqueName, api: wireless ? 'wireless' : 'supersim' };
  if (sleep !== undefined) device.sleep = sleep;
  return device;
}

export function parseCliArgs(argv: readonly string[]): CliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', default: '1881' },
        mode: { type: 'string', default: 'kore' },
        devices: { type: 'string', default: DEFAULT_DEVICES },
        'device-port': { type: 'string', default: '6655' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  const mode = values.mode;
  if (mode !== 'kore' && mode !== 'twilio') throw new CliUsageError(`--mode must be kore or twilio, got "${mode}"`);
  const devices: CliDevice[] = [];
  for (const raw of values.devices.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const device = deviceEntry(entry);
    if (devices.some((d) => d.uniqueName === device.uniqueName)) throw new CliUsageError(`--devices names ${device.uniqueName} twice`);
    devices.push(device);
  }
  if (devices.length === 0) throw new CliUsageError('--devices needs at least one SIM name');
  return {
    port: portOption('port', values.port, 0),
    mode,
    devices,
    devicePort: portOption('device-port', values['device-port'], 1),
    help: values.help,
  };
}

export interface CliOutput {
  log(line: string): void;
  error(line: string): void;
}

export interface CliRun {
  /** What the process should exit with once `simulator` (if any) has stopped. */
  exitCode: number;
  simulator: Simulator | null;
  stop(): Promise<void>;
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
function echo(device: SimulatedDevice, out: CliOutput): void {
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
function logAttachment(device: SimulatedDevice, out: CliOutput): void {
  const name = `[${device.uniqueName}]`;
  const lasting = (forMs: number | null): string => (forMs === null ? '' : ` for ${formatDuration(forMs)}`);
  device.on('detached', ({ forMs, sleeping }) => out.log(`${name} ${sleeping ? 'asleep (detached)' : 'detached'}${lasting(forMs)}`));
  device.on('attached', ({ forMs, sleeping }) => out.log(`${name} ${sleeping ? 'awake (attached)' : 'attached'}${lasting(forMs)}`));
}

function sleepNote(sleep: CliDevice['sleep']): string {
  return sleep === undefined ? '' : `, sleeps ${formatDuration(sleep.asleepMs)} / awake ${formatDuration(sleep.awakeMs)}`;
}

/** Starts the simulator as the command line asks and prints what to configure; never calls process.exit. */
export async function runCli(argv: readonly string[], out: CliOutput = console): Promise<CliRun> {
  const done = (exitCode: number): CliRun => ({ exitCode, simulator: null, stop: () => Promise.resolve() });
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    out.error(`supersim-simulator: ${error.message}\nRun supersim-simulator --help for the options.`);
    return done(2);
  }
  if (options.help) {
    out.log(USAGE);
    return done(0);
  }
  const sims: SimulatedSimOptions[] = options.devices.map((d) => ({ uniqueName: d.uniqueName, api: d.api }));
  let simulator: Simulator;
  try {
    simulator = await Simulator.start({ mode: options.mode, port: options.port, sims });
  } catch (error) {
    out.error(`supersim-simulator: could not start on 127.0.0.1:${options.port}: ${(error as Error).message}`);
    return done(1);
  }
  const stop = (): Promise<void> => simulator.close();
  try {
    const lines = [
      `Super SIM simulator (${simulator.mode}) listening on ${simulator.baseUrl}`,
      '',
      'Configure the supersim-account node with:',
      `  Super SIM URL   ${simulator.supersimUrl}`,
      `  Wireless URL    ${simulator.wirelessUrl}`,
    ];
    const { credentials } = simulator;
    if (simulator.mode === 'kore') {
      lines.push(
        `  Token URL       ${simulator.tokenUrl}`,
        `  Client ID       ${credentials.clientId}`,
        `  Client secret   ${credentials.clientSecret}`,
        `  Webhook secret  ${credentials.webhookSecret}`,
      );
    } else {
      lines.push(`  Account SID     ${credentials.accountSid}`, `  Auth token      ${credentials.authToken}`);
    }
    lines.push('', 'SIMs:');
    const nameWidth = Math.max(...simulator.devices.map((device) => device.uniqueName.length));
    const sleepers: [SimulatedDevice, NonNullable<CliDevice['sleep']>][] = [];
    for (const [i, device] of simulator.devices.entries()) {
      echo(device, out);
      logAttachment(device, out);
      const { sleep } = options.devices[i];
      if (sleep !== undefined) sleepers.push([device, sleep]);
      if (device.api === 'wireless') {
        lines.push(`  ${device.uniqueName.padEnd(nameWidth)}  ${device.sid}  Programmable Wireless (SMS Commands)${sleepNote(sleep)}`);
        continue;
      }
      const { port } = await device.listen(options.devicePort);
      lines.push(`  ${device.uniqueName.padEnd(nameWidth)}  ${device.sid}  Super SIM, device port ${options.devicePort} = udp://127.0.0.1:${port}${sleepNote(sleep)}`);
    }
    const fleet = simulator.fleet();
    const fleetName = fleet.unique_name ?? fleet.sid;
    lines.push(
      '',
      'Fleet (every SIM above is in it):',
      `  ${fleetName}  ${fleet.sid}`,
      '',
      `Devices send to the Fleet's URLs: in a command in node use "Point a Fleet at this node" with Fleet ${fleetName},`,
      `or set IpCommandsUrl and SmsCommandsUrl with POST ${simulator.supersimUrl}/v1/Fleets/${fleetName}.`,
      '',
      `Detach a SIM: POST ${simulator.controlUrl}/sims/<name or SID>/detach (?for=30s to re-attach after 30 s), attach: .../attach.`,
      'Press Ctrl+C to stop.',
    );
    for (const line of lines) out.log(line);
    // After the table, so that each sleepy SIM's first "asleep" line is logged like every later one.
    for (const [device, sleep] of sleepers) device.sleep(sleep);
  } catch (error) {
    await stop();
    out.error(`supersim-simulator: ${(error as Error).message}`);
    return done(1);
  }
  return { exitCode: 0, simulator, stop };
}

/** The process entry: exit 0 after a clean stop on SIGINT/SIGTERM, 2 on bad flags. */
export async function main(argv: readonly string[] = process.argv.slice(2), out: CliOutput = console): Promise<void> {
  // The handlers go in before the simulator starts: "Press Ctrl+C" is printed inside runCli, and a
  // signal that arrived between that line and a later process.once() would kill the process unclean.
  let run: CliRun | null = null;
  let stopRequested = false;
  const stopListening = (): void => {
    process.off('SIGINT', shutdown);
    process.off('SIGTERM', shutdown);
  };
  function shutdown(): void {
    stopRequested = true;
    stopListening();
    if (run !== null) stopAndExit(run, out);
  }
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  run = await runCli(argv, out);
  if (run.simulator === null) {
    stopListening();
    process.exitCode = run.exitCode;
    return;
  }
  if (stopRequested) stopAndExit(run, out);
}

function stopAndExit(run: CliRun, out: CliOutput): void {
  void run.stop().then(
    () => process.exit(0),
    (error: Error) => {
      out.error(`supersim-simulator: ${error.message}`);
      process.exit(1);
    },
  );
}

if (require.main === module) void main();
