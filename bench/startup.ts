/**
 * B5: what installing the package adds to Node-RED's start-up. Node-RED starts with an empty flow in a
 * fresh userDir, with and without this package linked into its node_modules (so with it, every node
 * file, the client and undici are loaded and registered), alternately; the time is from spawning the
 * process to Node-RED logging "Started flows".
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/net';

const PROJECT_ROOT = path.resolve(__dirname, '..');
const STARTED = 'Started flows';
const TIMEOUT_MS = 60_000;

export interface StartupResult {
  starts: number;
  withPackageMs: number[];
  withoutPackageMs: number[];
  medianWithMs: number;
  medianWithoutMs: number;
  ratio: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timeOneStart(withPackage: boolean): Promise<number> {
  const userDir = mkdtempSync(path.join(tmpdir(), 'supersim-startup-'));
  try {
    if (withPackage) {
      mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
      symlinkSync(PROJECT_ROOT, path.join(userDir, 'node_modules', 'node-red-contrib-supersim'), 'dir');
    }
    const settings = {
      uiHost: '127.0.0.1',
      uiPort: await freePort(),
      userDir,
      flowFile: 'flows.json',
      credentialSecret: 'startup-bench',
      // Debug, for the line that proves the package was loaded (the same cost with and without it).
      logging: { console: { level: 'debug', metrics: false, audit: false } },
      editorTheme: { tours: false },
      telemetry: { enabled: false, updateNotification: false },
      diagnostics: { enabled: false, ui: false },
      externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    };
    const settingsFile = path.join(userDir, 'settings.js');
    writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings)};\n`);
    writeFileSync(path.join(userDir, 'flows.json'), '[]');
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', settingsFile], {
      cwd: userDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`Node-RED did not start within ${TIMEOUT_MS} ms:\n${output}`)), TIMEOUT_MS);
        const onData = (chunk: Buffer): void => {
          output += chunk.toString('utf8');
          if (output.includes(STARTED)) {
            clearTimeout(timer);
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            const loaded = output.includes('Module: node-red-contrib-supersim');
            if (loaded !== withPackage) reject(new Error(`the package was ${loaded ? '' : 'not '}loaded, contrary to the plan:\n${output}`));
            else if (withPackage && /\[(warn|error)\].*supersim/i.test(output)) reject(new Error(`the package did not load cleanly:\n${output}`));
            else resolve(ms);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`Node-RED exited (${code}) before it started:\n${output}`));
        });
      });
    } finally {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
    }
  } finally {
    rmSync(userDir, { recursive: true, force: true });
  }
}

/** `starts` of each, alternating (with, without, …) after one unmeasured start that warms the disk cache. */
export async function measureStartup(starts: number, log: (line: string) => void = () => undefined): Promise<StartupResult> {
  await timeOneStart(true);
  const withPackageMs: number[] = [];
  const withoutPackageMs: number[] = [];
  for (let i = 0; i < starts; i++) {
    // Alternating which goes first, so a drift in load touches both alike.
    const order = i % 2 === 0 ? [true, false] : [false, true];
    for (const withPackage of order) {
      const ms = await timeOneStart(withPackage);
      (withPackage ? withPackageMs : withoutPackageMs).push(ms);
    }
    log(`  start ${i + 1}: with ${withPackageMs[i].toFixed(0)} ms, without ${withoutPackageMs[i].toFixed(0)} ms`);
  }
  const medianWithMs = median(withPackageMs);
  const medianWithoutMs = median(withoutPackageMs);
  return { starts, withPackageMs, withoutPackageMs, medianWithMs, medianWithoutMs, ratio: medianWithMs / medianWithoutMs };
}
