/**
 * `npm start`: the whole loop on one machine. The simulator (the Super SIM / Wireless APIs and four
 * devices that echo what they receive, one of which sleeps and wakes by turns) and a Node-RED from the devDependencies, with this package
 * packed and installed into its user directory as a user would install it, and a demo flow that sends
 * commands, receives the devices' answers and shows every status change.
 *
 * The logic is importable (startDemo) so that tests run the same demo on free ports; the
 * Node-RED helpers below are shared with the compatibility run (scripts/compat.sh).
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SUPERSIM_SMS_MAX_CHARS, WIRELESS_BINARY_MAX_BYTES, WIRELESS_TEXT_MAX_CHARS } from '../src/commands/limits';
import { Simulator, generateSims } from '../src/simulator';
import { truncateCodePoints } from '../src/simulator/params';
import type { SimulatedDevice } from '../src/simulator';
import { DASHBOARD_MISSING_HINT, demoDashboard } from './demo-dashboard';

export const PROJECT_ROOT = resolve(__dirname, '..');
const PACKAGE = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

// ---- packing and installing this package ------------------------------------------------------

/** Children (npm, Node-RED) must not inherit a test runner's loaders or coverage collection (c8 sets NODE_V8_COVERAGE). */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  return env;
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { cwd, env: childEnv(), maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

/** npm as the running Node knows it: `npm` on PATH is what `npm start` and CI use. */
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * `npm pack` of the project into `destination`; the tarball's path. Its prepack script builds dist/
 * first, so this is exactly what `npm publish` would upload and what runs is what users get.
 */
export async function packPackage(destination: string): Promise<string> {
  mkdirSync(destination, { recursive: true });
  const out = await run(NPM, ['pack', '--json', '--pack-destination', destination], PROJECT_ROOT);
  const [packed] = JSON.parse(out) as { filename: string }[];
  return join(destination, packed.filename);
}

/**
 * Installs a packed tarball into a Node-RED user directory the way the palette manager does (npm
 * install in the userDir, saved to its package.json), so its dependencies resolve as they will for
 * users. No lockfile: a re-packed tarball at the same path must not trip an integrity check.
 * `--prefer-offline` takes the dependencies from npm's cache, which `npm ci` filled.
 */
export async function installPackage(userDir: string, tarball: string): Promise<void> {
  mkdirSync(userDir, { recursive: true });
  const manifest = join(userDir, 'package.json');
  if (!existsSync(manifest)) {
    writeFileSync(manifest, `${JSON.stringify({ name: 'node-red-project', description: 'A Node-RED user directory', version: '0.0.1', private: true }, null, 2)}\n`);
  }
  await run(NPM, ['install', '--no-package-lock', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', tarball], userDir);
}

/** Packs the project into the userDir (where its package.json will refer to it) and installs it there. */
export async function installPackedProject(userDir: string): Promise<string> {
  mkdirSync(userDir, { recursive: true });
  // Earlier versions' tarballs are dead weight once the current one is installed.
  for (const name of readdirSync(userDir)) {
    if (name.startsWith(`${PACKAGE.name}-`) && name.endsWith('.tgz')) rmSync(join(userDir, name));
  }
  const tarball = await packPackage(userDir);
  await installPackage(userDir, tarball);
  return tarball;
}

// ---- a Node-RED in a child process ------------------------------------------------------------

/** As Node-RED's runtime encrypts flows_cred.json: aes-256-ctr, key sha256(secret), hex IV first. */
export function encryptCredentials(credentials: Record<string, object>, secret: string): { $: string } {
  const key = createHash('sha256').update(secret).digest();
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return { $: iv.toString('hex') + cipher.update(JSON.stringify(credentials), 'utf8', 'base64') + cipher.final('base64') };
}

export interface NodeRedProcessOptions {
  port: number;
  userDir: string;
  /** The node-red package directory; default the devDependency. */
  nodeRedDir?: string;
  /** The Node executable; default the one running this. */
  nodeBin?: string;
  /** Merged over the defaults (shallowly); values must be JSON. */
  settings?: Record<string, unknown>;
  /** Written to flows.json before start: whatever flows the userDir held are replaced. */
  flows: object[];
  /** Node id → credentials, encrypted into flows_cred.json (replaced too). */
  credentials?: Record<string, object>;
  /** Each line Node-RED prints. */
  log?: (line: string) => void;
}

export interface NodeRedProcess {
  url: string;
  port: number;
  userDir: string;
  /** Node-RED's output so far. */
  logs(): string;
  /** Resolves when the process has ended, with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGINT (Node-RED stops its flows and exits), SIGKILL if it has not gone after a grace period. */
  stop(): Promise<void>;
}

export function nodeRedDirectory(nodeRedDir?: string): string {
  return nodeRedDir ?? resolve(require.resolve('node-red/package.json'), '..');
}

function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  child.kill('SIGINT');
  return exited.then(() => clearTimeout(killer));
}

/**
 * Starts Node-RED with the given userDir (the package must be installed there already) and resolves
 * once its flows have started. Node-RED does not wait for its flows before it listens, and says when
 * they run only in its log, so "Started flows" is the signal; missing node types are a failure.
 */
export async function startNodeRedProcess(options: NodeRedProcessOptions): Promise<NodeRedProcess> {
  const { port, userDir } = options;
  const redJs = join(nodeRedDirectory(options.nodeRedDir), 'red.js');
  const credentialSecret = randomBytes(24).toString('hex');
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    userDir,
    flowFile: 'flows.json',
    // A new key at each start is enough: flows_cred.json is always written afresh with it below.
    credentialSecret,
    lang: 'en-US',
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { tours: false },
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    externalModules: { autoInstall: false },
    ...options.settings,
  };
  mkdirSync(userDir, { recursive: true });
  const settingsFile = join(userDir, 'settings.js');
  writeFileSync(settingsFile, `// Written by scripts/start.ts at each start: edits here do not last.\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`);
  writeFileSync(join(userDir, 'flows.json'), `${JSON.stringify(options.flows, null, 2)}\n`);
  writeFileSync(join(userDir, 'flows_cred.json'), `${JSON.stringify(encryptCredentials(options.credentials ?? {}, credentialSecret), null, 2)}\n`);

  const child = spawn(options.nodeBin ?? process.execPath, [redJs, '--userDir', userDir, '--settings', settingsFile], {
    cwd: userDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(),
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  let output = '';
  let started = false;
  let missing: string | undefined;
  const onLine = (line: string): void => {
    if (/\bStarted flows\b/.test(line)) started = true;
    if (/Waiting for missing types|Missing node modules/.test(line)) missing = line;
    options.log?.(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line.replace(/\r$/, ''));
    });
  }

  const url = `http://127.0.0.1:${port}`;
  const instance: NodeRedProcess = {
    url,
    port,
    userDir,
    logs: () => output,
    exited,
    stop: () => stopChild(child, exited),
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  try {
    while (!started) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Node-RED exited (${child.exitCode ?? child.signalCode}) before its flows started`);
      if (missing !== undefined) throw new Error(`Node-RED could not start the flows: ${missing}`);
      if (Date.now() > deadline) throw new Error(`Node-RED did not start its flows within ${START_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The editor is served by the same listener; once it answers, the browser can come.
    while (!(await answers(`${url}/`))) {
      if (Date.now() > deadline) throw new Error(`Node-RED did not answer on ${url} within ${START_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await instance.stop();
    (err as Error).message += `\nNode-RED output:\n${output}`;
    throw err;
  }
  return instance;
}

/** Whether anything answers HTTP at `url` yet (any status): how a starting Node-RED is awaited. */
export async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000), redirect: 'manual' });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

// ---- the demo ---------------------------------------------------------------------------------

/** The simulated SIMs of the demo; the demo flow addresses them by these unique names. */
export const DEMO_SIMS = { thermostat: 'sim-thermostat', tracker: 'sim-tracker', meter: 'sim-meter', sleeper: 'sim-sleeper' } as const;
/**
 * sim-sleeper's device sleeps (detached, so commands to it end `failed`) and wakes (attached) by
 * turns, from the start: what example 05 "Wake a sleeping device" keeps trying against.
 */
export const DEMO_SLEEP = { asleepMs: 30_000, awakeMs: 30_000 } as const;
export const DEMO_DEVICE_PORT = 6655;
/**
 * A Fleet of its own with a few SIMs, for example 06 "Send to a whole Fleet": listed by supersim-sims,
 * each one sent a command. Their devices answer as the others do.
 */
export const DEMO_FLEET = { name: 'fleet-demo', size: 5, prefix: 'fleet-demo-' } as const;

/** The unique names of the demo Fleet's SIMs (fleet-demo-0001 …). */
export function demoFleetSims(): string[] {
  return generateSims({ count: DEMO_FLEET.size, prefix: DEMO_FLEET.prefix }).map((sim) => sim.uniqueName);
}
/** Where the demo's supersim-command-in listens, under Node-RED's httpNodeRoot. */
export const DEMO_COMMANDS_PATH = '/supersim/commands';

/** Stable ids, so a test (or a user reading the flow file) can find the demo's nodes. */
export const DEMO_IDS = {
  tab: 'a1d3e0c0de000001',
  account: 'a1d3e0c0de000002',
  intro: 'a1d3e0c0de000003',
  injectIp: 'a1d3e0c0de000010',
  injectIpBinary: 'a1d3e0c0de000011',
  injectSms: 'a1d3e0c0de000012',
  injectWireless: 'a1d3e0c0de000013',
  sendIp: 'a1d3e0c0de000020',
  sendIpBinary: 'a1d3e0c0de000021',
  sendSms: 'a1d3e0c0de000022',
  sendWireless: 'a1d3e0c0de000023',
  commandIn: 'a1d3e0c0de000030',
  filter: 'a1d3e0c0de000040',
  debugCreated: 'a1d3e0c0de000050',
  debugFromDevices: 'a1d3e0c0de000051',
  debugStatus: 'a1d3e0c0de000052',
  asText: 'a1d3e0c0de000053',
  answerAsText: 'a1d3e0c0de000054',
  debugAnswer: 'a1d3e0c0de000055',
  commentSend: 'a1d3e0c0de000060',
  commentReceive: 'a1d3e0c0de000061',
  catchErrors: 'a1d3e0c0de000070',
  debugErrors: 'a1d3e0c0de000071',
} as const;

/**
 * What the debug nodes after the send nodes and the filter show: the status first, so that it reads
 * without expanding the object (a Wireless Command's status is far down its resource). JSONata leaves
 * out what a resource lacks: `payload` for IP and SMS Commands, `command` for Wireless ones.
 */
export const DEMO_COMMAND_SUMMARY = '{"status": payload.status, "sid": payload.sid, "payload": payload.payload, "command": payload.command}';

/**
 * What "thermostat's answer" shows: the answer, then the command it answers (output 3 carries it as
 * msg.request), so the sidebar ties each answer to its command without expanding anything.
 */
export const DEMO_ANSWER_SUMMARY = '{"answer": payload, "command": request.sid, "sent": request.payload}';

export interface DemoFlowOptions {
  /** Where the simulator's API is, e.g. http://127.0.0.1:1881. */
  simulator: Pick<Simulator, 'supersimUrl' | 'wirelessUrl' | 'tokenUrl' | 'credentials'>;
  /** Where the simulator reaches this Node-RED, e.g. http://127.0.0.1:1880. */
  nodeRedUrl: string;
}

/** The demo flow and its account's credentials (the simulator's, not anyone's secrets). */
export function demoFlow(options: DemoFlowOptions): { flows: object[]; credentials: Record<string, object> } {
  const id = DEMO_IDS;
  const z = id.tab;
  const { simulator } = options;
  const inject = (nodeId: string, name: string, payload: string, payloadType: string, y: number, target: string): object => ({
    id: nodeId,
    type: 'inject',
    z,
    name,
    props: [{ p: 'payload' }],
    repeat: '',
    crontab: '',
    once: false,
    onceDelay: 0.1,
    topic: '',
    payload,
    payloadType,
    x: 140,
    y,
    wires: [[target]],
  });
  /**
   * `shown` is what the node shows under itself: a property of msg, or nothing; `sidebar` what it
   * shows in the Debug sidebar: a property of msg, or a JSONata expression.
   */
  const debug = (nodeId: string, name: string, shown: string | null, x: number, y: number, sidebar: { msg: string } | { jsonata: string } = { msg: 'payload' }): object => ({
    id: nodeId,
    type: 'debug',
    z,
    name,
    active: true,
    tosidebar: true,
    console: false,
    tostatus: shown !== null,
    complete: 'msg' in sidebar ? sidebar.msg : sidebar.jsonata,
    targetType: 'msg' in sidebar ? 'msg' : 'jsonata',
    statusVal: shown ?? '',
    // 'auto' shows what the sidebar shows: right for a payload, not for a summary of the message.
    statusType: shown === 'payload' && 'msg' in sidebar && sidebar.msg === 'payload' ? 'auto' : 'msg',
    x,
    y,
    wires: [],
  });
  const send = (nodeId: string, y: number, fields: Record<string, unknown>): object => ({
    id: nodeId,
    z,
    name: '',
    account: id.account,
    callbackUrl: '',
    callbackMethod: '',
    track: true,
    trackTimeout: 60,
    ...fields,
    x: 350,
    y,
    wires: [[id.debugCreated], [id.filter]],
  });
  const flows: object[] = [
    {
      id: z,
      type: 'tab',
      label: 'Super SIM demo',
      disabled: false,
      info:
        'Runs against the local Super SIM simulator that `npm start` started beside this Node-RED.\n\n' +
        'Click the button on the left of an inject node to send a command to a simulated device. ' +
        'Open the Debug sidebar to see what happens: the command the API created, each status ' +
        'change of it (through the status filter), and the answer the device sends back (`ack:<what it got>`), ' +
        'which arrives at the command in node.\n\n' +
        "The thermostat's IP Command node waits for the device's answer: its output 3 carries the answer with the " +
        "command it answers (`msg.request`), shown by *thermostat's answer*.\n\n" +
        `The simulator's \`${DEMO_SIMS.sleeper}\` sleeps and wakes by turns (${DEMO_SLEEP.asleepMs / 1000} s each): ` +
        'the example "Wake a sleeping device" keeps trying a command to it until one gets through.',
    },
    {
      id: id.account,
      type: 'supersim-account',
      name: 'Simulator (KORE)',
      provider: 'kore',
      supersimUrl: simulator.supersimUrl,
      wirelessUrl: simulator.wirelessUrl,
      tokenUrl: simulator.tokenUrl,
      callbackBaseUrl: options.nodeRedUrl,
    },
    {
      id: id.intro,
      type: 'comment',
      z,
      name: 'Click a button on the left, then watch the Debug sidebar (the bug icon, top right)',
      info:
        "The account node points at the local simulator, with the simulator's credentials; its Public URL is this " +
        'Node-RED, so the simulator can deliver status callbacks and what devices send.\n\n' +
        'To use real SIMs, open the account node, choose KORE or Twilio, clear the three URLs and enter your own credentials.',
      x: 340,
      y: 40,
      wires: [],
    },
    {
      id: id.commentSend,
      type: 'comment',
      z,
      name: 'Send commands to the simulated devices; each status change leaves output 2',
      info: '',
      x: 340,
      y: 80,
      wires: [],
    },
    // Named for what they send, not like the palette's nodes: the send nodes are those.
    inject(id.injectIp, 'text by IP', 'set temperature 21', 'str', 130, id.sendIp),
    inject(id.injectIpBinary, 'bytes by IP', '[1,2,3,4]', 'bin', 250, id.sendIpBinary),
    inject(id.injectSms, 'text by SMS', 'where are you?', 'str', 310, id.sendSms),
    inject(id.injectWireless, 'text by Wireless', 'read meter', 'str', 370, id.sendWireless),
    // The thermostat's node waits for the device's answer: output 3 carries it, tied to the command.
    {
      ...send(id.sendIp, 130, { type: 'supersim-ip-command', sim: DEMO_SIMS.thermostat, devicePort: String(DEMO_DEVICE_PORT), payloadType: 'auto' }),
      waitAnswer: true,
      answerTimeout: 30,
      retryFor: 0,
      outputs: 3,
      wires: [[id.debugCreated], [id.filter], [id.answerAsText]],
    },
    send(id.sendIpBinary, 250, { type: 'supersim-ip-command', sim: DEMO_SIMS.tracker, devicePort: String(DEMO_DEVICE_PORT), payloadType: 'auto' }),
    send(id.sendSms, 310, { type: 'supersim-sms-command', api: 'supersim', sim: DEMO_SIMS.tracker, commandMode: 'text', includeSid: 'none', deliveryReceipt: true }),
    send(id.sendWireless, 370, { type: 'supersim-sms-command', api: 'wireless', sim: DEMO_SIMS.meter, commandMode: 'text', includeSid: 'none', deliveryReceipt: true }),
    // Laid out for a 1400×900 window with the sidebars open: nothing right of x≈890, no status text under a
    // neighbour, the longest included ("sent at 12:00:00 · 10 waiting for an answer" under the thermostat's node).
    debug(id.debugCreated, 'command created', null, 700, 250, { jsonata: DEMO_COMMAND_SUMMARY }),
    {
      id: id.filter,
      type: 'supersim-status-filter',
      z,
      name: '',
      statuses: [],
      maxCommands: 100000,
      store: '',
      x: 600,
      y: 310,
      wires: [[id.debugStatus]],
    },
    // Below the filter, not beside it: the filter's counts under it would run beneath a node on its right.
    debug(id.debugStatus, 'status change', 'payload.status', 660, 380, { jsonata: DEMO_COMMAND_SUMMARY }),
    {
      id: id.commentReceive,
      type: 'comment',
      z,
      name: `Receive what the devices send back (the simulator's Fleet "default" points at ${DEMO_COMMANDS_PATH})`,
      info: '',
      x: 400,
      y: 440,
      wires: [],
    },
    {
      id: id.commandIn,
      type: 'supersim-command-in',
      z,
      name: '',
      account: id.account,
      url: DEMO_COMMANDS_PATH,
      x: 150,
      y: 490,
      // Output 2 would carry status callbacks of commands sent with this node's URL as CallbackUrl; the send
      // nodes here track through the account instead.
      wires: [[id.asText], []],
    },
    {
      id: id.asText,
      type: 'function',
      z,
      name: 'readable bytes as text',
      func:
        '// What a device sends over IP arrives as bytes (a Buffer); show it as text when it is readable text.\n' +
        'if (Buffer.isBuffer(msg.payload)) {\n' +
        "    const text = msg.payload.toString('utf8');\n" +
        '    if (!/[\\u0000-\\u0008\\u000e-\\u001f\\u007f\\ufffd]/.test(text)) {\n' +
        '        msg.payload = text;\n' +
        '    }\n' +
        '}\n' +
        'return msg;',
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      // Far enough right that "from sim-thermostat: received at 12:00:00" under command in ends before it.
      x: 470,
      y: 490,
      wires: [[id.debugFromDevices]],
    },
    debug(id.debugFromDevices, 'device answered', 'payload', 700, 490),
    // A row below the thermostat's node, not beside it: its status with the waiting count takes the room on its right.
    {
      id: id.answerAsText,
      type: 'function',
      z,
      name: 'answer as text',
      func: "// The thermostat answers over IP with bytes; its answer reads as text.\nif (Buffer.isBuffer(msg.payload)) msg.payload = msg.payload.toString('utf8');\nreturn msg;",
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      x: 540,
      y: 190,
      wires: [[id.debugAnswer]],
    },
    debug(id.debugAnswer, "thermostat's answer", 'payload', 750, 190, { jsonata: DEMO_ANSWER_SUMMARY }),
    {
      id: id.catchErrors,
      type: 'catch',
      z,
      name: 'errors of this flow',
      scope: null,
      uncaught: false,
      x: 130,
      y: 570,
      wires: [[id.debugErrors]],
    },
    // The error's text, readable in the sidebar; the whole msg.error would be a collapsed object.
    debug(id.debugErrors, 'error message', null, 360, 570, { msg: 'error.message' }),
  ];
  const { credentials } = simulator;
  return {
    flows,
    credentials: { [id.account]: { clientId: credentials.clientId, clientSecret: credentials.clientSecret, webhookSecret: credentials.webhookSecret } },
  };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Text when it is printable UTF-8, hex otherwise, so a log line never garbles. */
function shown(bytes: Buffer | string): string {
  if (typeof bytes === 'string') return JSON.stringify(bytes);
  try {
    const text = UTF8.decode(bytes);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return JSON.stringify(text);
  } catch {
    // not UTF-8: hex below
  }
  return `0x${bytes.toString('hex')}`;
}

/** The demo's devices answer whatever they get with "ack:" and what they got, as the CLI's do. */
function echo(device: SimulatedDevice, log: (line: string) => void): void {
  const failed = (error: Error): void => log(`[simulator] ${device.uniqueName}: the answer failed: ${error.message}`);
  device.on('ip', (bytes, info) => {
    log(`[simulator] ${device.uniqueName} got IP Command ${info.commandSid}: ${shown(bytes)}`);
    info.reply(Buffer.concat([Buffer.from('ack:'), bytes])).catch(failed);
  });
  device.on('sms', (text, info) => {
    log(`[simulator] ${device.uniqueName} got SMS Command ${info.commandSid}: ${shown(text)}`);
    device.sendSms(truncateCodePoints(`ack:${text}`, SUPERSIM_SMS_MAX_CHARS)).catch(failed);
  });
  device.on('wireless', (command, info) => {
    log(`[simulator] ${device.uniqueName} got Command ${info.commandSid}: ${shown(command)}`);
    const answer =
      typeof command === 'string'
        ? truncateCodePoints(`ack:${command}`, WIRELESS_TEXT_MAX_CHARS)
        : Buffer.concat([Buffer.from('ack:'), command]).subarray(0, WIRELESS_BINARY_MAX_BYTES);
    device.sendSms(answer).catch(failed);
  });
}

export interface DemoOptions {
  /** Node-RED's port on 127.0.0.1; default 1880. */
  port?: number;
  /** The simulator's port on 127.0.0.1; default 1881. */
  simulatorPort?: number;
  /** Node-RED's user directory; default .node-red in the project. Its flows are replaced by the demo's. */
  userDir?: string;
  /** Another Node-RED (its package directory) or Node executable, as the compatibility run uses. */
  nodeRedDir?: string;
  nodeBin?: string;
  /** Where the demo's own lines and Node-RED's output go; default the console. */
  log?: (line: string) => void;
  /** false: no Device control panel tab even when Dashboard 2 is installed (scripts/demo-dashboard.ts); default when it is. */
  dashboard?: boolean;
}

export interface DemoRun {
  /** The editor: http://127.0.0.1:<port>/ */
  url: string;
  simulator: Simulator;
  nodeRed: NodeRedProcess;
  /** The Device control panel (Dashboard 2), e.g. http://127.0.0.1:1880/dashboard; undefined without Dashboard 2. */
  dashboardUrl?: string;
  /** Stops Node-RED and the simulator; idempotent. */
  stop(): Promise<void>;
}

/** Where the demo's editor finds its palette catalogue: on this Node-RED, not on the internet. */
export const DEMO_CATALOGUE_PATH = 'supersim-demo/catalogue.json';

/**
 * The palette manager fetches https://catalogue.nodered.org at every editor load, which on a machine
 * without internet can only fail (a warning in the browser's console). The demo needs no internet, so
 * its editor gets an empty catalogue served by its own Node-RED. No catalogue at all would leave the
 * Install tab waiting for one forever (Node-RED 4.1 finishes loading only when a catalogue answers).
 */
function offlineCatalogueSettings(userDir: string): Record<string, unknown> {
  const dir = join(userDir, 'supersim-demo-static', 'supersim-demo');
  mkdirSync(dir, { recursive: true });
  const catalogue = { name: 'none (the demo works offline)', updated_at: new Date().toISOString(), modules: [] };
  writeFileSync(join(dir, 'catalogue.json'), `${JSON.stringify(catalogue, null, 2)}\n`);
  return {
    httpStatic: [{ path: join(userDir, 'supersim-demo-static'), root: '/' }],
    editorTheme: { tours: false, palette: { catalogues: [DEMO_CATALOGUE_PATH] } },
  };
}

/** Thrown when a port the demo needs is taken: the message says how to choose another. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

/** Fails fast, before packing and installing, when another program (often another Node-RED) holds the port. */
function checkPortFree(port: number, what: string, option: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(`port ${port} on 127.0.0.1 (${what}) is in use; choose another with ${option} <port>`) : err),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePromise()));
  });
}

