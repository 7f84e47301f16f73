/**
 * Debian's Chromium, headless, through playwright-core, for the playground's browser tests: one page with a fresh
 * profile, recording what a page must never do (page errors, console messages, which include CSP violations and
 * failed loads, failed requests, and requests leaving its origin).
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`). Without it a test fails, unless RNN_SERVE_SKIP_BROWSER=1,
 * which reports it as skipped (`browserSkip`).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
export const STEP_TIMEOUT_MS = 10_000;

/** The `skip` option of a browser test. */
export const browserSkip =
  process.env.RNN_SERVE_SKIP_BROWSER === '1'
    ? 'RNN_SERVE_SKIP_BROWSER=1: the browser test of the playground is not run'
    : false;

export interface Browsing {
  page: Page;
  /** Page errors, console messages and failed requests, as `page error: …`, `console.<type>: …`, `request failed: …`. */
  errors: string[];
  /** URLs requested outside `origin`. */
  foreign: string[];
}

/**
 * A page in a new headless Chromium, closed (and its profile removed) when `t` ends; null, with a failure saying
 * what to install, when Chromium is missing.
 */
export async function openChromium(
  t: { fail(message: string): void; teardown(fn: () => unknown): void },
  origin: string,
): Promise<Browsing | null> {
  if (!existsSync(CHROMIUM)) {
    t.fail(
      `${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium), or set RNN_SERVE_SKIP_BROWSER=1 to skip this test`,
    );
    return null;
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'rnn-serve-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    timeout: 30_000,
    viewport: { width: 1100, height: 900 },
  });
  t.teardown(async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  // CSP violations, failed loads and anything the page logs arrive as console messages.
  page.on('console', (message) => errors.push(`console.${message.type()}: ${message.text()}`));
  page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
  const foreign: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(`${origin}/`)) foreign.push(request.url());
  });
  return { page, errors, foreign };
}
