/**
 * A headless Chromium driven by playwright-core, for the editor tests. The browser is the system's
 * (Debian's chromium, installed by scripts/install-chromium.sh), never one that Playwright downloads.
 */
import { accessSync, constants } from 'node:fs';
import type * as PlaywrightCore from 'playwright-core';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const INSTALL_HINT =
  'install it with "sudo scripts/install-chromium.sh" (Debian\'s chromium at /usr/bin/chromium, or set CHROMIUM_PATH) ' +
  'and "npm install" (playwright-core is a devDependency)';

type Availability = { ok: true } | { ok: false; reason: string };

/** Loaded on demand, so a checkout without it can still run every other test. */
function playwright(): Promise<typeof PlaywrightCore> {
  return import('playwright-core');
}

/** Whether the browser tests can run here: playwright-core is installed and the browser executable exists. */
export function browserAvailable(): Availability {
  try {
    require.resolve('playwright-core');
  } catch {
    return { ok: false, reason: 'playwright-core is not installed' };
  }
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
  } catch {
    return { ok: false, reason: `no Chromium at ${CHROMIUM_PATH}` };
  }
  return { ok: true };
}

/**
 * For a mocha `before` hook: skips the suite when the browser is missing, with a message on how to
 * install it; on CI (`CI=true`) a missing browser is a failure instead, never a silent skip.
 */
export function requireBrowser(context: Mocha.Context): void {
  const availability = browserAvailable();
  if (availability.ok) return;
  const message = `browser tests need Chromium and playwright-core: ${availability.reason}; ${INSTALL_HINT}`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`      skipped: ${message}`);
  context.skip();
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await playwright();
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
