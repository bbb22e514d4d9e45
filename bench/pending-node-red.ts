/**
 * B7's Node-RED: a child process on a user directory that outlives it (so a SIGKILLed Node-RED can be
 * started again on the same pending attempts), started with --expose-gc, with every line it prints
 * timed on the bench's clock; and a watch on the pending store's directory, from outside, that counts
 * the store's writes (each ends in a rename onto the file).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { watch, writeFileSync } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import path from 'node:path';
import { encryptCredentials } from '../scripts/start';
import { freePort } from '../test/support/net';

const START_TIMEOUT_MS = 60_000;

export interface TimedLine {
  /** Date.now() when the bench read it. */
  at: number;
  line: string;
}

export interface PendingNodeRedOptions {
  userDir: string;
  /** Merged over B7's defaults; values must be JSON. */
  settings: Record<string, unknown>;
  flows: object[];
  credentials: Record<string, object>;
}

export interface PendingNodeRed {
  url: string;
  /** Where httpNodeRoot routes are served, with a trailing slash. */
  nodeUrl: string;
  /** Date.now() just before the process was spawned. */
  spawnedAt: number;
  lines: TimedLine[];
  /** The first line matching `pattern` (already printed or still to come); rejects if Node-RED exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<TimedLine>;
  logs(): string;
  /** Kills the process without warning, as a crash or an out-of-memory killer would. */
  kill(): Promise<void>;
  /** SIGINT: Node-RED closes its nodes (stores flushed) and exits. */
  stop(): Promise<void>;
}

export async function startPendingNodeRed(options: PendingNodeRedOptions): Promise<PendingNodeRed> {
  const { userDir } = options;
  const port = await freePort();
  const credentialSecret = 'b7-pending-attempts';
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    userDir,
    flowFile: 'flows.json',
    credentialSecret,
    lang: 'en-US',
    functionExternalModules: true,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    editorTheme: { tours: false },
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    contextStorage: { default: { module: 'memory' } },
    ...options.settings,
  };
  const settingsFile = path.join(userDir, 'settings.js');
  writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
  writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(options.flows, null, 2));
  writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(encryptCredentials(options.credentials, credentialSecret)));

  const spawnedAt = Date.now();
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', '--trace-warnings', require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', settingsFile], {
    cwd: userDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', NODE_V8_COVERAGE: '' },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: TimedLine[] = [];
  let output = '';
  let waiters: { pattern: RegExp; resolve: (line: TimedLine) => void }[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.on('data', (chunk: Buffer) => {
      const at = Date.now();
      const text = chunk.toString('utf8');
      output += text;
      pending += text;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        const timed = { at, line };
        lines.push(timed);
        const matched = waiters.filter((w) => w.pattern.test(line));
        waiters = waiters.filter((w) => !matched.includes(w));
        for (const waiter of matched) waiter.resolve(timed);
      }
    });
  }

  const waitForLine = (pattern: RegExp, timeoutMs = START_TIMEOUT_MS): Promise<TimedLine> => {
    const seen = lines.find((l) => pattern.test(l.line));
    if (seen) return Promise.resolve(seen);
    return new Promise<TimedLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Node-RED printed no line matching ${pattern} within ${timeoutMs} ms:\n${output.slice(-4000)}`)), timeoutMs);
      const done = (line: TimedLine): void => {
        clearTimeout(timer);
        resolve(line);
      };
      waiters.push({ pattern, resolve: done });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`Node-RED exited before printing a line matching ${pattern}:\n${output.slice(-4000)}`));
      });
    });
  };

  const url = `http://127.0.0.1:${port}`;
  const instance: PendingNodeRed = {
    url,
    nodeUrl: `${url}/`,
    spawnedAt,
    lines,
    waitForLine,
    logs: () => output,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGINT');
      await exited;
      clearTimeout(killer);
    },
  };
  try {
    await waitForLine(/\bServer now running\b/);
  } catch (err) {
    await instance.kill();
    throw err;
  }
  return instance;
}

/** Counts the renames onto one file of a directory: one for each atomic write of a PendingStore. */
export class WriteCounter {
  /** Date.now() of each rename onto the file. */
  readonly writes: number[] = [];
  readonly #watcher: FSWatcher;

  constructor(file: string) {
    const base = path.basename(file);
    this.#watcher = watch(path.dirname(file), (event, name) => {
      // The temp file's own events name the temp file; a rename onto the store names the store.
      if (event === 'rename' && name === base) this.writes.push(Date.now());
    });
  }

  between(from: number, to: number): number {
    return this.writes.filter((t) => t >= from && t < to).length;
  }

  /** The most writes in any one second from `from` to `to` (windows starting at each write). */
  peakPerSecond(from: number, to: number): number {
    const inside = this.writes.filter((t) => t >= from && t < to);
    let peak = 0;
    for (let i = 0, j = 0; i < inside.length; i++) {
      while (inside[i] - inside[j] >= 1_000) j++;
      peak = Math.max(peak, i - j + 1);
    }
    return peak;
  }

  /** The time of the last write so far, or undefined. */
  get last(): number | undefined {
    return this.writes.at(-1);
  }

  close(): void {
    this.#watcher.close();
  }
}
