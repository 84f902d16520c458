// Launches the system Chromium through playwright-core for the code-server workbench.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { addCleanup } from './server.mjs';
import { paths } from './setup.mjs';

// Work as root, without GPU or network beyond 127.0.0.1.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A fresh persistent Chromium profile (Playwright rejects --user-data-dir in args).
 * HEADED=1 shows the window (needs a display).
 * @returns {Promise<{context: import('playwright-core').BrowserContext, page: import('playwright-core').Page, close: () => Promise<void>}>}
 */
export async function launchBrowser({ viewport = { width: 1440, height: 900 }, colorScheme } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'attn-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: paths.chromium,
      headless: process.env.HEADED !== '1',
      args: CHROMIUM_ARGS,
      // Our own signal handling (server.mjs addCleanup) closes the browser and the servers in order.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      viewport,
      deviceScaleFactor: 1,
      ...(colorScheme ? { colorScheme } : {}),
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`Cannot launch Chromium (${paths.chromium}): ${err.message}`);
  }
  const page = context.pages()[0] ?? (await context.newPage());
  let closed;
  let removeCleanup = () => {};
  const close = () => {
    closed ??= (async () => {
      removeCleanup();
      await context.close().catch(() => {});
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      } catch {
        /* best effort: Chromium may still be flushing its profile */
      }
    })();
    return closed;
  };
  removeCleanup = addCleanup(close);
  return { context, page, close };
}

/**
 * Waits until the workbench is interactive: editor area and status bar are rendered and, with `themeClass`
 * (e.g. 'vscode-theme-defaults-themes-dark_modern-json'), the configured color theme is applied.
 */
export async function waitForWorkbench(page, { timeout = 60_000, themeClass } = {}) {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout });
  if (themeClass) await page.locator(`.monaco-workbench.${themeClass}`).waitFor({ state: 'attached', timeout });
  await page.locator('.monaco-workbench .part.editor').waitFor({ state: 'visible', timeout });
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ state: 'visible', timeout });
}
