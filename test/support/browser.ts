/**
 * A headless Chromium driven by playwright-core, for the editor tests. The browser is the system's
 * (Debian's chromium, installed by scripts/install-chromium.sh), never one that Playwright downloads.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type * as PlaywrightCore from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';

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

export interface PageOptions {
  viewport: { width: number; height: number };
  /** Where the page's uncaught script errors go, each with its stack. */
  pageErrors: string[];
  /** When given, every request beyond this machine (a web font, a CDN) is refused and its URL kept here. */
  outside?: string[];
}

/** A page in a context of its own, ready for page.evaluate of this project's functions. */
export async function openPage(browser: Browser, options: PageOptions): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: options.viewport });
  // tsx (esbuild, keepNames) wraps named functions in __name(); functions passed to page.evaluate take that call along.
  await context.addInitScript('globalThis.__name = globalThis.__name || ((fn) => fn);');
  const { outside } = options;
  if (outside !== undefined) {
    await context.route(
      (url) => !['127.0.0.1', 'localhost'].includes(url.hostname) && url.protocol !== 'data:',
      (route) => {
        outside.push(route.request().url());
        return route.abort();
      },
    );
  }
  const page = await context.newPage();
  page.on('pageerror', (err) => options.pageErrors.push(err.stack ?? err.message));
  return { context, page };
}

export interface BrowserFixture {
  /** Launches the browser (the first time) and opens the suite's page, as openPage does. */
  open(options: PageOptions): Promise<Page>;
}

/**
 * Registers in the calling `describe`: a `before` hook that skips the suite without a browser (as
 * requireBrowser does), an `afterEach` hook that leaves a screenshot of the page after a failed test
 * (`<directory>/<prefix><the test's title>.png`, so a failure on CI can be seen), and an `after` hook
 * that closes the page's context and the browser.
 */
export function browserFixture(screenshots: { directory: string; prefix: string }): BrowserFixture {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;

  before(function () {
    requireBrowser(this);
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || page === undefined) return;
    mkdirSync(screenshots.directory, { recursive: true });
    const title = this.currentTest.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 80);
    await page.screenshot({ path: join(screenshots.directory, `${screenshots.prefix}${title}.png`) }).catch(() => undefined);
  });
  after(async function () {
    await context?.close();
    await browser?.close();
  });

  return {
    async open(options) {
      browser ??= await launchBrowser();
      ({ context, page } = await openPage(browser, options));
      return page;
    },
  };
}
