// Starts code-server (a real VS Code server + web workbench) on 127.0.0.1 for tests and `npm start`.
//
//   import { startServer } from './server.mjs';
//   const server = await startServer({ settings: { 'workbench.colorTheme': 'Default Light Modern' } });
//   … server.origin, server.port, server.remoteUri('/abs/path'), server.workbenchUrl({...}) …
//   await server.stop();
//
// Run directly for a quick manual check:  node scripts/vscode/server.mjs [folder]
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertSetup, paths } from './setup.mjs';

/** Settings every session gets (callers' settings win): quiet, offline, no welcome pages or AI panels. */
export const DEFAULT_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'npm.autoDetect': 'off',
};

// Ctrl+C / SIGTERM / SIGHUP: run every registered cleanup (stop servers, close browsers), then exit.
const cleanups = new Set();
let signalsInstalled = false;
let shuttingDown = false;
/** Registers `fn` to run on interruption; returns a function that unregisters it. */
export function addCleanup(fn) {
  cleanups.add(fn);
  if (!signalsInstalled) {
    signalsInstalled = true;
    for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
      process.on(sig, async () => {
        if (shuttingDown) return;
        shuttingDown = true;
        console.error(`\n[vscode] ${sig}: stopping code-server/Chromium …`);
        await Promise.allSettled([...cleanups].map((f) => f()));
        process.exit(code);
      });
    }
  }
  return () => cleanups.delete(fn);
}

/**
 * @typedef {object} ServerOptions
 * @property {Record<string, unknown>} [settings]  user settings, merged over DEFAULT_SETTINGS into User/settings.json
 * @property {string} [folder]       folder code-server opens by default (the URL's ?folder= wins)
 * @property {number} [port]         0 (default) = random free port
 * @property {string} [host]         default 127.0.0.1
 * @property {Record<string,string>} [env]  extra environment (reaches the extension host too)
 * @property {string} [userDataDir]  reuse this user-data dir instead of a fresh temp one (kept on stop)
 * @property {boolean} [verbose]     echo the server's output (also with env VSCODE_SERVER_LOG=1)
 * @property {number} [startTimeoutMs] default 60000
 */

/**
 * @param {ServerOptions} [opts]
 * @returns {Promise<{origin: string, port: number, host: string, tempDir: string, userDataDir: string,
 *   output: () => string, remoteUri: (absPath: string) => string,
 *   workbenchUrl: (o?: WorkbenchUrlOptions) => string, stop: () => Promise<void>}>}
 */
