import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor } from '../../../src/engine/tensor';
import { parseSafetensors, readJsonFile, readSafetensorsFile, serializeSafetensors } from '../../../src/model';
import { assertModelErrorAsync, rawSafetensors, u16Bytes } from './helpers';

describe('readSafetensorsFile', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'attention-inspector-st-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads the same tensors and metadata as parsing the bytes', async () => {
    const bytes = rawSafetensors(
      {
        __metadata__: { format: 'pt' },
        half: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
        full: { dtype: 'F32', shape: [2], data_offsets: [6, 14] },
      },
      new Uint8Array([...u16Bytes([0x3c00, 0xc000, 0x0001]), ...new Uint8Array(new Float32Array([1.25, -3]).buffer)]),
    );
    const path = join(root, 'mixed.safetensors');
    await writeFile(path, bytes);
    const fromFile = await readSafetensorsFile(path);
    const fromBytes = parseSafetensors(bytes);
    assert.deepEqual(fromFile.metadata, { format: 'pt' });
    assert.deepEqual([...fromFile.tensors.keys()], ['half', 'full']);
    for (const [name, t] of fromBytes) {
      assert.deepEqual(fromFile.tensors.get(name)?.shape, t.shape);
      assert.deepEqual([...(fromFile.tensors.get(name)?.data ?? [])], [...t.data]);
    }
  });

  it('reads only the included tensors', async () => {
    const path = join(root, 'filter.safetensors');
    await writeFile(path, serializeSafetensors({ keep: tensor([2], [1, 2]), skip: tensor([3], [3, 4, 5]) }));
    const { tensors, skipped } = await readSafetensorsFile(path, { include: (name) => name === 'keep' });
    assert.deepEqual([...tensors.keys()], ['keep']);
    assert.deepEqual(skipped, ['skip']);
  });

  it('names the file for missing, truncated and corrupt files', async () => {
    const missing = join(root, 'missing.safetensors');
    const error = await assertModelErrorAsync(() => readSafetensorsFile(missing), ['missing.safetensors', 'file not found']);
    assert.equal(error.filePath, missing);

    const full = serializeSafetensors({ w: tensor([4], [1, 2, 3, 4]) });
    const truncated = join(root, 'truncated.safetensors');
    await writeFile(truncated, full.subarray(0, full.length - 3));
    await assertModelErrorAsync(() => readSafetensorsFile(truncated), ['truncated.safetensors', 'past the end of the data section'], 'w');

    const tiny = join(root, 'tiny.safetensors');
    await writeFile(tiny, new Uint8Array(5));
    await assertModelErrorAsync(() => readSafetensorsFile(tiny), ['tiny.safetensors', '5 bytes', 'too short']);

    await assertModelErrorAsync(() => readSafetensorsFile(root), ['folder']);
  });

  it('readJsonFile names the file on a syntax error', async () => {
    const path = join(root, 'bad.json');
    await writeFile(path, '{"a": 1,,}');
    await assertModelErrorAsync(() => readJsonFile(path), ['bad.json', 'invalid JSON']);
  });
});
