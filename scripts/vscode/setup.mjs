#!/usr/bin/env node
// Prepares a real VS Code for this machine: code-server (VS Code server + web workbench) from npm,
// running on Node 24 (also from npm), driven by the system's Chromium.
// Idempotent: when everything is already in place it only reads two small JSON files (well under 1 s).
//
//   node scripts/vscode/setup.mjs            ensure everything, print short progress lines
//   node scripts/vscode/setup.mjs --no-verify  skip running `code-server --version` (+ native module probe) when warm
//   node scripts/vscode/setup.mjs --force    reinstall code-server (and Node 24) from scratch
//
// Other scripts import { ensureSetup, paths } from here.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, createWriteStream, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.139.1';
export const NODE_MAJOR = 24;

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE_DIR = join(ROOT, '.cache', 'vscode');

const nodePkgName = `node-${process.platform}-${process.arch}`;
const node24Root = join(CACHE_DIR, 'node24');
const node24Dir = join(node24Root, 'node_modules', nodePkgName);
const codeServerRoot = join(CACHE_DIR, 'code-server');
const codeServerDir = join(codeServerRoot, 'node_modules', 'code-server');
const stampFile = join(codeServerRoot, 'setup-stamp.json');

/** Absolute paths every other script needs. */
export const paths = {
  root: ROOT,
  cache: CACHE_DIR,
  /** Folder of the Node 24 distribution (bin/, include/node/). */
  node24Dir,
  /** The Node 24 executable that runs code-server. */
  node24: join(node24Dir, 'bin', 'node'),
  codeServerDir,
  /** code-server's entry point: run it with `paths.node24`. */
  codeServerEntry: join(codeServerDir, 'out', 'node', 'entry.js'),
  chromium: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  /** Default workspace for integration/e2e tests and `npm start`. */
  workspace: join(ROOT, 'test', 'integration', 'workspace'),
  testResults: join(ROOT, 'test-results'),
};

const log = (msg) => console.log(`[vscode-setup] ${msg}`);

class SetupError extends Error {}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function haveGssapiHeaders() {
  return ['/usr/include/gssapi/gssapi.h', '/usr/include/gssapi.h', '/usr/local/include/gssapi/gssapi.h'].some((f) => existsSync(f))
    || spawnSync('krb5-config', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Chromium, plus the Kerberos headers code-server's `kerberos` native module needs to build. */
async function ensureSystemPackages({ needKerberos }) {
  const missing = [];
  if (!existsSync(paths.chromium)) missing.push('chromium');
  if (needKerberos && !haveGssapiHeaders()) missing.push('libkrb5-dev');
  if (missing.length === 0) return;
  if (process.env.CHROMIUM_PATH && missing.includes('chromium')) {
    throw new SetupError(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist.`);
  }
  if (process.platform !== 'linux' || !isRoot() || !existsSync('/usr/bin/apt-get')) {
    throw new SetupError(
      `Missing system packages: ${missing.join(', ')}.\n` +
        `  Install them, e.g. on Debian/Ubuntu:  sudo apt-get install -y chromium libkrb5-dev\n` +
        `  (or point CHROMIUM_PATH at an existing Chromium/Chrome executable).`,
    );
  }
  const pkgs = ['chromium', 'libkrb5-dev'];
  log(`installing system packages: ${pkgs.join(' ')} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, label: 'apt-get update' });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { env, label: 'apt-get install' });
  if (!existsSync(paths.chromium)) throw new SetupError(`apt-get finished but ${paths.chromium} is still missing.`);
}

/**
 * Runs a command; its output goes to a log file (printed on failure) so progress stays short.
 * Resolves on exit code 0, rejects with the log's tail otherwise.
 */
function run(cmd, args, { cwd = ROOT, env = process.env, label = cmd } = {}) {
  mkdirSync(CACHE_DIR, { recursive: true });
  const logFile = join(CACHE_DIR, `setup-${label.replace(/[^a-z0-9]+/gi, '-')}.log`);
  const out = createWriteStream(logFile);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('error', (err) => reject(new SetupError(`${label}: cannot run ${cmd}: ${err.message}`)));
    child.on('close', (code, signal) => {
      out.end(() => {
        if (code === 0) return resolvePromise();
        const tail = readFileSync(logFile, 'utf8').split('\n').slice(-60).join('\n');
        reject(new SetupError(`${label} failed (${signal ?? `exit code ${code}`}); full log: ${logFile}\n${tail}`));
      });
    });
  });
}

