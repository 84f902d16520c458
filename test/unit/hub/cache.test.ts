/** The Hugging Face cache: where it is, and the models in it for "Choose Model…". */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCachedSnapshot, hubCacheDir, listCachedModels, repoOfSnapshot } from '../../../src/hub/cache';
import { gitOid, sha256 } from './fakeHub';

const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'gpt2-tiny');
const CONFIG_BYTES = readFileSync(join(FIXTURE, 'config.json'));
const MODEL_BYTES = readFileSync(join(FIXTURE, 'model.safetensors'));

/** A repo folder as Python's huggingface_hub writes it: blobs, relative links in snapshots/<commit>, refs. */
async function pythonRepo(cacheDir: string, folder: string, commit: string, files: Record<string, Uint8Array>, refs: Record<string, string> = { main: commit }): Promise<string> {
  const dir = join(cacheDir, folder);
  await mkdir(join(dir, 'blobs'), { recursive: true });
  await mkdir(join(dir, 'snapshots', commit), { recursive: true });
  for (const [name, bytes] of Object.entries(files)) {
    const blob = name.endsWith('.safetensors') ? sha256(bytes) : gitOid(bytes);
    await writeFile(join(dir, 'blobs', blob), bytes);
    await symlink(join('..', '..', 'blobs', blob), join(dir, 'snapshots', commit, name));
  }
  if (Object.keys(refs).length > 0) await mkdir(join(dir, 'refs'), { recursive: true });
  for (const [ref, target] of Object.entries(refs)) await writeFile(join(dir, 'refs', ref), target);
  return join(dir, 'snapshots', commit);
}

async function setUsed(cacheDir: string, folder: string, when: Date): Promise<void> {
  for (const blob of await readdir(join(cacheDir, folder, 'blobs'))) await utimes(join(cacheDir, folder, 'blobs', blob), when, when);
}

