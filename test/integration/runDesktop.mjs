#!/usr/bin/env node
// Runs the same integration suite in DESKTOP VS Code through @vscode/test-electron (for machines that can
// download VS Code or have one installed). On machines without desktop VS Code use
// `npm run test:integration` (code-server + Chromium) instead.
//
//   npm run build && node test/integration/runDesktop.mjs
//
// Env: VSCODE_EXECUTABLE  path to an installed VS Code binary (skips the download)
//      VSCODE_VERSION     version to download: 'stable' (default), 'insiders' or e.g. '1.90.0'
//      INTEGRATION_GREP   only run tests whose title matches
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const extensionTestsPath = join(root, 'dist', 'test', 'integration', 'index.js');
if (!existsSync(extensionTestsPath) || !existsSync(join(root, 'dist', 'extension.js'))) {
  console.error('dist/extension.js or dist/test/integration/index.js is missing: run `npm run build` first.');
  process.exit(2);
}

// Tests get a throwaway copy of test/integration/workspace, so edits and saves never reach the repository.
const tempDir = mkdtempSync(join(tmpdir(), 'attn-desktop-'));
const workspace = join(tempDir, 'workspace');
cpSync(join(root, 'test', 'integration', 'workspace'), workspace, { recursive: true });

try {
  // runTests adds --extensionDevelopmentPath/--extensionTestsPath, --disable-workspace-trust, --skip-welcome,
  // --skip-release-notes, --disable-updates and a throwaway user-data/extensions dir under .vscode-test/.
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath,
    ...(process.env.VSCODE_EXECUTABLE
      ? { vscodeExecutablePath: process.env.VSCODE_EXECUTABLE }
      : { version: process.env.VSCODE_VERSION || 'stable' }),
    // The first launch argument is the folder to open; other extensions stay off.
    launchArgs: [workspace, '--disable-extensions'],
    extensionTestsEnv: process.env.INTEGRATION_GREP ? { INTEGRATION_GREP: process.env.INTEGRATION_GREP } : {},
  });
} catch (err) {
  console.error(`Integration tests failed: ${err.message || err}`);
  process.exitCode = 1;
} finally {
  rmSync(tempDir, { recursive: true, force: true });
}
