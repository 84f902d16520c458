/**
 * downloadHubModel against a fake Hub (fakeHub.ts) into a temporary Hugging Face cache: the files land in
 * the cache's layout and load; a second call, and a cache filled by hand the way Python's huggingface_hub
 * fills it, make no request; failures come back as one-line HubErrors of the right kind.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorKind } from '../../../src/errors';
import { listCachedModels } from '../../../src/hub/cache';
import { downloadHubModel, type HubDownloadOptions, type HubDownloadProgress } from '../../../src/hub/download';
import { HubError, isAbortError, validateRepoId, validateRevision } from '../../../src/hub/errors';
import { isGpt2TensorName, loadGpt2Folder, loadModelFolder, parseGpt2Config, readSafetensorsFile, serializeSafetensors } from '../../../src/model';
import { isFile } from '../../../src/hub/files';
import { COMMIT, gitOid, hubHandler, sha256, startServer, type FakeRepo, type FakeServer, type HubState } from './fakeHub';

const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'gpt2-tiny');
const CONFIG_BYTES = readFileSync(join(FIXTURE, 'config.json'));
const MODEL_BYTES = readFileSync(join(FIXTURE, 'model.safetensors'));
const TOKENIZER_BYTES = Buffer.from(JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: {}, merges: [] } }));

function tinyRepo(extra: Partial<FakeRepo> = {}): FakeRepo {
  return {
    files: new Map<string, Uint8Array>([
      ['config.json', CONFIG_BYTES],
      ['model.safetensors', MODEL_BYTES],
      ['tokenizer.json', TOKENIZER_BYTES],
      ['README.md', Buffer.from('# not read\n')],
      ['pytorch_model.bin', Buffer.from('not read either')],
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
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap: Record<string, string> = {};
  for (const name of first.keys()) weightMap[name] = names[0];
  for (const name of second.keys()) weightMap[name] = names[1];
  const shard1 = serializeSafetensors(first, { format: 'pt' });
  const shard2 = serializeSafetensors(second, { format: 'pt' });
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

async function expectHubError(promise: Promise<unknown>, kind: string, fragments: readonly (string | RegExp)[]): Promise<HubError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HubError, `expected a HubError (${kind}), got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.equal(errorKind(caught), 'user');
  assert.ok(!caught.message.includes('\n'), 'one-line message');
  for (const fragment of fragments) {
    if (typeof fragment === 'string') assert.ok(caught.message.includes(fragment), `"${caught.message}" should contain "${fragment}"`);
    else assert.match(caught.message, fragment);
  }
  return caught;
}

/** Every file under a folder, relative, with "/" separators. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true }).catch(() => [])) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(path);
      else out.push(path);
    }
  };
  await walk('');
  return out.sort();
}

/** Progress never goes backwards, and once an overall total is reported it is the real one. */
function checkProgress(events: readonly HubDownloadProgress[], expectedTotal: number): void {
  assert.ok(events.length > 2, `progress was reported (${events.length} events)`);
  for (let i = 1; i < events.length; i++) {
    const [prev, cur] = [events[i - 1], events[i]];
    assert.ok(cur.overallReceived >= prev.overallReceived, `overall bytes went backwards at event ${i}`);
    if (cur.file === prev.file) assert.ok(cur.receivedBytes >= prev.receivedBytes, `file bytes went backwards at event ${i}`);
    if (cur.totalBytes !== undefined) assert.ok(cur.receivedBytes <= cur.totalBytes);
  }
  for (const event of events) if (event.overallTotal !== undefined) assert.equal(event.overallTotal, expectedTotal, `overallTotal while at ${event.file}`);
  const last = events[events.length - 1];
  assert.equal(last.receivedBytes, last.totalBytes);
  assert.equal(last.overallReceived, expectedTotal);
  assert.equal(last.overallTotal, expectedTotal);
}

