/**
 * A real Node-RED in a child process, with this package installed as a module, for end-to-end and
 * editor tests. Each instance has its own port, and its own temporary userDir that stop() removes,
 * unless the test gives a userDir: then it stays, and a later start on it is a restart.
 */
import { execFileSync } from 'node:child_process';
import { createDecipheriv, createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort } from './net';
import { encryptCredentials as encrypt, startNodeRedProcess } from '../../scripts/start';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
/** The settings' credentialSecret: fixed, so a test can write encrypted credentials before start. */
export const TEST_CREDENTIAL_SECRET = 'supersim-test-credential-secret';

/** The password of both test users below. */
export const TEST_PASSWORD = 'supersim-editor-test';
/** adminAuth with an administrator and a user who may only read; bcrypt of TEST_PASSWORD, as Node-RED expects. */
export const TEST_ADMIN_AUTH = {
  type: 'credentials',
  users: [
    { username: 'admin', password: '$2b$08$P6x.eMfvuuLbiOTMPOLHSugXdlvQ4tghE3Y1pJk9xEaHU6FO7OItG', permissions: '*' },
    { username: 'viewer', password: '$2b$08$P6x.eMfvuuLbiOTMPOLHSugXdlvQ4tghE3Y1pJk9xEaHU6FO7OItG', permissions: 'read' },
  ],
};
const DEPLOY_TIMEOUT_MS = 15_000;

export interface NodeRedOptions {
  /** Merged into the generated settings.js (plain objects merge key by key); values must be JSON. */
  settings?: Record<string, unknown>;
  /** Written to flows.json before start. */
  flows?: object[];
  /** Node id → that node's credentials; encrypted into flows_cred.json before start. */
  credentials?: Record<string, object>;
  /** Another Node-RED to run: its package directory or its red.js; default the devDependency. */
  nodeRedDir?: string;
  /** Directories of further Node-RED modules to install beside this package (linked by package name). */
  extraModules?: string[];
  /** With `adminAuth`: a user to log in as, so `token` is set and deployFlows() is authorised (without it, start does not wait for the flows). */
  login?: { username: string; password: string };
  /**
   * Run in this directory (created when missing) instead of a fresh temporary one, and leave it in
   * place on stop() and kill(): the next start on it is a restart. Without `flows` (and
   * `credentials`), Node-RED then starts with the flows (and credentials) it last saved there.
   */
  userDir?: string;
}

export interface NodeRedInstance {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The editor and admin API, with a trailing slash: `new URL('flows', adminUrl)`. */
  adminUrl: string;
  /** Where httpNodeRoot routes are served, with a trailing slash. */
  nodeUrl: string;
  userDir: string;
  port: number;
  /** The access token of `login`, when given. */
  token?: string;
  /** Everything Node-RED wrote to stdout and stderr so far. */
  logs(): string;
  /** SIGINT (Node-RED stops its flows), then removes the userDir unless the test gave it. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash or the OOM killer: no flow is stopped, nothing is flushed. Resolves once the process is gone; the userDir stays. */
  kill(): Promise<void>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? merge(current, value) : value;
  }
  return out;
}

/** '/x/' style root of a Node-RED path setting (default '/'). */
function rootOf(setting: unknown): string {
  if (typeof setting !== 'string' || setting === '') return '/';
  return `/${setting}/`.replace(/\/{2,}/g, '/');
}

/** flows_cred.json as Node-RED writes it, with the tests' credential secret unless told otherwise. */
export function encryptCredentials(credentials: Record<string, object>, secret = TEST_CREDENTIAL_SECRET): { $: string } {
  return encrypt(credentials, secret);
}

/** As Node-RED's runtime decrypts flows_cred.json: the inverse of encryptCredentials. */
export function decryptCredentials(stored: { $: string }, secret: string): Record<string, object> {
  const key = createHash('sha256').update(secret).digest();
  const decipher = createDecipheriv('aes-256-ctr', key, Buffer.from(stored.$.slice(0, 32), 'hex'));
  return JSON.parse(decipher.update(stored.$.slice(32), 'base64', 'utf8') + decipher.final('utf8')) as Record<string, object>;
}

/**
 * The flows and credentials Node-RED last saved in `userDir`. The launcher rewrites both files at
 * each start, flows_cred.json with a new secret; that of the last start is in the settings.js it wrote.
 */
function savedFlows(userDir: string): { flows: object[]; credentials: Record<string, object> } {
  const flowsFile = join(userDir, 'flows.json');
  const flows = existsSync(flowsFile) ? (JSON.parse(readFileSync(flowsFile, 'utf8')) as object[]) : [];
  const credentialsFile = join(userDir, 'flows_cred.json');
  const settingsFile = join(userDir, 'settings.js');
  if (!existsSync(credentialsFile) || !existsSync(settingsFile)) return { flows, credentials: {} };
  const settingsText = readFileSync(settingsFile, 'utf8');
  const settings = JSON.parse(settingsText.slice(settingsText.indexOf('{'), settingsText.lastIndexOf('}') + 1)) as { credentialSecret?: string };
  const stored = JSON.parse(readFileSync(credentialsFile, 'utf8')) as { $?: string };
  if (typeof stored.$ !== 'string' || typeof settings.credentialSecret !== 'string') return { flows, credentials: {} };
  return { flows, credentials: decryptCredentials({ $: stored.$ }, settings.credentialSecret) };
}

