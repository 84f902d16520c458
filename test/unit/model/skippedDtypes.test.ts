import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensorsHeader, readSafetensors, readSafetensorsFile } from '../../../src/model';
import { assertModelError, assertModelErrorAsync, concatBytes, f32Bytes, rawSafetensors } from './helpers';

// A checkpoint's buffers as old transformers saved them: a BOOL causal mask and I64 position ids beside the weights.
const HEADER = {
  'attention.bias': { dtype: 'BOOL', shape: [2, 2], data_offsets: [0, 4] },
  'embeddings.position_ids': { dtype: 'I64', shape: [1, 2], data_offsets: [4, 20] },
  weight: { dtype: 'F32', shape: [2], data_offsets: [20, 28] },
};
const DATA = concatBytes(new Uint8Array([1, 0, 1, 1]), new Uint8Array(16), f32Bytes([1.5, -2]));
const onlyWeight = (name: string) => name === 'weight';

describe('safetensors: tensors left out are decided before their dtype', () => {
  it('skips BOOL and I64 buffers that are not needed, and still decodes the weights', () => {
    const { tensors } = readSafetensors(rawSafetensors(HEADER, DATA), { include: onlyWeight });
    assert.deepEqual([...tensors.keys()], ['weight']);
    assert.deepEqual([...tensors.get('weight')!.data], [1.5, -2]);
    const header = parseSafetensorsHeader(new TextEncoder().encode(JSON.stringify(HEADER)), DATA.length, onlyWeight);
    assert.deepEqual(header.skipped.map((e) => [e.name, e.dtype]), [['attention.bias', 'BOOL'], ['embeddings.position_ids', 'I64']]);
  });

  it('still refuses a needed tensor of such a dtype, by name', () => {
    assertModelError(() => readSafetensors(rawSafetensors(HEADER, DATA)), ['unsupported dtype "BOOL"'], 'attention.bias');
    assertModelError(() => readSafetensors(rawSafetensors(HEADER, DATA), { include: (n) => n !== 'attention.bias' }), ['unsupported dtype "I64"'], 'embeddings.position_ids');
  });

  it('still checks a skipped tensor against its byte range and the data section', () => {
    const wrongSize = { ...HEADER, 'embeddings.position_ids': { dtype: 'I64', shape: [1, 3], data_offsets: [4, 20] } };
    assertModelError(() => readSafetensors(rawSafetensors(wrongSize, DATA), { include: onlyWeight }), ['shape [1, 3] of I64 needs 24 bytes'], 'embeddings.position_ids');
    const pastTheEnd = { ...HEADER, weight: { dtype: 'F32', shape: [2], data_offsets: [20, 28] }, 'attention.bias': { dtype: 'BOOL', shape: [2, 2], data_offsets: [0, 40] } };
    assertModelError(() => readSafetensors(rawSafetensors(pastTheEnd, DATA), { include: onlyWeight }), ['run past the end of the data section'], 'attention.bias');
  });

  it('reads a file with such buffers through readSafetensorsFile', async () => {
    const root = await mkdtemp(join(tmpdir(), 'attention-inspector-skip-'));
    try {
      const path = join(root, 'buffers.safetensors');
      await writeFile(path, rawSafetensors(HEADER, DATA));
      const { tensors, skipped } = await readSafetensorsFile(path, { include: onlyWeight });
      assert.deepEqual([...tensors.keys()], ['weight']);
      assert.deepEqual(skipped, ['attention.bias', 'embeddings.position_ids']);
      await assertModelErrorAsync(() => readSafetensorsFile(path), ['buffers.safetensors', 'unsupported dtype "BOOL"'], 'attention.bias');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
