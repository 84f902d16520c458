// Test runner loaded by VS Code's extension host (extensionTestsPath = dist/test/integration/index.js).
// Works in desktop VS Code (@vscode/test-electron, see runDesktop.mjs) and in code-server
// (scripts/vscode/run-integration.mjs). Mocha is bundled into this file by esbuild; each
// test/integration/*.test.ts is bundled next to it as dist/test/integration/*.test.js.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import Mocha from 'mocha';

/** The line the code-server runner looks for, so a broken path is not mistaken for a test failure. */
export const SUMMARY_MARKER = 'INTEGRATION-SUMMARY:';

/**
 * Mocha's reporter output, one formatted string per line (the web workbench forwards
 * `console.log(fmt, ...args)` as "fmt,arg1,arg2"), prefixed with INTEGRATION_LOG_TAG when the code-server
 * runner sets it, so it can tell the tests' output from the workbench's own log lines. (The extension host
 * makes `console.*` read-only, so only the reporter is rerouted; other console output of the tests shows
 * with VERBOSE=1 in code-server runs.) Returns a function that undoes it.
 */
function routeReporterOutput(): () => void {
  const tag = process.env.INTEGRATION_LOG_TAG ?? '';
  const base = Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void };
  const saved = base.consoleLog;
  base.consoleLog = (...args: unknown[]) => console.log(tag + util.format(...args));
  return () => {
    base.consoleLog = saved;
  };
}

/** Prints through the (rerouted) reporter channel. */
const log = (...args: unknown[]) => (Mocha.reporters.Base as unknown as { consoleLog: (...a: unknown[]) => void }).consoleLog(...args);

export function run(): Promise<void> {
  const restoreConsole = routeReporterOutput();
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    reporter: 'spec',
    timeout: Number(process.env.INTEGRATION_TIMEOUT_MS) || 20_000,
  });
  const grep = process.env.INTEGRATION_GREP;
  if (grep) mocha.grep(grep);

  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(__dirname, f));

  const result = new Promise<void>((resolve, reject) => {
    if (files.length === 0) {
      log(`${SUMMARY_MARKER} 0 passed, 0 failed (no *.test.js files in ${__dirname})`);
      reject(new Error(`No integration test files found in ${__dirname}`));
      return;
    }
    for (const f of files) mocha.addFile(f);
    try {
      const runner = mocha.run((failures) => {
        const stats = runner.stats ?? { passes: 0, failures, pending: 0 };
        log(`${SUMMARY_MARKER} ${stats.passes} passed, ${stats.failures} failed, ${stats.pending} pending`);
        if (failures > 0) reject(new Error(`${failures} integration test(s) failed.`));
        else if (stats.passes === 0) reject(new Error('No integration test ran (check INTEGRATION_GREP).'));
        else resolve();
      });
    } catch (err) {
      log(util.inspect(err));
      log(`${SUMMARY_MARKER} 0 passed, 1 failed (error while loading tests)`);
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
  return result.finally(restoreConsole);
}
