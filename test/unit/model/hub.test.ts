/**
 * downloadHubModel against a fake Hugging Face Hub on 127.0.0.1: `/<repo>/resolve/<rev>/<file>` answers small
 * files directly and *.safetensors with a 302 to `/cdn/...` (the Hub's CDN redirect), optionally on a second
 * server ("another host"). Every request is logged, so tests can count them and inspect their headers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import {
  COMPLETE_MARKER,
  downloadHubModel,
  HubError,
  hubCacheFolder,
  isGpt2TensorName,
  loadGpt2Folder,
  parseGpt2Config,
  readSafetensorsFile,
  serializeSafetensors,
  validateRepoId,
  validateRevision,
  type HubDownloadOptions,
  type HubDownloadProgress,
} from '../../../src/model';

const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'gpt2-tiny');
const CONFIG_BYTES = readFileSync(join(FIXTURE, 'config.json'));
const MODEL_BYTES = readFileSync(join(FIXTURE, 'model.safetensors'));

// ---------------------------------------------------------------------------------------------------------
// Fake Hub

interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

type Behaviour =
  /** Stream in small chunks with a pause between them. */
  | { kind: 'slow'; chunk: number; delayMs: number }
  /** Announce the full Content-Length, send `bytes`, then drop the connection. */
  | { kind: 'truncate'; bytes: number }
  /** Send `bytes`, then nothing (the connection stays open). */
  | { kind: 'stall'; bytes: number };

interface FakeRepo {
  files: Map<string, Uint8Array>;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Announce this SHA-256 instead of the real one (X-Linked-Etag). */
  wrongEtag?: boolean;
  behaviours?: Map<string, Behaviour>;
}

interface FakeServer {
  readonly url: string;
  readonly requests: LoggedRequest[];
  /** Set when a slow/stalled body was cut off by the client before it finished. */
  clientHungUp: boolean;
  close(): Promise<void>;
}

interface HubState {
  repos: Map<string, FakeRepo>;
  /** Absolute base for CDN redirects (another server); relative "/cdn/..." when undefined. */
  cdnBase?: string;
  /** Redirect /resolve/ requests for this file to themselves forever. */
  loopFile?: string;
  /** Answer a missing repo with the real Hub's 401 + X-Error-Code: RepoNotFound. */
  hubStyleNotFound?: boolean;
}