/** Starts the simulator and a Node-RED with the packed package and the demo flow deployed. */
export async function startDemo(options: DemoOptions = {}): Promise<DemoRun> {
  const port = options.port ?? 1880;
  const simulatorPort = options.simulatorPort ?? 1881;
  await checkPortFree(port, 'Node-RED', '--port');
  await checkPortFree(simulatorPort, 'the simulator', '--simulator-port');
  const userDir = resolve(options.userDir ?? join(PROJECT_ROOT, '.node-red'));
  const log = options.log ?? ((line: string) => console.log(line));
  const nodeRedUrl = `http://127.0.0.1:${port}`;
  const commandsUrl = nodeRedUrl + DEMO_COMMANDS_PATH;

  log(`Building and packing ${PACKAGE.name}@${PACKAGE.version} and installing it into ${userDir} ...`);
  await installPackedProject(userDir);
  const dashboard = demoDashboard({
    userDir,
    projectRoot: PROJECT_ROOT,
    packageDir: join(userDir, 'node_modules', PACKAGE.name),
    accountId: DEMO_IDS.account,
    sim: DEMO_SIMS.thermostat,
    nodeRedUrl,
    enabled: options.dashboard,
  });
  log(dashboard.note);

  const simulator = await Simulator.start({
    mode: 'kore',
    port: simulatorPort,
    sims: [
      { uniqueName: DEMO_SIMS.thermostat },
      { uniqueName: DEMO_SIMS.tracker },
      // A Wireless SIM reports what its device sends per SIM, not per fleet.
      { uniqueName: DEMO_SIMS.meter, api: 'wireless', commandsCallbackUrl: commandsUrl },
      { uniqueName: DEMO_SIMS.sleeper, sleep: { ...DEMO_SLEEP } },
      ...generateSims({ count: DEMO_FLEET.size, prefix: DEMO_FLEET.prefix, fleet: DEMO_FLEET.name }),
    ],
    fleets: [
      { uniqueName: 'default', ipCommandsUrl: commandsUrl, smsCommandsUrl: commandsUrl },
      { uniqueName: DEMO_FLEET.name, ipCommandsUrl: commandsUrl, smsCommandsUrl: commandsUrl },
    ],
  });
  let nodeRed: NodeRedProcess;
  try {
    for (const device of simulator.devices) {
      echo(device, log);
      if (device.api === 'supersim') await device.listen(DEMO_DEVICE_PORT);
    }
    const { flows, credentials } = demoFlow({ simulator, nodeRedUrl });
    nodeRed = await startNodeRedProcess({
      port,
      userDir,
      nodeRedDir: options.nodeRedDir,
      nodeBin: options.nodeBin,
      flows: [...flows, ...dashboard.flows],
      credentials,
      settings: offlineCatalogueSettings(userDir),
      log: (line) => log(`[node-red] ${line}`),
    });
  } catch (err) {
    await simulator.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `${nodeRedUrl}/`,
    simulator,
    nodeRed,
    dashboardUrl: dashboard.url,
    stop: () => (stopping ??= nodeRed.stop().finally(() => simulator.close())),
  };
}