/** The npm CLI script (so we can run it with a Node of our choice). */
function findNpmCli() {
  if (process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)) return process.env.npm_execpath;
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    const candidate = join(dir, 'npm');
    if (!existsSync(candidate)) continue;
    const real = realpathSync(candidate);
    if (real.endsWith('.js')) return real;
    const sibling = join(dirname(real), 'npm-cli.js');
    if (existsSync(sibling)) return sibling;
  }
  const fallback = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (existsSync(fallback)) return fallback;
  throw new SetupError('Cannot find npm (npm-cli.js) on PATH.');
}

function node24Ok() {
  const pkg = readJson(join(node24Dir, 'package.json'));
  return !!pkg && String(pkg.version).startsWith(`${NODE_MAJOR}.`) && existsSync(paths.node24);
}

async function ensureNode24({ force }) {
  if (!force && node24Ok()) return false;
  if (!['linux', 'darwin'].includes(process.platform)) {
    throw new SetupError(`Unsupported platform ${process.platform}: use desktop VS Code (npm run test:integration:desktop).`);
  }
  log(`installing Node ${NODE_MAJOR} (npm package ${nodePkgName}@${NODE_MAJOR}) into ${node24Root} …`);
  const t0 = Date.now();
  rmSync(node24Root, { recursive: true, force: true });
  mkdirSync(node24Root, { recursive: true });
  writeFileSync(join(node24Root, 'package.json'), JSON.stringify({ name: 'vscode-node24-cache', private: true }, null, 2) + '\n');
  await run(process.execPath, [findNpmCli(), 'install', '--no-audit', '--no-fund', `${nodePkgName}@${NODE_MAJOR}`], {
    cwd: node24Root,
    label: 'npm install node24',
  });
  if (!node24Ok()) throw new SetupError(`${nodePkgName} installed but ${paths.node24} is missing or not v${NODE_MAJOR}.`);
  log(`Node ${nodeVersion()} ready (${secs(t0)})`);
  return true;
}