async function startServer(handler: (req: IncomingMessage, res: ServerResponse, server: FakeServer) => void): Promise<FakeServer> {
  const timers = new Set<NodeJS.Timeout>();
  const httpServer = http.createServer();
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  const server: FakeServer = {
    url: `http://127.0.0.1:${port}`,
    requests: [],
    clientHungUp: false,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  };
  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    server.requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res, server);
  });
  return server;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function hubHandler(state: HubState) {
  return (req: IncomingMessage, res: ServerResponse, server: FakeServer): void => {
    const path = decodeURI((req.url ?? '').split('?')[0]);
    const cdn = /^\/cdn\/(.+)\/([^/]+)$/.exec(path);
    if (cdn !== null) {
      const repo = state.repos.get(cdn[1]);
      const body = repo?.files.get(cdn[2]);
      if (repo === undefined || body === undefined) return void res.writeHead(404).end();
      return sendBody(req, res, body, repo.behaviours?.get(cdn[2]), server);
    }
    const resolve = /^\/(.+)\/resolve\/([^/]+)\/([^/]+)$/.exec((req.url ?? '').split('?')[0]);
    if (resolve === null) return void res.writeHead(400).end();
    const [repoId, revision, file] = [resolve[1], decodeURIComponent(resolve[2]), decodeURIComponent(resolve[3])];
    const repo = state.repos.get(repoId);
    if (repo === undefined) {
      if (state.hubStyleNotFound) return void res.writeHead(401, { 'X-Error-Code': 'RepoNotFound' }).end('Repository Not Found');
      return void res.writeHead(404).end('Repository Not Found');
    }
    if (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`) return void res.writeHead(401).end('Access restricted');
    if (revision !== 'main') return void res.writeHead(404, { 'X-Error-Code': 'RevisionNotFound' }).end('Revision Not Found');
    if (file === state.loopFile) return void res.writeHead(302, { Location: req.url }).end();
    const body = repo.files.get(file);
    if (body === undefined) return void res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' }).end('Entry not found');
    if (file.endsWith('.safetensors')) {
      const target = `${state.cdnBase ?? ''}/cdn/${repoId}/${encodeURIComponent(file)}`;
      const etag = repo.wrongEtag ? sha256(new Uint8Array([1, 2, 3])) : sha256(body);
      return void res.writeHead(302, { Location: target, 'X-Linked-Size': String(body.length), 'X-Linked-Etag': `"${etag}"` }).end();
    }
    sendBody(req, res, body, repo.behaviours?.get(file), server);
  };
}

function sendBody(req: IncomingMessage, res: ServerResponse, body: Uint8Array, behaviour: Behaviour | undefined, server: FakeServer): void {
  res.writeHead(200, { 'Content-Length': String(body.length), 'Content-Type': 'application/octet-stream' });
  if (req.method === 'HEAD') return void res.end();
  if (behaviour === undefined) return void res.end(body);
  if (behaviour.kind === 'truncate') {
    res.write(body.subarray(0, behaviour.bytes), () => res.socket?.destroy());
    return;
  }
  if (behaviour.kind === 'stall') {
    res.write(body.subarray(0, behaviour.bytes));
    res.on('close', () => {
      server.clientHungUp = true;
    });
    return;
  }
  let offset = 0;
  let timer: NodeJS.Timeout | undefined;
  res.on('close', () => {
    clearTimeout(timer);
    if (offset < body.length) server.clientHungUp = true;
  });
  const step = () => {
    if (res.destroyed) return;
    const next = Math.min(body.length, offset + behaviour.chunk);
    res.write(body.subarray(offset, next));
    offset = next;
    if (offset >= body.length) res.end();
    else timer = setTimeout(step, behaviour.delayMs);
  };
  step();
}

/** The files of a single-file GPT-2 repo: the fixture, as a Hub repo would hold it. */
function tinyRepo(extra: Partial<FakeRepo> = {}): FakeRepo {
  return {
    files: new Map<string, Uint8Array>([
      ['config.json', CONFIG_BYTES],
      ['model.safetensors', MODEL_BYTES],
    ]),
    ...extra,
  };
}

/** The fixture split into two shards plus an index, built with the repo's own writer. */
async function shardedRepo(): Promise<FakeRepo> {
  const config = parseGpt2Config(JSON.parse(CONFIG_BYTES.toString('utf8')));
  const { tensors } = await readSafetensorsFile(join(FIXTURE, 'model.safetensors'), { include: isGpt2TensorName(config) });
  const first = new Map([...tensors].filter(([name]) => name === 'wte.weight' || name === 'wpe.weight' || name.startsWith('h.0.')));
  const second = new Map([...tensors].filter(([name]) => !first.has(name)));
  const shard1 = serializeSafetensors(first, { format: 'pt' });
  const shard2 = serializeSafetensors(second, { format: 'pt' });
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap: Record<string, string> = {};
  for (const name of first.keys()) weightMap[name] = names[0];
  for (const name of second.keys()) weightMap[name] = names[1];
  const index = { metadata: { total_size: shard1.length + shard2.length }, weight_map: weightMap };
  return {
    files: new Map<string, Uint8Array>([
      ['config.json', CONFIG_BYTES],
      ['model.safetensors.index.json', Buffer.from(JSON.stringify(index, null, 2))],
      [names[0], shard1],
      [names[1], shard2],
    ]),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

async function expectHubError(promise: Promise<unknown>, kind: string, fragments: readonly (string | RegExp)[]): Promise<HubError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HubError, `expected a HubError (${kind}), got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.ok(!caught.message.includes('\n'), 'one-line message');
  for (const fragment of fragments) {
    if (typeof fragment === 'string') assert.ok(caught.message.includes(fragment), `"${caught.message}" should contain "${fragment}"`);
    else assert.match(caught.message, fragment);
  }
  return caught;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** Progress must never go backwards and must end at the total. */
function checkProgress(events: readonly HubDownloadProgress[], expectedTotal: number): void {
  assert.ok(events.length > 2, `progress was reported (${events.length} events)`);
  for (let i = 1; i < events.length; i++) {
    const [prev, cur] = [events[i - 1], events[i]];
    assert.ok(cur.overallReceived >= prev.overallReceived, `overall bytes went backwards at event ${i}`);
    if (cur.file === prev.file) assert.ok(cur.receivedBytes >= prev.receivedBytes, `file bytes went backwards at event ${i}`);
    if (cur.totalBytes !== undefined) assert.ok(cur.receivedBytes <= cur.totalBytes);
  }
  // Once an overall total is reported it is the real one (never a partial sum that later grows).
  for (const event of events) if (event.overallTotal !== undefined) assert.equal(event.overallTotal, expectedTotal, `overallTotal while at ${event.file}`);
  const last = events[events.length - 1];
  assert.equal(last.receivedBytes, last.totalBytes);
  assert.equal(last.overallReceived, expectedTotal);
  assert.equal(last.overallTotal, expectedTotal);
}

// ---------------------------------------------------------------------------------------------------------

describe('hub: repo ids, revisions and cache folders', () => {
  it('accepts Hub model ids and trims surrounding whitespace', () => {
    for (const id of ['gpt2', 'openai-community/gpt2', 'distilbert/distilgpt2', 'openai-community/gpt2-xl', 'user_1/my.model-v2']) {
      assert.equal(validateRepoId(id), id);
    }
    assert.equal(validateRepoId('  openai-community/gpt2\n'), 'openai-community/gpt2');
  });

  it('rejects paths, URLs, spaces and other non-ids with a message saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['../gpt2', /"\.\."|cannot start/],
      ['openai-community/../gpt2', /at most one "\/"/],
      ['a/b/c', /at most one "\/"/],
      ['/gpt2', /both parts/],
      ['gpt2/', /both parts/],
      ['open ai/gpt2', /space/],
      ['https://huggingface.co/openai-community/gpt2', /page address.*"openai-community\/gpt2"/],
      ['huggingface.co/gpt2', /page address.*"gpt2"/],
      ['http://example.com/model', /not an address/],
      ['C:\\models\\gpt2', /not an address or a path/],
      ['gpt2\\..\\x', /only letters/],
      ['a--b/gpt2', /"--"/],
      ['-gpt2', /start or end/],
      ['gpt2.', /start or end/],
      ['x'.repeat(97), /96/],
      ['gpt2?rev=1', /only letters/],
    ];
    for (const [id, pattern] of cases) {
      assert.throws(
        () => validateRepoId(id),
        (error: unknown) => error instanceof HubError && error.kind === 'invalid-repo' && pattern.test(error.message) && error.message.includes('not a Hugging Face model id'),
        `${JSON.stringify(id)} should be rejected with ${pattern}`,
      );
    }
  });

  it('checks revisions: branches, tags, commits and refs/pr/N pass; ".." and odd characters do not', () => {
    for (const rev of ['main', 'v1.0', 'refs/pr/1', '607a30d783dfa663caf39e06633721c8d4cfcd7e']) assert.equal(validateRevision(rev), rev);
    for (const rev of ['', '..', 'a/../b', 'a//b', 'main branch', '/main', 'x\u0000']) {
      assert.throws(() => validateRevision(rev), (e: unknown) => e instanceof HubError && e.kind === 'invalid-revision');
    }
  });

  it('makes one safe folder per repo and revision, inside the cache root', () => {
    const root = join(tmpdir(), 'cache-root');
    const a = hubCacheFolder(root, 'openai-community/gpt2', 'main');
    assert.equal(a, join(root, 'models--openai-community--gpt2', 'main'));
    const pr = hubCacheFolder(root, 'openai-community/gpt2', 'refs/pr/1');
    assert.ok(pr.startsWith(root + sep));
    assert.equal(pr.slice(root.length + 1).split(sep).length, 2, 'the revision is one path segment');
    const folders = new Set([
      a,
      pr,
      hubCacheFolder(root, 'gpt2', 'main'),
      hubCacheFolder(root, 'openai-community/gpt2', 'refs_2fpr_2f1'),
      hubCacheFolder(root, 'openai-community/gpt2', 'refs-pr-1'),
    ]);
    assert.equal(folders.size, 5, 'no two repos/revisions share a folder');
    assert.throws(() => hubCacheFolder(root, '../etc', 'main'), HubError);
    assert.throws(() => hubCacheFolder(root, 'gpt2', '../../x'), HubError);
  });
});

describe('hub: downloading from a fake Hub', function () {
  this.timeout(15000);
  let hub: FakeServer;
  let cdn: FakeServer;
  let state: HubState;
  let cacheRoot: string;
  const folders: string[] = [];

  before(async () => {
    state = { repos: new Map() };
    hub = await startServer(hubHandler(state));
    cdn = await startServer(hubHandler(state));
  });
  after(async () => {
    await hub.close();
    await cdn.close();
  });
  beforeEach(async () => {
    cacheRoot = await mkdtemp(join(tmpdir(), 'attention-inspector-hub-'));
    folders.push(cacheRoot);
    state.repos.clear();
    delete state.cdnBase;
    delete state.loopFile;
    delete state.hubStyleNotFound;
    hub.requests.length = 0;
    cdn.requests.length = 0;
    hub.clientHungUp = false;
  });
  afterEach(async () => {
    await rm(cacheRoot, { recursive: true, force: true });
  });

  const download = (repo: string, options: HubDownloadOptions = {}) => downloadHubModel(repo, cacheRoot, { endpoint: hub.url, ...options });

  it('downloads config.json and model.safetensors byte for byte, following the CDN redirect, with monotonic progress', async () => {
    state.repos.set('openai-community/gpt2', tinyRepo());
    const events: HubDownloadProgress[] = [];
    const result = await download('openai-community/gpt2', { onProgress: (p) => events.push(p) });
    assert.equal(result.fromCache, false);
    assert.equal(result.folder, hubCacheFolder(cacheRoot, 'openai-community/gpt2', 'main'));
    assert.ok((await readFile(join(result.folder, 'config.json'))).equals(CONFIG_BYTES));
    assert.ok((await readFile(join(result.folder, 'model.safetensors'))).equals(MODEL_BYTES));
    assert.deepEqual((await readdir(result.folder)).sort(), [COMPLETE_MARKER, 'config.json', 'model.safetensors']);

    assert.deepEqual(
      hub.requests.map((r) => `${r.method} ${r.path}`),
      [
        'GET /openai-community/gpt2/resolve/main/config.json',
        'GET /openai-community/gpt2/resolve/main/model.safetensors',
        'GET /cdn/openai-community/gpt2/model.safetensors',
      ],
    );
    checkProgress(events, CONFIG_BYTES.length + MODEL_BYTES.length);
    assert.deepEqual([...new Set(events.map((e) => e.file))], ['config.json', 'model.safetensors']);
    assert.ok(events.some((e) => e.file === 'model.safetensors' && e.receivedBytes > 0 && e.receivedBytes < MODEL_BYTES.length), 'intermediate progress');

    const marker = JSON.parse(await readFile(join(result.folder, COMPLETE_MARKER), 'utf8'));
    assert.equal(marker.repo, 'openai-community/gpt2');
    assert.equal(marker.revision, 'main');
    assert.deepEqual(marker.files, [
      { name: 'config.json', size: CONFIG_BYTES.length },
      { name: 'model.safetensors', size: MODEL_BYTES.length },
    ]);
    assert.ok(!Number.isNaN(Date.parse(marker.downloadedAt)));

    const weights = await loadGpt2Folder(result.folder);
    assert.equal(weights.blocks.length, 2);
  });

  it('a second call comes from the cache with zero requests; a damaged file or force downloads again', async () => {
    state.repos.set('gpt2', tinyRepo());
    const first = await download('gpt2');
    assert.equal(first.fromCache, false);
    const count = hub.requests.length + cdn.requests.length;

    const second = await download('gpt2', { onProgress: () => assert.fail('no progress from the cache') });
    assert.deepEqual(second, { folder: first.folder, fromCache: true });
    assert.equal(hub.requests.length + cdn.requests.length, count, 'no request at all');

    // Works without a server too.
    const offline = await downloadHubModel('gpt2', cacheRoot, { endpoint: 'http://127.0.0.1:9' });
    assert.equal(offline.fromCache, true);

    await truncate(join(first.folder, 'model.safetensors'), 1000);
    const third = await download('gpt2');
    assert.equal(third.fromCache, false);
    assert.ok((await readFile(join(first.folder, 'model.safetensors'))).equals(MODEL_BYTES));

    const before = hub.requests.length;
    assert.equal((await download('gpt2', { force: true })).fromCache, false);
    assert.ok(hub.requests.length > before);
  });

  it('cancel mid-download: rejects with an AbortError, stops the transfer and leaves no model.safetensors, .part or marker', async () => {
    state.repos.set('gpt2', tinyRepo({ behaviours: new Map([['model.safetensors', { kind: 'slow', chunk: 16 * 1024, delayMs: 10 }]]) }));
    const controller = new AbortController();
    let lastEvent: HubDownloadProgress | undefined;
    const promise = download('gpt2', {
      signal: controller.signal,
      onProgress: (p) => {
        lastEvent = p;
        if (p.file === 'model.safetensors' && p.receivedBytes >= 100 * 1024) controller.abort();
      },
    });
    await assert.rejects(promise, (error: unknown) => error instanceof Error && error.name === 'AbortError' && /cancelled/.test(error.message));
    assert.ok(lastEvent !== undefined && lastEvent.receivedBytes < MODEL_BYTES.length, 'aborted before the end');
    const folder = hubCacheFolder(cacheRoot, 'gpt2', 'main');
    assert.equal(await exists(join(folder, 'model.safetensors')), false);
    assert.equal(await exists(join(folder, 'model.safetensors.part')), false);
    assert.equal(await exists(join(folder, COMPLETE_MARKER)), false);
    for (let i = 0; i < 50 && !hub.clientHungUp; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(hub.clientHungUp, 'the server saw the connection close before the body ended');

    // The next call starts over and completes.
    state.repos.set('gpt2', tinyRepo());
    assert.equal((await download('gpt2')).fromCache, false);
    assert.ok((await readFile(join(folder, 'model.safetensors'))).equals(MODEL_BYTES));
  });

  it('an already-aborted signal rejects before any request', async () => {
    state.repos.set('gpt2', tinyRepo());
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(download('gpt2', { signal: controller.signal }), { name: 'AbortError' });
    assert.equal(hub.requests.length, 0);
  });

  it('a sharded repo: downloads the index and every shard once, and loadGpt2Folder loads it like the single file', async () => {
    const repo = await shardedRepo();
    state.repos.set('someone/gpt2-sharded', repo);
    const events: HubDownloadProgress[] = [];
    const result = await download('someone/gpt2-sharded', { onProgress: (p) => events.push(p) });
    for (const [name, bytes] of repo.files) assert.ok((await readFile(join(result.folder, name))).equals(bytes), name);
    assert.equal(await exists(join(result.folder, 'model.safetensors')), false);

    const gets = hub.requests.filter((r) => r.method === 'GET').map((r) => r.path.split('/').pop());
    assert.deepEqual(gets, [
      'config.json',
      'model.safetensors',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    // HEAD requests learn the shard sizes from the redirect's X-Linked-Size, so the overall total is known up front.
    assert.deepEqual(
      hub.requests.filter((r) => r.method === 'HEAD' && r.path.includes('/resolve/')).map((r) => r.path.split('/').pop()),
      ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'],
    );
    const total = [...repo.files.values()].reduce((n, b) => n + b.length, 0);
    checkProgress(events, total);
    assert.ok(events.filter((e) => e.file.startsWith('model-')).every((e) => e.overallTotal === total));

    const loaded = await loadGpt2Folder(result.folder);
    const reference = await loadGpt2Folder(FIXTURE);
    assert.deepEqual(loaded.wte.data, reference.wte.data);
    assert.deepEqual(loaded.blocks[1].fcWeight.data, reference.blocks[1].fcWeight.data);
    assert.deepEqual(loaded.lnF.bias.data, reference.lnF.bias.data);

    assert.equal((await download('someone/gpt2-sharded')).fromCache, true);
  });

  it('an index naming a shard outside the folder is refused before anything is fetched from it', async () => {
    const index = { weight_map: { 'wte.weight': '../../evil.safetensors' } };
    state.repos.set('evil/gpt2', {
      files: new Map<string, Uint8Array>([
        ['config.json', CONFIG_BYTES],
        ['model.safetensors.index.json', Buffer.from(JSON.stringify(index))],
      ]),
    });
    await expectHubError(download('evil/gpt2'), 'invalid-index', ['evil/gpt2', '"wte.weight"', 'same folder']);
    assert.ok(!hub.requests.some((r) => r.path.includes('evil.safetensors')));
  });

  it('404 repo: "no model X on the Hub (revision Y)", nothing else requested, no marker', async () => {
    await expectHubError(download('nobody/nothing'), 'not-found', ['no model nobody/nothing on the Hub (revision main)']);
    assert.equal(hub.requests.length, 1);
    assert.equal(await exists(join(hubCacheFolder(cacheRoot, 'nobody/nothing', 'main'), COMPLETE_MARKER)), false);

    state.hubStyleNotFound = true; // the real Hub says 401 + RepoNotFound to anonymous users
    await expectHubError(download('nobody/nothing'), 'not-found', ['no model nobody/nothing on the Hub (revision main)', 'private']);

    state.repos.set('gpt2', tinyRepo());
    await expectHubError(download('gpt2', { revision: 'v9' }), 'not-found', ['no revision v9 in model gpt2']);
  });

  it('401 gated: asks for a token; with the right token it downloads', async () => {
    state.repos.set('meta/gated-gpt2', tinyRepo({ token: 'hf_secret' }));
    const error = await expectHubError(download('meta/gated-gpt2'), 'unauthorized', ['meta/gated-gpt2 is gated or private; set a Hugging Face token']);
    assert.equal(error.status, 401);
    await expectHubError(download('meta/gated-gpt2', { token: 'hf_wrong' }), 'unauthorized', ['token was refused (HTTP 401)']);
    assert.ok(!hub.requests.some((r) => r.path.includes('model.safetensors')), 'stopped at config.json');

    const result = await download('meta/gated-gpt2', { token: 'hf_secret' });
    assert.ok((await readFile(join(result.folder, 'model.safetensors'))).equals(MODEL_BYTES));
  });

  it('a config whose model_type is not gpt2 is refused before the weights are downloaded', async () => {
    const bert = Buffer.from(JSON.stringify({ model_type: 'bert', hidden_size: 768, num_hidden_layers: 12 }));
    state.repos.set('google-bert/bert-base-uncased', tinyRepo({ files: new Map([['config.json', bert], ['model.safetensors', MODEL_BYTES]]) }));
    await expectHubError(download('google-bert/bert-base-uncased'), 'not-gpt2', [
      'google-bert/bert-base-uncased is a bert model; Attention Inspector runs GPT-2 checkpoints',
    ]);
    assert.equal(hub.requests.length, 1, 'model.safetensors was never requested');
    const folder = hubCacheFolder(cacheRoot, 'google-bert/bert-base-uncased', 'main');
    assert.deepEqual(await readdir(folder), [], 'no config.json, .part or marker left');
  });

  it('a GPT-2 config the engine cannot run is refused with parseGpt2Config\'s reason', async () => {
    const config = { ...JSON.parse(CONFIG_BYTES.toString('utf8')), activation_function: 'relu' };
    state.repos.set('x/gpt2-relu', tinyRepo({ files: new Map([['config.json', Buffer.from(JSON.stringify(config))], ['model.safetensors', MODEL_BYTES]]) }));
    await expectHubError(download('x/gpt2-relu'), 'invalid-config', ['x/gpt2-relu', '"activation_function" "relu" is not supported']);
  });

  it('a repo without safetensors weights says so', async () => {
    state.repos.set('old/gpt2', { files: new Map<string, Uint8Array>([['config.json', CONFIG_BYTES], ['pytorch_model.bin', new Uint8Array(10)]]) });
    await expectHubError(download('old/gpt2'), 'no-weights', ['old/gpt2 (revision main) has no model.safetensors or model.safetensors.index.json']);
  });

  it('a body shorter than its Content-Length is a clear error and leaves no complete file', async () => {
    state.repos.set('gpt2', tinyRepo({ behaviours: new Map([['model.safetensors', { kind: 'truncate', bytes: 500_000 }]]) }));
    await expectHubError(download('gpt2'), 'truncated', [/model\.safetensors from gpt2 was cut short \(received \d+ of 1673992 bytes\)/]);
    const folder = hubCacheFolder(cacheRoot, 'gpt2', 'main');
    assert.deepEqual((await readdir(folder)).sort(), ['config.json']);
  });

  it('a server that stops sending fails after the stall timeout', async () => {
    state.repos.set('gpt2', tinyRepo({ behaviours: new Map([['model.safetensors', { kind: 'stall', bytes: 100_000 }]]) }));
    const started = Date.now();
    await expectHubError(download('gpt2', { stallTimeoutMs: 300 }), 'timeout', ['stalled (no data for 300 ms)', 'local model folder']);
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual((await readdir(hubCacheFolder(cacheRoot, 'gpt2', 'main'))).sort(), ['config.json']);
  });

  it('a file that does not match the Hub\'s SHA-256 (X-Linked-Etag) is discarded', async () => {
    state.repos.set('gpt2', tinyRepo({ wrongEtag: true }));
    await expectHubError(download('gpt2'), 'checksum', ['model.safetensors from gpt2 does not match']);
    assert.equal(await exists(join(hubCacheFolder(cacheRoot, 'gpt2', 'main'), 'model.safetensors')), false);
  });

  it('a 200 answer that is not safetensors (e.g. an HTML page) never gets the real name', async () => {
    state.repos.set('gpt2', tinyRepo({ files: new Map([['config.json', CONFIG_BYTES], ['model.safetensors', Buffer.from('<html>proxy login</html>')]]) }));
    await expectHubError(download('gpt2'), 'invalid-weights', ['model.safetensors of gpt2 is not a valid safetensors file']);
    assert.deepEqual((await readdir(hubCacheFolder(cacheRoot, 'gpt2', 'main'))).sort(), ['config.json']);
  });

  it('sends the token to the endpoint but not to a CDN on another host', async () => {
    state.repos.set('meta/gated-gpt2', tinyRepo({ token: 'hf_secret' }));
    state.cdnBase = cdn.url;
    const result = await download('meta/gated-gpt2', { token: 'hf_secret' });
    assert.ok((await readFile(join(result.folder, 'model.safetensors'))).equals(MODEL_BYTES));
    assert.equal(hub.requests.length, 2);
    assert.ok(hub.requests.every((r) => r.authorization === 'Bearer hf_secret'));
    assert.deepEqual(
      cdn.requests.map((r) => [r.method, r.path, r.authorization]),
      [['GET', '/cdn/meta/gated-gpt2/model.safetensors', undefined]],
    );
  });

  it('keeps the token on a same-host redirect', async () => {
    state.repos.set('meta/gated-gpt2', tinyRepo({ token: 'hf_secret' }));
    await download('meta/gated-gpt2', { token: 'hf_secret' });
    const cdnHop = hub.requests.find((r) => r.path.startsWith('/cdn/'));
    assert.equal(cdnHop?.authorization, 'Bearer hf_secret');
  });

  it('gives up after a bounded number of redirects', async () => {
    state.repos.set('gpt2', tinyRepo());
    state.loopFile = 'model.safetensors';
    await expectHubError(download('gpt2'), 'http', ['too many redirects']);
    assert.ok(hub.requests.length <= 1 + 6 + 1);
  });

  it('an unreachable Hub says so and suggests a local folder', async () => {
    const closed = await startServer(() => undefined);
    const url = closed.url;
    await closed.close();
    await expectHubError(downloadHubModel('gpt2', cacheRoot, { endpoint: url }), 'network', [
      'could not reach the Hugging Face Hub at 127.0.0.1',
      'ECONNREFUSED',
      'pick a local model folder',
    ]);
  });

  it('a folder that cannot be created is a disk error', async () => {
    const blocker = join(cacheRoot, 'file');
    await writeFile(blocker, 'not a folder');
    state.repos.set('gpt2', tinyRepo());
    await expectHubError(downloadHubModel('gpt2', blocker, { endpoint: hub.url }), 'disk', ['could not write', 'ENOTDIR']);
    assert.equal(hub.requests.length, 0);
  });

  it('a write failure while streaming is a disk error, not a network error', async () => {
    state.repos.set('gpt2', tinyRepo());
    const folder = hubCacheFolder(cacheRoot, 'gpt2', 'main');
    await mkdir(join(folder, 'model.safetensors.part'), { recursive: true }); // the .part file cannot be opened
    await expectHubError(download('gpt2'), 'disk', ['could not write', 'model.safetensors.part', 'EISDIR']);
    assert.equal(await exists(join(folder, COMPLETE_MARKER)), false);
  });

  it('invalid ids are refused before any request', async () => {
    await expectHubError(download('../../etc/passwd'), 'invalid-repo', ['not a Hugging Face model id']);
    await expectHubError(download('https://huggingface.co/gpt2'), 'invalid-repo', ['"gpt2"']);
    assert.equal(hub.requests.length, 0);
  });

  it('two concurrent calls for the same folder do not collide: the second is served from the cache', async () => {
    state.repos.set('gpt2', tinyRepo());
    const [a, b] = await Promise.all([download('gpt2'), download('gpt2')]);
    assert.deepEqual([a.fromCache, b.fromCache], [false, true]);
    assert.equal(hub.requests.filter((r) => r.path.endsWith('config.json')).length, 1);
  });

  after(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });
});
