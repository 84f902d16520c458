#!/usr/bin/env node
// `npm start`: build, then open VS Code with the extension loaded on the sample workspace.
//  - Desktop VS Code (`code` on PATH): code --extensionDevelopmentPath=<repo> <workspace> <workspace>/sample.md
//  - Otherwise (or with --web / START_WEB=1): code-server on http://127.0.0.1:8080 (or the first free port
//    after it; env PORT picks another), with the extension loaded; open the printed URL. Ctrl+C stops it.
//  --no-build skips `npm run build` (use the existing dist/).
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { startServer } from './server.mjs';
import { ensureSetup, paths } from './setup.mjs';

const say = (msg) => console.log(`[start] ${msg}`);
const args = process.argv.slice(2);
const forceWeb = args.includes('--web') || process.env.START_WEB === '1';
const sampleFile = join(paths.workspace, 'sample.md');

function build() {
  say('npm run build');
  const npmCli = process.env.npm_execpath;
  const r = npmCli && npmCli.endsWith('.js')
    ? spawnSync(process.execPath, [npmCli, 'run', 'build'], { cwd: paths.root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], { cwd: paths.root, stdio: 'inherit' });
  if (r.status !== 0) {
    say('build failed');
    process.exit(r.status ?? 1);
  }
}

function findOnPath(name) {
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function portIsFree(port, host) {
  return new Promise((resolvePort) => {
    const srv = createServer();
    srv.once('error', () => resolvePort(false));
    srv.listen(port, host, () => srv.close(() => resolvePort(true)));
  });
}

async function choosePort(host) {
  if (process.env.PORT) {
    const port = Number(process.env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid PORT=${process.env.PORT}`);
    return port;
  }
  for (let port = 8080; port < 8180; port++) if (await portIsFree(port, host)) return port;
  return 0; // let the OS choose
}

async function main() {
  if (!args.includes('--no-build')) build();

  const code = forceWeb ? undefined : findOnPath('code');
  if (code) {
    say(`desktop VS Code: ${code} --extensionDevelopmentPath=${paths.root} ${paths.workspace} ${sampleFile}`);
    const child = spawn(code, [`--extensionDevelopmentPath=${paths.root}`, paths.workspace, sampleFile], { stdio: 'inherit' });
    child.on('exit', (c) => process.exit(c ?? 0));
    return;
  }

  await ensureSetup();
  const host = '127.0.0.1';
  const port = await choosePort(host);
  const server = await startServer({ host, port, folder: paths.workspace });
  const url = server.workbenchUrl({ folder: paths.workspace, extensionDevelopmentPath: paths.root, openFile: sampleFile });
  const line = '─'.repeat(72);
  console.log(`\n${line}`);
  console.log(`  VS Code (code-server) with Attention Inspector loaded is running. Open:\n`);
  console.log(`  ${url}\n`);
  console.log(`  Plain workbench (no extension under development): ${server.origin}/`);
  console.log(`  After \`npm run build\`, run "Developer: Reload Window" to pick up changes.`);
  console.log(`  Ctrl+C to stop.`);
  console.log(`${line}\n`);

  // Ctrl+C: server.mjs stops code-server and exits. Exit too if code-server dies on its own.
  const watchdog = setInterval(() => {
    if (server.exited() && !server.stopping()) {
      say(`code-server exited unexpectedly:\n${server.output().split('\n').slice(-20).join('\n')}`);
      clearInterval(watchdog);
      process.exit(1);
    }
  }, 1000);
}

main().catch((err) => {
  console.error(`[start] ERROR: ${err.message || err}`);
  process.exit(1);
});