function nodeVersion() {
  return spawnSync(paths.node24, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/** Environment for npm/node-gyp running under Node 24 and building against Node 24's headers. */
function node24Env() {
  // Under `npm test` the outer npm (Node 20) leaves npm_* variables behind; npm reads them as config, and
  // code-server's postinstall reads the Node version from npm_config_user_agent. Start from a clean slate.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return {
    ...inherited,
    PATH: `${join(node24Dir, 'bin')}${delimiter}${process.env.PATH || ''}`,
    // The machine's npmrc may set nodedir to another Node's headers (e.g. /usr = Node 20): override it,
    // or native modules get built for the wrong ABI and fail to load in Node 24.
    npm_config_nodedir: node24Dir,
    npm_config_update_notifier: 'false',
  };
}

function stampOk() {
  const stamp = readJson(stampFile);
  const node24Pkg = readJson(join(node24Dir, 'package.json'));
  return (
    !!stamp &&
    !!node24Pkg &&
    stamp.codeServer === CODE_SERVER_VERSION &&
    stamp.node24 === node24Pkg.version &&
    existsSync(paths.codeServerEntry)
  );
}

// code-server's native modules must load in Node 24 (catches a build against the wrong headers).
const NATIVE_PROBES = ['@vscode/spdlog', 'node-pty', '@vscode/native-watchdog', 'kerberos'];

async function verifyCodeServer() {
  // code-server writes a default config.yaml under $XDG_CONFIG_HOME: keep that out of the real home.
  const home = mkdtempSync(join(tmpdir(), 'vscode-setup-'));
  const r = spawnSync(paths.node24, [paths.codeServerEntry, '--version'], {
    encoding: 'utf8',
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local', 'share') },
  });
  rmSync(home, { recursive: true, force: true });
  const out = `${r.stdout || ''}${r.stderr || ''}`.trim();
  // Output: "4.139.1 <commit> with Code <vscode version>" (possibly after log lines).
  const versionLine = out.split('\n').find((l) => l.startsWith(`${CODE_SERVER_VERSION} `));
  if (r.status !== 0 || !versionLine) {
    throw new SetupError(`code-server --version failed (exit ${r.status}):\n${out}`);
  }
  const probe = `
    const { createRequire } = require('node:module');
    const req = createRequire(${JSON.stringify(join(codeServerDir, 'lib', 'vscode', 'package.json'))});
    for (const m of ${JSON.stringify(NATIVE_PROBES)}) req(m);
  `;
  const p = spawnSync(paths.node24, ['-e', probe], { encoding: 'utf8' });
  if (p.status !== 0) {
    throw new SetupError(
      `code-server's native modules do not load in Node ${NODE_MAJOR} (built against the wrong Node headers?):\n${p.stderr}`,
    );
  }
  return versionLine;
}

async function ensureCodeServer({ force }) {
  if (!force && stampOk()) return false;
  await ensureSystemPackages({ needKerberos: true });
  log(`installing code-server@${CODE_SERVER_VERSION} into ${codeServerRoot} (about 2 minutes: download + native builds) …`);
  const t0 = Date.now();
  rmSync(codeServerRoot, { recursive: true, force: true });
  mkdirSync(codeServerRoot, { recursive: true });
  writeFileSync(
    join(codeServerRoot, 'package.json'),
    JSON.stringify(
      {
        name: 'vscode-code-server-cache',
        private: true,
        dependencies: { 'code-server': CODE_SERVER_VERSION },
        // npm >= 11.x blocks dependency install scripts unless allowed here. code-server's postinstall
        // runs `npm install` in lib/vscode and lib/vscode/extensions (those carry their own allowScripts)
        // and builds the native modules; argon2 picks its prebuilt binary.
        allowScripts: { [`code-server@${CODE_SERVER_VERSION}`]: true, argon2: true },
      },
      null,
      2,
    ) + '\n',
  );
  await run(paths.node24, [findNpmCli(), 'install', '--no-audit', '--no-fund', '--omit=dev'], {
    cwd: codeServerRoot,
    env: node24Env(),
    label: 'npm install code-server',
  });
  if (!existsSync(paths.codeServerEntry)) throw new SetupError(`npm finished but ${paths.codeServerEntry} is missing.`);
  const version = await verifyCodeServer();
  const node24Pkg = readJson(join(node24Dir, 'package.json'));
  writeFileSync(
    stampFile,
    JSON.stringify({ codeServer: CODE_SERVER_VERSION, node24: node24Pkg.version, installedAt: new Date().toISOString() }, null, 2) + '\n',
  );
  log(`code-server ${version} ready (${secs(t0)})`);
  return true;
}

const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

// A simple cross-process lock so parallel `npm run test:*` don't install into the same folder at once.
async function withLock(fn) {
  mkdirSync(CACHE_DIR, { recursive: true });
  const lock = join(CACHE_DIR, 'setup.lock');
  const deadline = Date.now() + 15 * 60_000;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const pid = Number(readJson(join(lock, 'pid')) ?? NaN);
      let alive = Number.isInteger(pid);
      if (alive) {
        try {
          process.kill(pid, 0);
        } catch {
          alive = false;
        }
      }
      // A lock without a live owner (crashed run) is stale; also tolerate the window between mkdir and writing pid.
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        /* removed meanwhile */
      }
      if (!alive && age > 5000) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new SetupError(`Timed out waiting for another setup (lock ${lock}).`);
      if (!announced) log(`waiting for another setup run (pid ${pid}) to finish …`);
      announced = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Makes sure Chromium, Node 24 and code-server are installed. Fast (two JSON reads + two stats) when done.
 * @param {{force?: boolean, verify?: boolean, quiet?: boolean}} [opts]
 */
export async function ensureSetup({ force = false, verify = false, quiet = false } = {}) {
  if (!force && existsSync(paths.chromium) && node24Ok() && stampOk()) {
    if (verify) {
      const v = await verifyCodeServer();
      if (!quiet) log(`code-server ${v} on Node ${nodeVersion()} OK (verified); Chromium ${paths.chromium}`);
    } else if (!quiet) {
      log(`already set up: code-server ${CODE_SERVER_VERSION}, Node ${readJson(join(node24Dir, 'package.json')).version}, ${paths.chromium}`);
    }
    return paths;
  }
  const t0 = Date.now();
  await withLock(async () => {
    await ensureSystemPackages({ needKerberos: false });
    const newNode = await ensureNode24({ force });
    await ensureCodeServer({ force: force || newNode });
  });
  if (!quiet) log(`done in ${secs(t0)}`);
  return paths;
}

/** Throws a clear error if setup has not been run (for runners that must not install anything). */
export function assertSetup() {
  if (!existsSync(paths.chromium) || !node24Ok() || !stampOk()) {
    throw new Error('VS Code test infrastructure is not set up: run `npm run vscode:setup` first.');
  }
  return paths;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  const t0 = Date.now();
  try {
    await ensureSetup({ force: args.includes('--force'), verify: !args.includes('--no-verify') });
    if (args.includes('--time')) log(`elapsed ${secs(t0)}`);
  } catch (err) {
    console.error(`[vscode-setup] ERROR: ${err instanceof SetupError ? err.message : err.stack || err}`);
    process.exit(1);
  }
}