export async function startServer(opts = {}) {
  assertSetup();
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  const verbose = opts.verbose ?? process.env.VSCODE_SERVER_LOG === '1';
  const tempDir = mkdtempSync(join(tmpdir(), 'attn-vscode-'));
  const home = join(tempDir, 'home');
  const userDataDir = opts.userDataDir ?? join(tempDir, 'user-data');
  const extensionsDir = join(tempDir, 'extensions');
  const tmp = join(tempDir, 'tmp'); // VS Code puts IPC sockets in $TMPDIR: keep them in our folder
  for (const d of [home, tmp, join(userDataDir, 'User'), extensionsDir]) mkdirSync(d, { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...(opts.settings ?? {}) }, null, 2) + '\n',
  );

  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    // VSCODE_IPC_HOOK_CLI & co. (set inside a VS Code terminal) make code-server act as a CLI for that
    // window instead of starting; PORT would override --bind-addr; NODE_OPTIONS may carry loaders meant for us.
    if (k.startsWith('VSCODE_') || k === 'ELECTRON_RUN_AS_NODE' || k === 'PORT' || k === 'NODE_OPTIONS') continue;
    if (k === 'PASSWORD' || k === 'HASHED_PASSWORD' || k === 'GITHUB_TOKEN') continue;
    env[k] = v;
  }
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    TMPDIR: tmp,
    EXTENSIONS_GALLERY: '{}', // no marketplace requests
    ...(opts.env ?? {}),
  });

  const args = [
    paths.codeServerEntry,
    '--auth', 'none',
    '--bind-addr', `${host}:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    // Without this a release build ignores the `payload` URL parameter (extensionDevelopmentPath & co.).
    '--vscode-option', 'enable-smoke-test-driver',
  ];
  if (opts.folder) args.push(resolve(opts.folder));

  const child = spawn(paths.node24, args, {
    cwd: tempDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so stop() also ends the extension host, pty host, watchers
  });

  const outputLines = [];
  let exited = false;
  let exitInfo = '';
  const exitPromise = new Promise((r) => {
    child.on('exit', (code, signal) => {
      exited = true;
      exitInfo = signal ?? `exit code ${code}`;
      r();
    });
  });
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  // Never leave a server behind if our process ends abruptly.
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);
  let stop; // assigned below
  const removeCleanup = addCleanup(() => (stop ? stop() : killGroup('SIGKILL')));

  const origin = await new Promise((resolveOrigin, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`code-server did not report its port within ${(opts.startTimeoutMs ?? 60000) / 1000} s:\n${outputLines.join('\n')}`)),
      opts.startTimeoutMs ?? 60000,
    );
    const onData = (buf) => {
      for (const line of buf.toString().split(/\r?\n/)) {
        if (!line) continue;
        outputLines.push(line);
        if (outputLines.length > 500) outputLines.shift();
        if (verbose) process.stderr.write(`[code-server] ${line}\n`);
        const m = /HTTP server listening on (https?:\/\/[^\s]+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolveOrigin(m[1].replace(/\/$/, ''));
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start code-server: ${err.message}`));
    });
    exitPromise.then(() => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${exitInfo}) before listening:\n${outputLines.join('\n')}`));
    });
  }).catch(async (err) => {
    killGroup('SIGKILL');
    process.off('exit', onExit);
    removeCleanup();
    rmSync(tempDir, { recursive: true, force: true });
    throw err;
  });

  const url = new URL(origin);
  const actualPort = Number(url.port);
  const authority = `${url.hostname}:${actualPort}`;
  const remoteUri = (absPath) => `vscode-remote://${authority}${encodeURI(resolve(absPath))}`;

  let stopped;
  stop = () => {
    stopped ??= (async () => {
      if (!exited) {
        killGroup('SIGTERM');
        const t = setTimeout(() => killGroup('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(t);
        killGroup('SIGKILL'); // stragglers in the group (extension host, watchers)
      }
      process.off('exit', onExit);
      removeCleanup();
      try {
        rmSync(tempDir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        /* best effort */
      }
    })();
    return stopped;
  };

  return {
    origin,
    port: actualPort,
    host: url.hostname,
    tempDir,
    userDataDir,
    pid: child.pid,
    output: () => outputLines.join('\n'),
    exited: () => exited,
    stopping: () => stopped !== undefined,
    remoteUri,
    workbenchUrl: (o) => workbenchUrl({ origin, remoteUri }, o),
    stop,
  };
}

/**
 * Copies `src` (default: the test workspace) into the server's temp folder, so tests that edit or save files
 * never touch the repository. Returns the copy's absolute path.
 */
export function copyWorkspace(server, src = paths.workspace) {
  const dest = join(server.tempDir, 'workspace');
  rmSync(dest, { recursive: true, force: true });
  cpSync(src, dest, { recursive: true });
  return dest;
}

/**
 * @typedef {object} WorkbenchUrlOptions
 * @property {string} [folder]                   absolute folder to open (default: the test workspace)
 * @property {string} [extensionDevelopmentPath] absolute path of the extension under development (default: repo root; null = none)
 * @property {string} [extensionTestsPath]       absolute path of the tests module (omit for a normal window)
 * @property {string} [openFile]                 absolute path of a file to open
 * @property {boolean} [skipWelcome]             default true
 */

/** `<origin>/?folder=…&payload=…`: the URL VS Code's own smoke tests use to load a development extension. */
export function workbenchUrl({ origin, remoteUri }, o = {}) {
  const payload = [];
  const devPath = o.extensionDevelopmentPath === undefined ? paths.root : o.extensionDevelopmentPath;
  if (devPath) payload.push(['extensionDevelopmentPath', remoteUri(devPath)]);
  if (o.extensionTestsPath) payload.push(['extensionTestsPath', remoteUri(o.extensionTestsPath)]);
  if (o.openFile) payload.push(['openFile', remoteUri(o.openFile)]);
  if (o.skipWelcome ?? true) payload.push(['skipWelcome', 'true']);
  const params = new URLSearchParams();
  params.set('folder', resolve(o.folder ?? paths.workspace));
  if (payload.length) params.set('payload', JSON.stringify(payload));
  return `${origin}/?${params.toString()}`;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const server = await startServer({ folder: process.argv[2] ?? paths.workspace, verbose: true });
  console.log(`code-server listening on ${server.origin}`);
  console.log(`open: ${server.workbenchUrl()}`);
  console.log('Ctrl+C to stop.');
}
