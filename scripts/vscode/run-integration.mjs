#!/usr/bin/env node
// Runs the mocha integration suite (dist/test/integration/index.js) inside a real VS Code extension host:
// code-server + headless Chromium. Builds nothing: run `npm run build` first.
//
//   node scripts/vscode/run-integration.mjs [--grep <pattern>] [--tests <tests module, default dist/test/integration/index.js>]
//
// Env: INTEGRATION_TIMEOUT_S (overall, default 600), INTEGRATION_GREP, VERBOSE=1 (workbench console),
//      VSCODE_SERVER_LOG=1 (code-server output), HEADED=1 (visible browser; needs a display).
// Exit code: 0 when every test passed; 1 on test failures; 2 when the run itself broke (no summary line).
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchBrowser } from './browser.mjs';
import { copyWorkspace, startServer } from './server.mjs';
import { ensureSetup, paths } from './setup.mjs';

const SUMMARY_RE = /INTEGRATION-SUMMARY: (\d+) passed, (\d+) failed/;
const LOG_TAG = '[[ext]] ';
const t0 = Date.now();
const secs = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const say = (msg) => console.log(`[integration] ${msg}`);

const argv = process.argv.slice(2);
const grepIdx = argv.indexOf('--grep');
const grep = grepIdx >= 0 ? argv[grepIdx + 1] : process.env.INTEGRATION_GREP;
const overallTimeoutMs = (Number(process.env.INTEGRATION_TIMEOUT_S) || 600) * 1000;
const verbose = process.env.VERBOSE === '1';

const extensionMain = join(paths.root, 'dist', 'extension.js');
const testsIdx = argv.indexOf('--tests');
const testsEntry = resolve(testsIdx >= 0 ? argv[testsIdx + 1] : join(paths.root, 'dist', 'test', 'integration', 'index.js'));

async function main() {
  for (const f of [extensionMain, testsEntry]) {
    if (!existsSync(f)) {
      say(`ERROR: ${f} is missing: run \`npm run build\` first.`);
      return 2;
    }
  }
  await ensureSetup({ quiet: true });

  const server = await startServer({
    env: { INTEGRATION_LOG_TAG: LOG_TAG, ...(grep ? { INTEGRATION_GREP: grep } : {}) },
  });
  // Tests get a throwaway copy of test/integration/workspace: edits and saves never reach the repository.
  const workspace = copyWorkspace(server);
  say(`code-server ${server.origin} (${secs()})`);
  const browser = await launchBrowser();
  const { page } = browser;

  let summary;
  const consoleErrors = [];
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  // Called by the workbench when the extension host running the tests exits.
  await page.exposeFunction('codeAutomationExit', (code) => resolveDone({ code: Number(code) }));
  page.on('crash', () => resolveDone({ error: 'the workbench page crashed' }));
  page.on('close', () => resolveDone({ error: 'the workbench page closed' }));
  const timer = setTimeout(() => resolveDone({ error: `timed out after ${overallTimeoutMs / 1000} s` }), overallTimeoutMs);
  // The extension host's console (mocha's spec reporter included) arrives here.
  // Lines the tests printed carry LOG_TAG (set by test/integration/index.ts); the rest is the workbench's own log.
  const workbenchLog = [];
  await page.exposeFunction('codeAutomationLog', (type, message) => {
    let text = String(message ?? '');
    if (!text.startsWith(LOG_TAG)) {
      workbenchLog.push(`[${type}] ${text}`);
      if (verbose) console.log(`[workbench:${type}] ${text}`);
      return;
    }
    text = text.slice(LOG_TAG.length);
    for (const line of text.split('\n')) {
      const m = SUMMARY_RE.exec(line);
      if (m) summary = { passed: Number(m[1]), failed: Number(m[2]), line: line.trim() };
    }
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  });
  page.on('console', (msg) => {
    if (verbose) console.log(`[workbench:${msg.type()}] ${msg.text()}`);
    else if (msg.type() === 'error') consoleErrors.push(msg.text().replace(/%c/g, '').replace(/\s*color: #[0-9a-f]+/gi, '').trim());
  });
  page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));

  const url = server.workbenchUrl({ folder: workspace, extensionDevelopmentPath: paths.root, extensionTestsPath: testsEntry });
  say(`opening workbench, extension ${paths.root}, tests ${testsEntry}`);
  let result;
  try {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    result = await done;
  } catch (err) {
    result = { error: err.message };
  }
  clearTimeout(timer);

  let exitCode;
  if (result.error) {
    say(`ERROR: ${result.error}`);
    exitCode = 2;
  } else if (!summary) {
    say(
      `ERROR: the extension host exited with code ${result.code} without printing an INTEGRATION-SUMMARY line: ` +
        `the test runner did not run (wrong extensionTestsPath ${testsEntry}? stale build? error while loading?).`,
    );
    exitCode = 2;
  } else {
    exitCode = result.code === 0 && summary.failed === 0 ? 0 : 1;
  }

  if (exitCode !== 0) {
    try {
      mkdirSync(paths.testResults, { recursive: true });
      const shot = join(paths.testResults, 'integration-failure.png');
      await page.screenshot({ path: shot, timeout: 10_000 });
      say(`screenshot: ${shot}`);
    } catch {
      /* page may be gone */
    }
    if (!verbose && workbenchLog.length) {
      say('workbench log (tail; VERBOSE=1 for all):');
      for (const l of workbenchLog.slice(-20)) console.log(`  ${l.split('\n')[0].slice(0, 300)}`);
    }
    if (consoleErrors.length) {
      say(`last workbench console errors (VERBOSE=1 for all):`);
      for (const e of consoleErrors.slice(-15)) console.log(`  ${e.split('\n')[0].slice(0, 300)}`);
    }
    if (!process.env.VSCODE_SERVER_LOG) {
      say('code-server output (tail):');
      console.log(server.output().split('\n').slice(-25).map((l) => `  ${l}`).join('\n'));
    }
  }

  await browser.close();
  await server.stop();
  const verdict = exitCode === 0 ? 'PASSED' : exitCode === 1 ? 'FAILED' : 'BROKEN';
  say(`${verdict}${summary ? ` (${summary.passed} passed, ${summary.failed} failed)` : ''} in ${secs()}`);
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[integration] ERROR: ${err.stack || err}`);
    process.exit(2);
  },
);
