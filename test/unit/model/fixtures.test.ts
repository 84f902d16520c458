/** Loads the PyTorch-generated files in test/fixtures (see test/fixtures/README.md). */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../../../src/engine/tensor';
import { gpt2TensorShapes, loadGpt2Folder, loadMhaStateDict, parseSafetensors, readSafetensors, readSafetensorsFile } from '../../../src/model';

const FIXTURES = join(__dirname, '..', '..', 'fixtures');

interface DtypeCase {
  readonly dtype: string;
  readonly shape: number[];
  readonly values: number[];
  readonly bits: string[];
}

describe('PyTorch fixtures', () => {
  it('dtypes.safetensors decodes bit-exactly to the float32 values torch produces', () => {
    const dir = join(FIXTURES, 'safetensors');
    const expected = JSON.parse(readFileSync(join(dir, 'dtypes.json'), 'utf8')) as { tensors: Record<string, DtypeCase> };
    const { tensors, metadata } = readSafetensors(readFileSync(join(dir, 'dtypes.safetensors')));
    assert.equal(metadata?.format, 'pt');
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(expected.tensors).sort());
    for (const [name, want] of Object.entries(expected.tensors)) {
      const got = tensors.get(name) as Tensor;
      assert.deepEqual(got.shape, want.shape, name);
      assert.equal(got.data.length, want.values.length, name);
      want.values.forEach((value, i) => {
        assert.ok(Object.is(got.data[i], value), `${name}[${i}] (${want.dtype} ${want.bits[i]}): got ${got.data[i]}, expected ${value}`);
      });
      // The decoded float32 bits match too (catches a wrong −0 or a flushed subnormal).
      const gotBits = new Uint32Array(got.data.buffer, got.data.byteOffset, got.data.length);
      const wantBits = new Uint32Array(Float32Array.from(want.values).buffer);
      assert.deepEqual([...gotBits], [...wantBits], name);
    }
  });

  describe('mha state dicts', () => {
    const mhaDir = join(FIXTURES, 'mha');
    for (const name of readdirSync(mhaDir)) {
      it(`"${name}" loads with the right layout`, () => {
        const expected = JSON.parse(readFileSync(join(mhaDir, name, 'expected.json'), 'utf8')) as { heads: number; d: number; n: number; bias: boolean };
        const stateDict = parseSafetensors(readFileSync(join(mhaDir, name, 'weights.safetensors')));
        const weights = loadMhaStateDict(stateDict, expected.heads);
        const d = expected.d;
        assert.equal(weights.dModel, d);
        assert.equal(weights.heads, expected.heads);
        assert.equal(weights.bQuery !== undefined, expected.bias);
        assert.equal(weights.outProjBias !== undefined, expected.bias);
        const inProj = stateDict.get('in_proj_weight') as Tensor;
        for (let i = 0; i < d; i++) {
          for (let j = 0; j < d; j++) {
            assert.equal(weights.wValue.data[i * d + j], inProj.data[(2 * d + j) * d + i]);
          }
        }
        if (expected.bias) assert.equal(weights.bKey?.data[0], stateDict.get('in_proj_bias')?.data[d]);
        const x = parseSafetensors(readFileSync(join(mhaDir, name, 'x.safetensors'))).get('x');
        assert.deepEqual(x?.shape, [expected.n, d]);
      });
    }
  });

  it('gpt2-tiny loads with shapes from its config, F16 wte decoded and the mask buffers skipped', async () => {
    const dir = join(FIXTURES, 'gpt2-tiny');
    const weights = await loadGpt2Folder(dir);
    const { config } = weights;
    assert.deepEqual(config, { nLayer: 2, nHead: 4, nEmbd: 16, nPositions: 64, vocabSize: 50257, layerNormEpsilon: 1e-5 });
    assert.deepEqual(weights.wte.shape, [50257, 16]);
    assert.deepEqual(weights.wpe.shape, [64, 16]);
    assert.equal(weights.blocks.length, 2);
    assert.deepEqual(weights.blocks[0].cAttnWeight.shape, [16, 48]);
    assert.deepEqual(weights.blocks[1].fcWeight.shape, [16, 64]);
    assert.deepEqual(weights.blocks[1].mlpProjWeight.shape, [64, 16]);
    assert.deepEqual(weights.lnF.bias.shape, [16]);

    // Same values as decoding the whole file in memory; the attention-mask buffers exist but are not loaded.
    const all = parseSafetensors(readFileSync(join(dir, 'model.safetensors')));
    assert.deepEqual([...weights.wte.data.subarray(0, 64)], [...(all.get('wte.weight') as Tensor).data.subarray(0, 64)]);
    assert.deepEqual(all.get('h.0.attn.bias')?.shape, [1, 1, 64, 64]);
    const loaded = await readSafetensorsFile(join(dir, 'model.safetensors'), { include: (n) => gpt2TensorShapes(config).has(n) });
    assert.equal(loaded.tensors.has('h.0.attn.bias'), false);
    assert.equal(loaded.tensors.size, gpt2TensorShapes(config).size);
    // Every wte value came from F16, so it must survive a round trip through float16 precision (11 significant bits).
    for (const value of weights.wte.data.subarray(0, 2000)) {
      const scaled = Math.abs(value) < 2 ** -14 ? value * 2 ** 24 : value / 2 ** (Math.floor(Math.log2(Math.abs(value))) - 10);
      assert.ok(Number.isInteger(scaled), `${value} is not an F16 value`);
    }
  });
});
