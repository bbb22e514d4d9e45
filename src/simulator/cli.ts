#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { echo, logAttachment } from './cli-devices';
import type { CliOutput } from './cli-devices';
import type { SimulatedDevice } from './device';
import { DURATION_FORMS, formatDuration, parseDuration } from './duration';
import { DEFAULT_FLEET_NAME, SIM_STATUSES } from './engine';
import { MAX_GENERATED_SIMS, generateSims } from './generate';
import { Simulator } from './simulator';
import type { SimulatedFleetOptions, SimulatedSimOptions, SimulatedSimStatus, SimulatorMode } from './types';

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
  --sims N           N more Super SIMs, sim-0001 to sim-N (1 to 50000), beside --devices: enough to
                     list page by page; up to 1000 of them have a device that echoes
  --fleet NAME       the Fleet of the --sims SIMs (default "default"); made if it does not exist
  --sim-statuses L   statuses the --sims SIMs take in turn, e.g. active,active,inactive (default
                     active); one of new, ready, active, inactive, scheduled
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

/** What --sims, --fleet and --sim-statuses ask for. */
export interface CliGeneratedSims {
  count: number;
  fleet: string;
  statuses: SimulatedSimStatus[];
}

export interface CliOptions {
  port: number;
  mode: SimulatorMode;
  devices: CliDevice[];
  devicePort: number;
  help: boolean;
  /** Only with --sims. */
  generated?: CliGeneratedSims;
}

/** Generated SIMs past this many get no device socket: a simulator of 50 000 SIMs must not open 50 000 sockets. */
export const ECHOING_GENERATED_SIMS = 1000;

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
        sims: { type: 'string' },
        fleet: { type: 'string' },
        'sim-statuses': { type: 'string' },
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
  const options: CliOptions = {
    port: portOption('port', values.port, 0),
    mode,
    devices,
    devicePort: portOption('device-port', values['device-port'], 1),
    help: values.help,
  };
  const generated = generatedSims(values.sims, values.fleet, values['sim-statuses']);
  if (generated !== undefined) {
    const taken = generateSims({ count: generated.count }).find((sim) => devices.some((d) => d.uniqueName === sim.uniqueName));
    if (taken !== undefined) throw new CliUsageError(`--devices names ${taken.uniqueName}, which --sims makes too: rename that device`);
    options.generated = generated;
  }
  return options;
}

function generatedSims(count: string | undefined, fleet: string | undefined, statuses: string | undefined): CliGeneratedSims | undefined {
  if (count === undefined) {
    if (fleet !== undefined || statuses !== undefined) throw new CliUsageError(`--${fleet !== undefined ? 'fleet' : 'sim-statuses'} is for the SIMs of --sims: add --sims N`);
    return undefined;
  }
  const n = DIGITS.test(count) ? Number(count) : NaN;
  if (!(n >= 1 && n <= MAX_GENERATED_SIMS)) throw new CliUsageError(`--sims must be an integer from 1 to ${MAX_GENERATED_SIMS}, got "${count}"`);
  const fleetName = (fleet ?? DEFAULT_FLEET_NAME).trim();
  if (fleetName === '' || fleetName.includes('/')) throw new CliUsageError(`--fleet "${fleet}" is not a usable Fleet name`);
  const list = (statuses ?? 'active').split(',').map((status) => status.trim()).filter((status) => status !== '');
  const allowed = SIM_STATUSES.supersim;
  const wrong = list.find((status) => !allowed.includes(status));
  if (wrong !== undefined || list.length === 0) throw new CliUsageError(`--sim-statuses must list statuses out of ${allowed.join(', ')}; got "${statuses}"`);
  return { count: n, fleet: fleetName, statuses: list as SimulatedSimStatus[] };
}

export type { CliOutput } from './cli-devices';

export interface CliRun {
  /** What the process should exit with once `simulator` (if any) has stopped. */
  exitCode: number;
  simulator: Simulator | null;
  stop(): Promise<void>;
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
  const { generated } = options;
  const fleets: SimulatedFleetOptions[] = [];
  if (generated !== undefined) {
    fleets.push({ uniqueName: generated.fleet });
    sims.push(...generateSims({ count: generated.count, fleet: generated.fleet, statuses: generated.statuses }));
  }
  let simulator: Simulator;
  try {
    simulator = await Simulator.start({ mode: options.mode, port: options.port, sims, fleets });
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
        `  Webhook API URL ${simulator.webhookUrl}`,
      );
    } else {
      lines.push(`  Account SID     ${credentials.accountSid}`, `  Auth token      ${credentials.authToken}`);
    }
    lines.push('', 'SIMs:');
    const listed = simulator.devices.slice(0, options.devices.length);
    const nameWidth = Math.max(...listed.map((device) => device.uniqueName.length));
    const sleepers: [SimulatedDevice, NonNullable<CliDevice['sleep']>][] = [];
    for (const [i, device] of listed.entries()) {
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
    if (generated !== undefined) lines.push(...(await describeGenerated(simulator, listed.length, generated, options.devicePort, out)));
    const fleet = simulator.fleet();
    const fleetName = fleet.unique_name ?? fleet.sid;
    const otherFleet = generated !== undefined && generated.fleet !== fleetName ? simulator.fleet(generated.fleet) : undefined;
    lines.push(
      '',
      otherFleet === undefined ? 'Fleet (every SIM above is in it):' : `Fleets (${generated?.count} SIMs in ${generated?.fleet}, every other SIM in ${fleetName}):`,
      `  ${fleetName}  ${fleet.sid}`,
      ...(otherFleet === undefined ? [] : [`  ${otherFleet.unique_name ?? otherFleet.sid}  ${otherFleet.sid}`]),
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

/** One line for all the --sims SIMs; the first ECHOING_GENERATED_SIMS of them get a device that echoes. */
async function describeGenerated(simulator: Simulator, first: number, generated: CliGeneratedSims, devicePort: number, out: CliOutput): Promise<string[]> {
  const devices = simulator.devices.slice(first);
  const echoing = devices.slice(0, ECHOING_GENERATED_SIMS);
  for (const device of echoing) {
    echo(device, out);
    logAttachment(device, out);
  }
  await Promise.all(echoing.map((device) => device.listen(devicePort)));
  const range = devices.length === 1 ? devices[0].uniqueName : `${devices[0].uniqueName} … ${devices[devices.length - 1].uniqueName}`;
  const echoes = echoing.length === devices.length ? `devices echo on device port ${devicePort}` : `the first ${echoing.length} echo on device port ${devicePort}`;
  return [`  ${range}  ${devices.length} Super SIMs in Fleet ${generated.fleet}, statuses ${[...new Set(generated.statuses)].join(', ')}; ${echoes}`];
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