describe('hub: the Hugging Face cache', () => {
  let cacheDir: string;
  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'hf-cache-'));
  });
  afterEach(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('hubCacheDir: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub, as huggingface_hub resolves it', () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: '/x/hub', HF_HOME: '/y' }), '/x/hub');
    assert.equal(hubCacheDir({ HF_HOME: '/y' }), join('/y', 'hub'));
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/xdg' }), join('/xdg', 'huggingface', 'hub'));
    assert.equal(hubCacheDir({}), join(homedir(), '.cache', 'huggingface', 'hub'));
    assert.equal(hubCacheDir({ HF_HOME: '~/hf' }), join(homedir(), 'hf', 'hub'));
    assert.equal(hubCacheDir({ HF_HUB_CACHE: '', HF_HOME: '/y' }), join('/y', 'hub'), 'an empty variable counts as unset');
  });

  it('a missing cache folder lists nothing', async () => {
    assert.deepEqual(await listCachedModels(join(cacheDir, 'nope')), []);
  });

  it('lists models only, with their snapshot folder, size, last use and whether they load, most recent first', async () => {
    const tiny = await pythonRepo(cacheDir, 'models--openai-community--gpt2', 'a'.repeat(40), { 'config.json': CONFIG_BYTES, 'model.safetensors': MODEL_BYTES });
    const pickle = await pythonRepo(cacheDir, 'models--org--pickle', 'b'.repeat(40), { 'config.json': CONFIG_BYTES, 'pytorch_model.bin': Buffer.from('pickle') });
    await pythonRepo(cacheDir, 'datasets--org--data', 'c'.repeat(40), { 'data.csv': Buffer.from('a,b\n') });
    await mkdir(join(cacheDir, '.locks'), { recursive: true });
    await setUsed(cacheDir, 'models--openai-community--gpt2', new Date('2024-01-01'));
    await setUsed(cacheDir, 'models--org--pickle', new Date('2025-01-01'));

    const models = await listCachedModels(cacheDir);
    assert.deepEqual(
      models.map((m) => [m.repoId, m.folder, m.usable]),
      [
        ['org/pickle', pickle, false],
        ['openai-community/gpt2', tiny, true],
      ],
    );
    assert.equal(models[1].sizeOnDisk, CONFIG_BYTES.length + MODEL_BYTES.length);
    assert.equal(models[1].lastAccessed?.getTime(), new Date('2024-01-01').getTime());
  });

  it('prefers the snapshot refs/main points to over a newer one', async () => {
    const main = await pythonRepo(cacheDir, 'models--org--m', 'a'.repeat(40), { 'config.json': CONFIG_BYTES, 'model.safetensors': MODEL_BYTES }, { main: 'a'.repeat(40) });
    const newConfig = Buffer.concat([CONFIG_BYTES, Buffer.from(' ')]);
    const newer = await pythonRepo(cacheDir, 'models--org--m', 'b'.repeat(40), { 'config.json': newConfig }, { dev: 'b'.repeat(40) });
    await utimes(join(cacheDir, 'models--org--m', 'blobs', gitOid(newConfig)), new Date('2030-01-01'), new Date('2030-01-01'));
    const [model] = await listCachedModels(cacheDir);
    assert.equal(model.folder, main);
    assert.equal(model.usable, true);
    // Without refs/main, the newest snapshot.
    await rm(join(cacheDir, 'models--org--m', 'refs', 'main'));
    const [other] = await listCachedModels(cacheDir);
    assert.equal(other.folder, newer);
    assert.equal(other.usable, false);
  });

  it('still lists a model downloaded by commit (no refs/): its newest snapshot', async () => {
    const folder = await pythonRepo(cacheDir, 'models--gpt2', 'd'.repeat(40), { 'config.json': CONFIG_BYTES, 'model.safetensors': MODEL_BYTES }, {});
    const models = await listCachedModels(cacheDir);
    assert.deepEqual(
      models.map((m) => [m.repoId, m.folder, m.usable, m.sizeOnDisk]),
      [['gpt2', folder, true, CONFIG_BYTES.length + MODEL_BYTES.length]],
    );
  });

  it('findCachedSnapshot needs config.json and every weight file, through the links', async () => {
    const commit = 'e'.repeat(40);
    const folder = await pythonRepo(cacheDir, 'models--org--m', commit, { 'config.json': CONFIG_BYTES, 'model.safetensors': MODEL_BYTES });
    assert.equal(await findCachedSnapshot(cacheDir, 'org/m', 'main'), undefined, 'the tokenizer is not settled yet');
    assert.equal(await findCachedSnapshot(cacheDir, 'org/m', 'main', { tokenizer: false }), folder);
    await mkdir(join(cacheDir, 'models--org--m', '.no_exist', commit), { recursive: true });
    await writeFile(join(cacheDir, 'models--org--m', '.no_exist', commit, 'tokenizer.json'), '');
    assert.equal(await findCachedSnapshot(cacheDir, 'org/m', 'main'), folder, 'the repo has no tokenizer');
    assert.equal(await findCachedSnapshot(cacheDir, 'org/m', commit), folder);
    assert.equal(await findCachedSnapshot(cacheDir, 'org/m', 'dev'), undefined, 'no such ref');
    // A link to a deleted blob does not count.
    await rm(join(cacheDir, 'models--org--m', 'blobs', sha256(MODEL_BYTES)));
    assert.equal(await findCachedSnapshot(cacheDir, 'org/m', 'main'), undefined);
    // An index counts only with all its shards.
    await rm(join(folder, 'model.safetensors'));
    await writeFile(join(folder, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model-1.safetensors', b: 'model-2.safetensors' } }));
    await writeFile(join(folder, 'model-1.safetensors'), MODEL_BYTES);
    assert.equal(await findCachedSnapshot(cacheDir, 'org/m', 'main'), undefined);
    await writeFile(join(folder, 'model-2.safetensors'), MODEL_BYTES);
    assert.equal(await findCachedSnapshot(cacheDir, 'org/m', 'main'), folder);
  });

  it('repoOfSnapshot names a snapshot folder by its repo, and nothing else', () => {
    const commit = 'f'.repeat(40);
    assert.equal(repoOfSnapshot(join('/c', 'models--HuggingFaceTB--SmolLM2-135M', 'snapshots', commit)), 'HuggingFaceTB/SmolLM2-135M');
    assert.equal(repoOfSnapshot(`C:\\hf\\models--gpt2\\snapshots\\${commit}\\`), 'gpt2');
    assert.equal(repoOfSnapshot(join('/c', 'datasets--org--d', 'snapshots', commit)), undefined);
    assert.equal(repoOfSnapshot(join('/m', 'models--org--x', 'blobs', commit)), undefined);
    assert.equal(repoOfSnapshot('/home/me/SmolLM2-135M'), undefined);
  });
});
