// One esbuild script for every bundle.
import * as esbuild from 'esbuild';
import { chmod } from 'node:fs/promises';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

// Integration tests run inside VS Code's extension host: the runner (index.ts, with mocha bundled in so it
// does not depend on the host's Node supporting require(esm)) plus one bundle per *.test.ts file.
const integrationTests = readdirSync('test/integration')
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => `test/integration/${f}`);

// The webview runs in the browser sandbox of a VS Code webview (strict CSP: one nonce'd script, one stylesheet).
const browserCommon = {
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

const builds = [
  { ...nodeCommon, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  // The engine's worker thread: everything heavy (tokenizer, model files, kernels) lives here, not in the host bundle.
  { ...nodeCommon, entryPoints: ['src/worker/main.ts'], outfile: 'dist/worker.js' },
  {
    ...nodeCommon,
    entryPoints: ['test/integration/index.ts', ...integrationTests],
    outdir: 'dist/test/integration',
    outbase: 'test/integration',
    external: ['vscode'],
    // mocha's parallel mode (unused here) resolves worker files at run time.
    logOverride: { 'require-resolve-not-external': 'silent' },
  },
  { ...browserCommon, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js' },
  { ...browserCommon, entryPoints: ['webview/styles.css'], outfile: 'dist/webview.css' },
  { ...nodeCommon, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...nodeCommon, entryPoints: ['scripts/bench/bench.ts'], outfile: 'dist/bench.js', external: ['onnxruntime-node'] },
];

// Codicons: the webview loads codicon.css, which finds codicon.ttf beside it.
mkdirSync('dist', { recursive: true });
for (const f of ['codicon.css', 'codicon.ttf']) copyFileSync(`node_modules/@vscode/codicons/dist/${f}`, `dist/${f}`);

if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  await chmod('dist/cli.js', 0o755);
}