function instructions(demo: DemoRun): string {
  return [
    '',
    'The Super SIM demo is running.',
    '',
    `  Node-RED   ${demo.url}   (the flow "Super SIM demo")`,
    `  Simulator  ${demo.simulator.baseUrl}   (KORE flavour; SIMs ${Object.values(DEMO_SIMS).join(', ')}; Fleet "default")`,
    `             Fleet "${DEMO_FLEET.name}": ${DEMO_FLEET.size} more SIMs, ${demoFleetSims()[0]} to ${demoFleetSims().at(-1)}, for "Send to a whole Fleet"`,
    demo.dashboardUrl
      ? `  Dashboard  ${demo.dashboardUrl}   (the tab "Device control panel": a button that asks ${DEMO_SIMS.thermostat} for its status, a table of its commands and answers)`
      : `  ${DASHBOARD_MISSING_HINT}`,
    '',
    'Open the editor and click the square button on the left of an inject node, e.g. "text by IP"',
    `(it sends "set temperature 21" to ${DEMO_SIMS.thermostat}). Then open the Debug sidebar (the bug icon, top right):`,
    '  command created      the command the API created (status queued)',
    '  status change        each step of its delivery: sent, then delivered for SMS',
    "  thermostat's answer  the answer to \"text by IP\", tied to its command (the IP node waits for it)",
    '  device answered      what each device sent back: ack:<what it got>',
    '  error message        what went wrong, if anything did',
    '',
    'To try an example (Menu > Import > Examples > node-red-contrib-supersim), choose the account',
    `"Simulator (KORE)" in its Super SIM nodes and a SIM above; for "Point a Fleet at this node" the Fleet is "default".`,
    `${DEMO_SIMS.sleeper} sleeps ${DEMO_SLEEP.asleepMs / 1000} s and wakes ${DEMO_SLEEP.awakeMs / 1000} s by turns (commands to it fail while it sleeps): try it with "Wake a sleeping device".`,
    '',
    'The flow is rewritten at each npm start: export what you change (Menu > Export).',
    'Press Ctrl-C to stop Node-RED and the simulator.',
    '',
  ].join('\n');
}

