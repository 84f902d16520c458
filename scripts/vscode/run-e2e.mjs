#!/usr/bin/env node
// End-to-end UI tests against a real VS Code (code-server + headless Chromium) with the extension loaded.
// Builds nothing: run `npm run build` first.
//
//   node scripts/vscode/run-e2e.mjs [--theme dark|light] [--grep <regexp>] [test/e2e/some.e2e.mjs …]
//
// Every async function exported by test/e2e/*.e2e.mjs is a test, run once per theme
// ("Default Dark Modern", then "Default Light Modern"), each in a fresh code-server (clean state) with
// a throwaway copy of test/integration/workspace open and the theme applied:
//   export async function myTest({ page, theme, screenshot, server, workspace }) { … }   (workspace = the copy)
// screenshot(name) writes test-results/e2e/<theme>-<name>.png. Failures save <theme>-<test>-failure.png.
// A test file that exports `themes` (e.g. `export const themes = ['dark']`) runs its tests only in those themes.
// Env: E2E_TEST_TIMEOUT_S (per test, default 120), VERBOSE=1 (workbench console), HEADED=1.
// Prints "N passed, M failed" as the last line; exit code 0 only when nothing failed.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchBrowser, waitForWorkbench } from './browser.mjs';
import { copyWorkspace, startServer } from './server.mjs';
import { ensureSetup, paths } from './setup.mjs';

// label = the `workbench.colorTheme` setting; cssClass = the class VS Code puts on .monaco-workbench once the
// theme is applied. The web workbench first paints its built-in default (a light theme) and applies the
// configured one 2-4 s later, after the remote settings and theme extension load, so tests wait for it.
export const THEMES = {
  dark: { label: 'Default Dark Modern', cssClass: 'vscode-theme-defaults-themes-dark_modern-json' },
  light: { label: 'Default Light Modern', cssClass: 'vscode-theme-defaults-themes-light_modern-json' },
};

const say = (msg) => console.log(`[e2e] ${msg}`);
const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

function parseArgs(argv) {
  const opts = { themes: Object.keys(THEMES), grep: undefined, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--theme') opts.themes = argv[++i].split(',');
    else if (a === '--grep') opts.grep = new RegExp(argv[++i]);
    else opts.files.push(resolve(a));
  }
  for (const t of opts.themes) if (!THEMES[t]) throw new Error(`unknown theme "${t}" (use ${Object.keys(THEMES).join(', ')})`);
  return opts;
}

async function collectTests(files) {
  const dir = join(paths.root, 'test', 'e2e');
  const list = files.length
    ? files
    : readdirSync(dir)
        .filter((f) => f.endsWith('.e2e.mjs'))
        .sort()
        .map((f) => join(dir, f));
  const tests = [];
  for (const file of list) {
    const mod = await import(pathToFileURL(file).href);
    const themes = Array.isArray(mod.themes) ? mod.themes : null;
    for (const [name, fn] of Object.entries(mod)) {
      if (typeof fn === 'function') tests.push({ file: basename(file), name, fn, themes });
    }
  }
  return tests;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
    }),
  ]);
}

async function runOne(test, theme, browser, outDir) {
  const server = await startServer({ settings: { 'workbench.colorTheme': THEMES[theme].label } });
  const workspace = copyWorkspace(server); // a throwaway copy of test/integration/workspace
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (process.env.VERBOSE === '1') console.log(`    [workbench:${msg.type()}] ${msg.text()}`);
    else if (msg.type() === 'error') errors.push(msg.text().replace(/%c/g, '').replace(/\s*color: #[0-9a-f]+/gi, '').trim());
  });
  const screenshot = async (name) => {
    const file = join(outDir, `${theme}-${name}.png`);
    await page.screenshot({ path: file });
    return file;
  };
  try {
    await page.emulateMedia({ colorScheme: theme });
    await page.goto(server.workbenchUrl({ folder: workspace, extensionDevelopmentPath: paths.root }), {
      waitUntil: 'domcontentloaded',
    });
    await waitForWorkbench(page, { themeClass: THEMES[theme].cssClass });
    const timeoutMs = (Number(process.env.E2E_TEST_TIMEOUT_S) || 120) * 1000;
    await withTimeout(
      Promise.resolve(test.fn({ page, theme, screenshot, server, workspace, paths })),
      timeoutMs,
      test.name,
    );
  } catch (err) {
    const shot = join(outDir, `${theme}-${test.name}-failure.png`);
    await page.screenshot({ path: shot, timeout: 10_000 }).catch(() => {});
    err.details = { screenshot: shot, errors: errors.slice() };
    throw err;
  } finally {
    await page.close().catch(() => {});
    await server.stop();
  }
}

async function main() {
  const t0 = Date.now();
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(join(paths.root, 'dist', 'extension.js'))) {
    say('ERROR: dist/extension.js is missing: run `npm run build` first.');
    return 2;
  }
  await ensureSetup({ quiet: true });
  let tests = await collectTests(opts.files);
  if (opts.grep) tests = tests.filter((t) => opts.grep.test(`${t.file} ${t.name}`));
  if (tests.length === 0) {
    say('ERROR: no e2e tests found (test/e2e/*.e2e.mjs exporting async functions).');
    console.log('0 passed, 0 failed');
    return 2;
  }
  const outDir = join(paths.testResults, 'e2e');
  mkdirSync(outDir, { recursive: true });

  const browser = await launchBrowser();
  let passed = 0;
  let failed = 0;
  try {
    for (const theme of opts.themes) {
      say(`${theme} theme (${THEMES[theme].label})`);
      for (const test of tests) {
        if (test.themes && !test.themes.includes(theme)) continue;
        const t1 = Date.now();
        const label = `${test.file} › ${test.name} [${theme}]`;
        try {
          await runOne(test, theme, browser, outDir);
          passed++;
          console.log(`  ✔ ${label} (${secs(t1)})`);
        } catch (err) {
          failed++;
          console.log(`  ✘ ${label} (${secs(t1)})`);
          console.log(`      ${String(err.stack || err).split('\n').join('\n      ')}`);
          if (err.details) {
            console.log(`      screenshot: ${err.details.screenshot}`);
            for (const e of err.details.errors.slice(-10)) console.log(`      console: ${e.split('\n')[0].slice(0, 300)}`);
          }
        }
      }
    }
  } finally {
    await browser.close();
  }
  say(`done in ${secs(t0)}; screenshots in ${outDir}`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[e2e] ERROR: ${err.stack || err}`);
    process.exit(2);
  },
);