function linkModule(userDir: string, moduleDir: string): void {
  const pkg = JSON.parse(readFileSync(join(moduleDir, 'package.json'), 'utf8')) as { name: string };
  const target = join(userDir, 'node_modules', pkg.name);
  if (isLinked(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(moduleDir, target, 'dir');
}

function isLinked(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The pid of this process's Node-RED child that runs in `userDir`. The launcher does not expose its
 * child, and Node-RED renames its process to "node-red", so its arguments no longer tell which
 * userDir it has: its working directory does (the launcher starts it there; one runs there at a time).
 */
export function nodeRedPid(userDir: string): number | undefined {
  const wanted = realpathSync(userDir);
  if (existsSync('/proc/self/cwd')) {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // The command name in parentheses may hold spaces: the fields after it are reliable.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === process.pid && readlinkSync(`/proc/${entry}/cwd`) === wanted) return Number(entry);
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
    return undefined;
  }
  const table = execFileSync('ps', ['-A', '-o', 'pid=', '-o', 'ppid='], { encoding: 'utf8' });
  for (const line of table.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (ppid !== process.pid) continue;
    const cwd = execFileSync('lsof', ['-a', '-d', 'cwd', '-Fn', '-p', String(pid)], { encoding: 'utf8' });
    if (cwd.split('\n').some((field) => field === `n${wanted}`)) return pid;
  }
  return undefined;
}

function headers(token: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

/** A token for `username` from Node-RED's adminAuth, as the editor's login does; `scope` must not exceed the user's permissions. */
export async function adminToken(instance: Pick<NodeRedInstance, 'adminUrl'>, username: string, password: string, scope = '*'): Promise<string> {
  const response = await fetch(new URL('auth/token', instance.adminUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope, username, password }),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: string };
  if (!response.ok || !body.access_token) throw new Error(`login as ${username} failed: HTTP ${response.status}`);
  return body.access_token;
}

export interface WebSocketLike {
  on(event: 'open' | 'close', listener: () => void): void;
  on(event: 'message', listener: (data: unknown) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  send(data: string): void;
  close(): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Node 20 has no global WebSocket; Node-RED's editor API ships `ws`, which the editor's comms use too. */
export function webSocketClass(): WebSocketConstructor {
  const fromEditorApi = createRequire(require.resolve('@node-red/editor-api/package.json'));
  return fromEditorApi('ws') as WebSocketConstructor;
}

/**
 * Resolves once the flows of revision `rev` run. Node-RED's comms socket publishes two retained
 * events that the editor follows too: `notification/runtime-deploy` with the revision (after a
 * deploy has started its flows; at boot, before) and `notification/runtime-state`, `start` when flows
 * have started, or a warning (missing node types, missing modules, safe mode) when they could not.
 */
export function waitForDeploy(instance: Pick<NodeRedInstance, 'adminUrl' | 'token'>, rev: string, timeoutMs = DEPLOY_TIMEOUT_MS): Promise<void> {
  const WebSocket = webSocketClass();
  const socketUrl = new URL('comms', instance.adminUrl);
  socketUrl.protocol = socketUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise<void>((resolvePromise, reject) => {
    const socket = new WebSocket(socketUrl.toString());
    let deployed = '';
    let state: Record<string, unknown> | undefined;
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolvePromise();
    };
    const timer = setTimeout(() => {
      finish(new Error(`flows revision ${rev} did not start within ${timeoutMs} ms (deployed: ${deployed || 'none'}, state: ${JSON.stringify(state ?? null)})`));
    }, timeoutMs);
    const subscribe = (): void => socket.send(JSON.stringify({ subscribe: 'notification/#' }));
    socket.on('open', () => {
      if (instance.token) socket.send(JSON.stringify({ auth: instance.token }));
      else subscribe();
    });
    socket.on('message', (data: unknown) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(data));
      } catch {
        return;
      }
      if (isPlainObject(parsed) && parsed.auth === 'ok') return subscribe();
      if (isPlainObject(parsed) && parsed.auth === 'fail') return finish(new Error('the comms socket refused the access token'));
      for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
        if (!isPlainObject(event)) continue;
        if (event.topic === 'notification/runtime-deploy' && isPlainObject(event.data)) deployed = String(event.data.revision);
        if (event.topic === 'notification/runtime-state') state = isPlainObject(event.data) ? event.data : undefined;
      }
      if (deployed === rev && state?.error !== undefined) {
        const detail = JSON.stringify(state.types ?? state.modules ?? state.text);
        return finish(new Error(`Node-RED did not start the flows: ${String(state.error)} ${detail}`));
      }
      if (deployed === rev && state?.state === 'start') finish();
    });
    socket.on('error', (err: Error) => finish(err));
  });
}

