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

  it('reads F16 and BF16 straight into their float32 buffers: every bit pattern as the byte parser decodes it, at any offset', async () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    // A 1-byte U8 tensor first puts the 16-bit data at an odd offset of the data section.
    const bytes = rawSafetensors(
      {
        pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
        half: { dtype: 'F16', shape: [256, 256], data_offsets: [1, 131073] },
        brain: { dtype: 'BF16', shape: [65536], data_offsets: [131073, 262145] },
        empty: { dtype: 'BF16', shape: [0, 4], data_offsets: [262145, 262145] },
      },
      new Uint8Array([7, ...u16Bytes(all), ...u16Bytes(all)]),
    );
    const path = join(root, 'sixteen.safetensors');
    await writeFile(path, bytes);
    const include = (name: string) => name !== 'pad';
    const fromFile = await readSafetensorsFile(path, { include });
    const fromBytes = parseSafetensors(bytes, { include });
    for (const name of ['half', 'brain', 'empty']) {
      const a = fromFile.tensors.get(name)!;
      const b = fromBytes.get(name)!;
      assert.deepEqual(a.shape, b.shape, name);
      assert.deepEqual([...new Uint32Array(a.data.buffer, a.data.byteOffset, a.data.length)], [...new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length)], name);
      assert.equal(a.data.buffer.byteLength, a.data.length * 4, `${name} owns exactly its float32 buffer`);
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
