/**
 * The package as a new user or CI gets it from the repository: a copy of the repository with nothing
 * built, `npm ci`, then `npm pack` with no build before it. Its tarball is what `npm publish` would
 * upload from a fresh clone, so the end-to-end install test and the file-list test check that one.
 *
 * Made once per test process (both tests share it) and removed when the process exits.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { childEnv } from '../../scripts/start';

const PROJECT_ROOT = resolve(__dirname, '..', '..');

export interface CleanClonePack {
  /** The copy of the repository, built by the pack (its dist/ is what the tarball holds). */
  dir: string;
  /** The tarball `npm pack` wrote. */
  tarball: string;
  /** Its files, as `npm pack` listed them, sorted. */
  files: string[];
}

/**
 * The user's own npm and git: under `npm test` or `npx mocha`, PATH starts with the project's
 * node_modules/.bin, where Node-RED's registry dependency puts an npm 10, which refuses to `npm ci`
 * this lockfile written by npm 11 ("Missing: typescript@5.9.3 from lock file").
 */
function userEnv(): NodeJS.ProcessEnv {
  const env = childEnv();
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => !/[\\/]node_modules[\\/]\.bin[\\/]?$/.test(entry))
    .join(delimiter);
  return env;
}

function run(command: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { cwd, env: userEnv(), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n${stderr}`));
      else resolvePromise({ stdout, stderr });
    });
  });
}

/**
 * The files git would commit from the working tree: tracked ones as they are now, plus untracked ones
 * that are not ignored. Not `git clone`, which would test the last commit and miss the change being
 * made; in CI, where the checkout is a fresh clone, the two are the same. Ignored files (dist/,
 * node_modules/, tarballs) stay out, as they are absent from a clone.
 */
async function trackedFiles(): Promise<string[]> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], PROJECT_ROOT);
  // --cached still lists a tracked file deleted in the working tree: the commit will not have it.
  return [...new Set(stdout.split('\0'))].filter((path) => path !== '' && existsSync(join(PROJECT_ROOT, path)));
}

async function make(): Promise<CleanClonePack> {
  const root = mkdtempSync(join(tmpdir(), 'supersim-clean-clone-'));
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'repository');
  for (const path of await trackedFiles()) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    // A symlink or a submodule is no plain file: the repository has neither, so skip rather than guess.
    if (lstatSync(join(PROJECT_ROOT, path)).isFile()) copyFileSync(join(PROJECT_ROOT, path), target);
  }
  // The lockfile's dependencies from npm's cache, which the project's own install filled.
  await run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  const destination = join(root, 'pack');
  mkdirSync(destination);
  // No build first: whatever the tarball needs, `npm pack` must make itself.
  const { stdout } = await run('npm', ['pack', '--json', '--loglevel=error', '--pack-destination', destination], dir);
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  return { dir, tarball: join(destination, packed.filename), files: packed.files.map((file) => file.path).sort() };
}

let packing: Promise<CleanClonePack> | undefined;

/** The clean clone and its tarball, made on first use. */
export function cleanClonePack(): Promise<CleanClonePack> {
  packing ??= make();
  return packing;
}