/** The revision of the flows Node-RED holds now. */
export async function flowsRevision(instance: Pick<NodeRedInstance, 'adminUrl' | 'token'>): Promise<string> {
  const response = await fetch(new URL('flows', instance.adminUrl), { headers: headers(instance.token, { 'Node-RED-API-Version': 'v2' }) });
  if (!response.ok) throw new Error(`GET flows answered HTTP ${response.status}`);
  const body = (await response.json()) as { rev?: string };
  if (!body.rev) throw new Error('GET flows answered without a revision');
  return body.rev;
}

/**
 * Deploys `flows` (a full deploy, as the editor's Deploy button) with `credentials` (node id → values)
 * and resolves once they have started.
 */
export async function deployFlows(
  instance: Pick<NodeRedInstance, 'adminUrl' | 'token'>,
  flows: object[],
  credentials: Record<string, object> = {},
): Promise<string> {
  const nodes = flows.map((node) => {
    const id = (node as { id?: unknown }).id;
    return typeof id === 'string' && credentials[id] ? { ...node, credentials: credentials[id] } : node;
  });
  const response = await fetch(new URL('flows', instance.adminUrl), {
    method: 'POST',
    headers: headers(instance.token, {
      'content-type': 'application/json',
      'Node-RED-API-Version': 'v2',
      'Node-RED-Deployment-Type': 'full',
    }),
    body: JSON.stringify({ flows: nodes }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`deploy failed: HTTP ${response.status} ${text}`);
  const { rev } = JSON.parse(text) as { rev: string };
  await waitForDeploy(instance, rev);
  return rev;
}

/**
 * Starts Node-RED on a free loopback port with a fresh userDir (or the given one) in which this
 * package is installed (a link to the project root, so it loads the built `dist/nodes`). Resolves
 * once the server answers and the initial flows have started; rejects with Node-RED's output if it
 * does not within 30 s.
 */
export async function startNodeRed(options: NodeRedOptions = {}): Promise<NodeRedInstance> {
  const distNodes = join(PROJECT_ROOT, 'dist', 'nodes');
  if (!existsSync(distNodes)) {
    throw new Error(`${distNodes} is missing: run "npm run build" first, Node-RED loads the nodes from there`);
  }
  const nodeRedDir = options.nodeRedDir && !statSync(options.nodeRedDir).isDirectory() ? dirname(options.nodeRedDir) : options.nodeRedDir;
  const port = await freePort();
  const ownDir = options.userDir === undefined;
  const userDir = options.userDir === undefined ? mkdtempSync(join(tmpdir(), 'supersim-node-red-')) : resolve(options.userDir);
  const removeOwnDir = (): void => {
    if (ownDir) rmSync(userDir, { recursive: true, force: true });
  };
  try {
    mkdirSync(userDir, { recursive: true });
    linkModule(userDir, PROJECT_ROOT);
    for (const moduleDir of options.extraModules ?? []) linkModule(userDir, resolve(moduleDir));
    const settings = merge(
      {
        // Info level: the launcher waits for Node-RED's "Started flows" line.
        logging: { console: { level: 'info', metrics: false, audit: false } },
        externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
        contextStorage: { default: { module: 'memory' } },
      },
      options.settings ?? {},
    );
    const saved = !ownDir && options.flows === undefined ? savedFlows(userDir) : undefined;
    const flows = options.flows ?? saved?.flows ?? [];
    const credentials = options.credentials ?? saved?.credentials;
    // The demo's launcher: the same Node-RED a user of `npm start` gets, here on a link to the build.
    const node = await startNodeRedProcess({ port, userDir, nodeRedDir, settings, flows, credentials });
    let exited = false;
    void node.exited.then(() => (exited = true));
    const instance: NodeRedInstance = {
      url: node.url,
      adminUrl: node.url + rootOf(settings.httpAdminRoot),
      nodeUrl: node.url + rootOf(settings.httpNodeRoot),
      userDir,
      port,
      logs: node.logs,
      stop: async () => {
        await node.stop();
        removeOwnDir();
      },
      kill: async () => {
        if (exited) return;
        const pid = nodeRedPid(userDir);
        if (pid === undefined) throw new Error(`found no Node-RED process of this test running in ${userDir}`);
        process.kill(pid, 'SIGKILL');
        await node.exited;
      },
    };
    if (options.login) {
      try {
        instance.token = await adminToken(instance, options.login.username, options.login.password);
      } catch (err) {
        await instance.stop();
        throw err;
      }
    }
    return instance;
  } catch (err) {
    removeOwnDir();
    throw err;
  }
}