const USAGE = 'Usage: npm start [-- --port N] [--simulator-port N] [--user-dir DIR]\n' +
  '  --port            Node-RED on 127.0.0.1 (default $PORT or 1880)\n' +
  '  --simulator-port  the simulator on 127.0.0.1 (default 1881)\n' +
  '  --user-dir        Node-RED\'s user directory (default .node-red in the project; its flows are replaced)';

function portArg(name: string, value: string): number {
  const port = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new Error(`--${name} must be a port number from 1 to 65535, got "${value}"`);
  return port;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let options: DemoOptions;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string', default: process.env.PORT ?? '1880' },
        'simulator-port': { type: 'string', default: '1881' },
        'user-dir': { type: 'string' },
      },
    });
    options = { port: portArg('port', values.port), simulatorPort: portArg('simulator-port', values['simulator-port']), userDir: values['user-dir'] };
  } catch (err) {
    console.error(`npm start: ${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  let demo: DemoRun;
  try {
    demo = await startDemo(options);
  } catch (err) {
    const hint = err instanceof PortInUseError ? ' (npm start -- --port 1990 --simulator-port 1991, for example)' : '';
    console.error(`npm start: ${(err as Error).message}${hint}`);
    process.exitCode = 1;
    return;
  }
  let stopping = false;
  const shutdown = (code: number): void => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping Node-RED and the simulator ...');
    demo.stop().then(
      () => process.exit(code),
      (err: Error) => {
        console.error(`npm start: ${err.message}`);
        process.exit(1);
      },
    );
  };
  // Ctrl-C reaches Node-RED too (same process group); both stop their own way and this one exits last.
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  // Printed only once the handlers are in: whoever waits for this text may signal at once.
  console.log(instructions(demo));
  void demo.nodeRed.exited.then((code) => {
    if (stopping) return;
    // Exit 0 is Node-RED stopping on a signal of its own (a Ctrl-C seen there first, a kill): not a failure.
    if (code === 0) console.log('Node-RED has stopped; stopping the simulator.');
    else console.error(`Node-RED exited unexpectedly (${code ?? 'killed'}); stopping the simulator.`);
    shutdown(code === 0 ? 0 : 1);
  });
}

if (require.main === module) void main();