describe('hub: downloads into the Hugging Face cache', () => {
  let cacheDir: string;
  let hub: FakeServer;
  let state: HubState;
  const servers: FakeServer[] = [];

  const start = async (repos: [string, FakeRepo][], cdn?: FakeServer): Promise<FakeServer> => {
    state = { repos: new Map(repos), cdnBase: cdn?.url };
    hub = await startServer(hubHandler(state));
    servers.push(hub);
    return hub;
  };
  const download = (repo: string, options: HubDownloadOptions = {}) => downloadHubModel(repo, { cacheDir, endpoint: hub.url, token: '', stallTimeoutMs: 5000, ...options });
  const repoDir = (repo: string) => join(cacheDir, `models--${repo.replace('/', '--')}`);

  // The library logs each download with console.debug.
  const debug = console.debug;
  before(() => {
    console.debug = () => undefined;
  });
  after(() => {
    console.debug = debug;
  });
  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'hf-cache-'));
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('puts a single-file model in the cache layout (refs, snapshots linking to blobs) and it loads', async () => {
    await start([['org/tiny', tinyRepo()]]);
    const events: HubDownloadProgress[] = [];
    const result = await download('org/tiny', { onProgress: (p) => events.push(p) });
    assert.equal(result.fromCache, false);
    assert.equal(result.folder, join(repoDir('org/tiny'), 'snapshots', COMMIT));
    assert.equal(await readFile(join(repoDir('org/tiny'), 'refs', 'main'), 'utf8'), COMMIT);
    // Only the files we read: no README, no pickle.
    assert.deepEqual(await tree(result.folder), ['config.json', 'model.safetensors', 'tokenizer.json']);
    const link = await readlink(join(result.folder, 'model.safetensors'));
    assert.equal(link, join('..', '..', 'blobs', sha256(MODEL_BYTES)));
    assert.deepEqual(await tree(join(repoDir('org/tiny'), 'blobs')), [gitOid(CONFIG_BYTES), gitOid(TOKENIZER_BYTES), sha256(MODEL_BYTES)].sort());
    assert.ok(!hub.requests.some((r) => r.path.includes('README') || r.path.includes('pytorch_model')), 'nothing else was fetched');
    checkProgress(events, CONFIG_BYTES.length + TOKENIZER_BYTES.length + MODEL_BYTES.length);
    assert.deepEqual([...new Set(events.map((e) => e.file))], ['config.json', 'tokenizer.json', 'model.safetensors']);
    const weights = await loadGpt2Folder(result.folder);
    const expected = await loadGpt2Folder(FIXTURE);
    assert.equal(weights.blocks.length, 2);
    assert.deepEqual(weights.blocks[1].fcWeight.data, expected.blocks[1].fcWeight.data);
    const listed = await listCachedModels(cacheDir);
    assert.deepEqual(listed.map((m) => [m.repoId, m.folder, m.usable]), [['org/tiny', result.folder, true]]);
  });

  it('a second call makes no request at all', async () => {
    await start([['org/tiny', tinyRepo()]]);
    await download('org/tiny');
    const before = hub.requests.length;
    const again = await download('org/tiny');
    assert.equal(again.fromCache, true);
    assert.equal(hub.requests.length, before);
    // Nor does it need the network: an endpoint nobody listens on works too.
    const offline = await downloadHubModel('org/tiny', { cacheDir, endpoint: 'http://127.0.0.1:9' });
    assert.equal(offline.folder, again.folder);
  });

  it('downloads a sharded model: the index, then every shard it names, with a correct overall total', async () => {
    const repo = await shardedRepo();
    await start([['org/sharded', repo]]);
    const events: HubDownloadProgress[] = [];
    const result = await download('org/sharded', { onProgress: (p) => events.push(p) });
    assert.deepEqual(await tree(result.folder), ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
    const total = [...repo.files.values()].reduce((n, b) => n + b.length, 0);
    checkProgress(events, total);
    assert.equal(events[0].file, 'model.safetensors.index.json');
    assert.equal(events[0].overallTotal, undefined, 'the total is unknown until the index is read');
    const weights = await loadModelFolder(result.folder);
    const expected = await loadModelFolder(FIXTURE);
    assert.equal(weights.layers.length, 2);
    assert.deepEqual(weights.tokenEmbedding.data, expected.tokenEmbedding.data);
    assert.deepEqual(weights.finalNorm, expected.finalNorm);
    const before = hub.requests.length;
    assert.equal((await download('org/sharded')).fromCache, true);
    assert.equal(hub.requests.length, before);
  });

  it('uses a cache filled by Python (symlinks into blobs) with no request, and lists it', async () => {
    const dir = repoDir('openai-community/gpt2');
    const commit = 'a'.repeat(40);
    await mkdir(join(dir, 'blobs'), { recursive: true });
    await mkdir(join(dir, 'snapshots', commit), { recursive: true });
    await mkdir(join(dir, 'refs'), { recursive: true });
    for (const [name, bytes, blob] of [
      ['config.json', CONFIG_BYTES, gitOid(CONFIG_BYTES)],
      ['tokenizer.json', TOKENIZER_BYTES, gitOid(TOKENIZER_BYTES)],
      ['model.safetensors', MODEL_BYTES, sha256(MODEL_BYTES)],
    ] as const) {
      await writeFile(join(dir, 'blobs', blob), bytes);
      await symlink(join('..', '..', 'blobs', blob), join(dir, 'snapshots', commit, name));
    }
    await writeFile(join(dir, 'refs', 'main'), commit);
    await start([]);
    const result = await download('openai-community/gpt2');
    assert.deepEqual(result, { folder: join(dir, 'snapshots', commit), fromCache: true });
    assert.equal(hub.requests.length, 0);
    assert.equal((await loadGpt2Folder(result.folder)).blocks.length, 2);
    const listed = await listCachedModels(cacheDir);
    assert.deepEqual(listed.map((m) => [m.repoId, m.folder, m.usable, m.sizeOnDisk]), [['openai-community/gpt2', result.folder, true, CONFIG_BYTES.length + TOKENIZER_BYTES.length + MODEL_BYTES.length]]);
    // A commit hash as the revision needs no ref.
    assert.equal((await download('openai-community/gpt2', { revision: commit })).folder, result.folder);
    assert.equal(hub.requests.length, 0);
  });

  it('a cached snapshot without its tokenizer fetches just the tokenizer; a repo without one is recorded as such (.no_exist), and then needs no request', async () => {
    await start([['org/tiny', tinyRepo()]]);
    const first = await download('org/tiny');
    // e.g. Python fetched the model but not its tokenizer
    await rm(join(first.folder, 'tokenizer.json'));
    await rm(join(repoDir('org/tiny'), 'blobs', gitOid(TOKENIZER_BYTES)));
    const before = hub.requests.length;
    const again = await download('org/tiny');
    assert.equal(again.fromCache, false);
    assert.ok(await isFile(join(again.folder, 'tokenizer.json')), 'the tokenizer was fetched');
    const fetched = hub.requests.slice(before).filter((r) => r.path.includes('/resolve/'));
    assert.ok(fetched.every((r) => r.path.endsWith('/tokenizer.json')), `only the tokenizer: ${fetched.map((r) => r.path).join(', ')}`);

    const repo = tinyRepo();
    repo.files.delete('tokenizer.json');
    state.repos.set('org/plain', repo);
    const plain = await download('org/plain');
    assert.ok(!(await isFile(join(plain.folder, 'tokenizer.json'))));
    assert.ok(await isFile(join(repoDir('org/plain'), '.no_exist', COMMIT, 'tokenizer.json')), "huggingface_hub's marker");
    const count = hub.requests.length;
    assert.deepEqual(await download('org/plain'), { folder: plain.folder, fromCache: true });
    assert.equal(hub.requests.length, count, 'no request once the repo is known to have no tokenizer');
  });

  it('offline (HF_HUB_OFFLINE), a snapshot without its tokenizer still serves token ids', async () => {
    await start([['org/tiny', tinyRepo()]]);
    const first = await download('org/tiny');
    await rm(join(first.folder, 'tokenizer.json'));
    const before = hub.requests.length;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      assert.deepEqual(await download('org/tiny'), { folder: first.folder, fromCache: true });
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
    assert.equal(hub.requests.length, before);
  });

  it('goes to the network when a cached snapshot lacks a file, and then fetches only what is missing', async () => {
    await start([['org/tiny', tinyRepo()]]);
    const first = await download('org/tiny');
    await rm(join(first.folder, 'model.safetensors'));
    await rm(join(repoDir('org/tiny'), 'blobs', sha256(MODEL_BYTES)));
    hub.requests.length = 0;
    const events: HubDownloadProgress[] = [];
    const again = await download('org/tiny', { onProgress: (p) => events.push(p) });
    assert.equal(again.fromCache, false);
    assert.ok(hub.requests.some((r) => r.path.includes('/resolve/') && r.path.endsWith('model.safetensors')));
    assert.ok(!hub.requests.some((r) => r.path.includes('/resolve/') && r.path.endsWith('config.json')), 'config.json was still there');
    checkProgress(events, MODEL_BYTES.length);
    assert.equal((await loadGpt2Folder(again.folder)).blocks.length, 2);
  });

  it('sends the token to the endpoint only, never to a CDN on another origin', async () => {
    const cdnState: HubState = { repos: new Map([['org/gated', tinyRepo()]]) };
    const cdn = await startServer(hubHandler(cdnState));
    servers.push(cdn);
    await start([['org/gated', tinyRepo({ gatedToken: 'hf_secret' })]], cdn);
    const result = await download('org/gated', { token: 'hf_secret' });
    assert.equal((await loadGpt2Folder(result.folder)).blocks.length, 2);
    assert.ok(cdn.requests.length > 0, 'the weights came from the CDN');
    assert.ok(cdn.requests.every((r) => r.authorization === undefined), 'no token to the CDN');
    assert.ok(hub.requests.every((r) => r.authorization === 'Bearer hf_secret'), 'the token on every endpoint request');
  });

  it('a gated model without access says to accept the licence and set HF_TOKEN', async () => {
    await start([['org/gated', tinyRepo({ gatedToken: 'hf_secret' })]]);
    const anonymous = await expectHubError(download('org/gated'), 'unauthorized', ['org/gated is gated', 'accept its licence', 'https://huggingface.co/org/gated', 'HF_TOKEN']);
    assert.equal(anonymous.status, 401);
    const wrong = await expectHubError(download('org/gated', { token: 'hf_other' }), 'unauthorized', ['refused (HTTP 403)', 'accept the licence', 'HF_TOKEN']);
    assert.equal(wrong.status, 403);
    assert.ok(!(await tree(cacheDir)).some((f) => f.includes('snapshots') && f.endsWith('model.safetensors')));
  });

  it('a missing repo or revision is not-found (also as the Hub\'s anonymous 401 RepoNotFound)', async () => {
    await start([['org/tiny', tinyRepo()]]);
    await expectHubError(download('org/nothing'), 'not-found', ['no model org/nothing', 'HF_TOKEN']);
    await expectHubError(download('org/nothing', { token: 'hf_x' }), 'not-found', ['no model org/nothing']);
    await expectHubError(download('org/tiny', { revision: 'v9' }), 'not-found', ['no revision v9']);
  });

  it('refuses a repo with only pickle/GGUF weights, naming what it has, without downloading them', async () => {
    const files = new Map<string, Uint8Array>([
      ['config.json', CONFIG_BYTES],
      ['pytorch_model.bin', Buffer.from('pickle')],
      ['model.gguf', Buffer.from('gguf')],
    ]);
    await start([['org/pickle', { files }]]);
    await expectHubError(download('org/pickle'), 'no-weights', ['org/pickle', 'pytorch_model.bin', 'model.gguf', 'safetensors']);
    assert.ok(!hub.requests.some((r) => r.path.includes('/resolve/')), 'no file was downloaded');
    const none = new Map<string, Uint8Array>([['config.json', CONFIG_BYTES]]);
    state.repos.set('org/none', { files: none });
    await expectHubError(download('org/none'), 'no-weights', ['no weight files']);
  });

  it('cancelling mid-download rejects with an abort error and leaves no partial file', async () => {
    await start([['org/tiny', tinyRepo({ behaviours: new Map([['model.safetensors', { kind: 'slow', chunk: 512, delayMs: 20 }]]) })]]);
    const controller = new AbortController();
    let error: unknown;
    try {
      await download('org/tiny', {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.file === 'model.safetensors' && p.receivedBytes >= 2048) controller.abort();
        },
      });
    } catch (e) {
      error = e;
    }
    assert.ok(isAbortError(error), `expected an abort error, got ${String(error)}`);
    assert.equal(errorKind(error), 'cancelled');
    const files = await tree(repoDir('org/tiny'));
    assert.ok(!files.some((f) => f.endsWith('.incomplete')), `no partial blob: ${files.join(', ')}`);
    assert.ok(!files.includes(`snapshots/${COMMIT}/model.safetensors`) && !files.includes(`blobs/${sha256(MODEL_BYTES)}`), 'no weights under a real name');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(hub.clientHungUp, 'the request was stopped');
    // A later call finishes the job.
    state.repos.get('org/tiny')?.behaviours?.clear();
    assert.equal((await loadGpt2Folder((await download('org/tiny')).folder)).blocks.length, 2);
  });

  it('an already-aborted signal makes no request', async () => {
    await start([['org/tiny', tinyRepo()]]);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(download('org/tiny', { signal: controller.signal }), (e: unknown) => isAbortError(e));
    assert.equal(hub.requests.length, 0);
  });

  it('a stalled body fails with a timeout and leaves no partial file', async () => {
    await start([['org/tiny', tinyRepo({ behaviours: new Map([['model.safetensors', { kind: 'stall', bytes: 100 }]]) })]]);
    const started = Date.now();
    await expectHubError(download('org/tiny', { stallTimeoutMs: 300 }), 'timeout', ['sent nothing for 300 ms']);
    assert.ok(Date.now() - started < 4000);
    assert.ok(!(await tree(repoDir('org/tiny'))).some((f) => f.endsWith('.incomplete') || f.endsWith('model.safetensors')));
  });

  it('a connection cut short is truncated; a wrong checksum is refused; both leave nothing behind', async () => {
    await start([['org/cut', tinyRepo({ behaviours: new Map([['model.safetensors', { kind: 'truncate', bytes: 1000 }]]) })]]);
    await expectHubError(download('org/cut'), 'truncated', ['model.safetensors', `received 1000 of ${MODEL_BYTES.length} bytes`]);
    state.repos.set('org/bad', tinyRepo({ wrongSha: true }));
    await expectHubError(download('org/bad'), 'checksum', ['SHA-256']);
    const files = await tree(cacheDir);
    assert.ok(!files.some((f) => f.endsWith('.incomplete') || f.endsWith('model.safetensors')), files.join(', '));
  });

  it('reads HF_ENDPOINT and HF_TOKEN when no endpoint or token is given', async () => {
    await start([['org/gated', tinyRepo({ gatedToken: 'hf_env' })]]);
    const saved = { endpoint: process.env.HF_ENDPOINT, token: process.env.HF_TOKEN };
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_TOKEN = 'hf_env';
    try {
      const result = await downloadHubModel('org/gated', { cacheDir });
      assert.equal((await loadGpt2Folder(result.folder)).blocks.length, 2);
      assert.ok(hub.requests.length > 0 && hub.requests.every((r) => r.authorization === 'Bearer hf_env'));
    } finally {
      for (const [name, value] of [['HF_ENDPOINT', saved.endpoint], ['HF_TOKEN', saved.token]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('a Hub that never answers times out', async () => {
    const silent = await startServer(() => undefined);
    servers.push(silent);
    hub = silent;
    await expectHubError(download('org/tiny', { stallTimeoutMs: 200 }), 'timeout', ['sent nothing for 200 ms', '/api/models/org/tiny']);
  });

  it('a Hub nobody answers on is a network error naming the host', async () => {
    await start([]);
    const port = new URL(hub.url).port;
    await hub.close();
    servers.length = 0;
    await expectHubError(download('org/tiny'), 'network', [`127.0.0.1:${port}`, 'connection refused']);
  });

  it('an invalid id or revision fails before any request', async () => {
    await start([['org/tiny', tinyRepo()]]);
    await expectHubError(download('https://huggingface.co/org/tiny'), 'invalid-repo', ['paste only the id']);
    await expectHubError(download('org/tiny', { revision: '../x' }), 'invalid-revision', []);
    assert.equal(hub.requests.length, 0);
  });
});

describe('hub: repo ids and revisions', () => {
  it('accepts Hub model ids and trims surrounding whitespace', () => {
    for (const id of ['gpt2', 'openai-community/gpt2', 'distilbert/distilgpt2', 'user_1/my.model-v2']) assert.equal(validateRepoId(id), id);
    assert.equal(validateRepoId('  openai-community/gpt2\n'), 'openai-community/gpt2');
  });

  it('rejects paths, URLs, spaces and other repo types with a message saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['a/b/c', /at most one "\/"/],
      ['/gpt2', /both parts/],
      ['open ai/gpt2', /space/],
      ['https://huggingface.co/openai-community/gpt2', /page address.*"openai-community\/gpt2"/],
      ['C:\\models\\gpt2', /not an address or a path/],
      ['a--b/gpt2', /"--"/],
      ['-gpt2', /start or end/],
      ['datasets/squad', /another kind of repository/],
    ];
    for (const [id, pattern] of cases) {
      assert.throws(
        () => validateRepoId(id),
        (error: unknown) => error instanceof HubError && error.kind === 'invalid-repo' && pattern.test(error.message),
        `${JSON.stringify(id)} should be rejected with ${pattern}`,
      );
    }
  });

  it('accepts branches, tags and commits; refuses what would leave refs/', () => {
    for (const r of ['main', 'v1.0', 'refs/pr/1', 'a'.repeat(40)]) assert.equal(validateRevision(r), r);
    for (const r of ['', '../x', 'a//b', 'x/.git', 'a b']) assert.throws(() => validateRevision(r), (e: unknown) => e instanceof HubError && e.kind === 'invalid-revision');
  });
});



