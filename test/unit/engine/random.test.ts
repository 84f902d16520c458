import assert from 'node:assert/strict';
import { inspect } from '../../../src/engine/inspection';
import { deriveSeed, randomMhaWeights, randomModelInput, sinusoidalPositions, tokenEmbedding, validateRandomConfig, Xoshiro128 } from '../../../src/engine/random';

describe('default random model', () => {
  it('xoshiro128** is deterministic and matches its reference output for a known state', () => {
    const a = new Xoshiro128(12345), b = new Xoshiro128(12345), c = new Xoshiro128(12346);
    const seqA = Array.from({ length: 8 }, () => a.nextUint32());
    assert.deepEqual(seqA, Array.from({ length: 8 }, () => b.nextUint32()));
    assert.notDeepEqual(seqA, Array.from({ length: 8 }, () => c.nextUint32()));
    assert.ok(seqA.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32));
  });

  it('draws uniform and normal values with the right moments', () => {
    const rng = new Xoshiro128(7);
    let sum = 0, sumSq = 0, maxU = 0;
    const count = 20000;
    for (let i = 0; i < count; i++) {
      const v = rng.normal();
      sum += v;
      sumSq += v * v;
      maxU = Math.max(maxU, Math.abs(rng.uniform(0.25)));
    }
    assert.ok(Math.abs(sum / count) < 0.03, `mean ${sum / count}`);
    assert.ok(Math.abs(sumSq / count - 1) < 0.05, `variance ${sumSq / count}`);
    assert.ok(maxU <= 0.25 && maxU > 0.24);
  });

  it('the same token gets the same embedding wherever it appears, and another seed changes it', () => {
    const x = randomModelInput([5, 9, 5], { dModel: 16, heads: 4, seed: 1, causal: true });
    const pos = sinusoidalPositions(3, 16);
    const emb = (i: number) => Array.from(x.data.subarray(i * 16, i * 16 + 16), (v, j) => v - pos.data[i * 16 + j]);
    assert.deepEqual(emb(0).map((v) => v.toFixed(5)), emb(2).map((v) => v.toFixed(5)));
    assert.notDeepEqual(emb(0), emb(1));
    assert.deepEqual(Array.from(tokenEmbedding(5, 16, 1)), Array.from(tokenEmbedding(5, 16, 1)));
    assert.notDeepEqual(Array.from(tokenEmbedding(5, 16, 1)), Array.from(tokenEmbedding(5, 16, 2)));
    assert.notEqual(deriveSeed(1, 1, 5), deriveSeed(1, 1, 6));
  });

  it('sinusoidal positions follow sin/cos of pos / 10000^(2i/d)', () => {
    const pe = sinusoidalPositions(4, 6).data;
    assert.equal(pe[0], 0);
    assert.equal(pe[1], 1);
    assert.ok(Math.abs(pe[6 * 3 + 2] - Math.sin(3 / Math.pow(10000, 2 / 6))) < 1e-6);
    assert.ok(Math.abs(pe[6 * 3 + 3] - Math.cos(3 / Math.pow(10000, 2 / 6))) < 1e-6);
  });

  it('weights are uniform in ±1/√d_model, like nn.Linear, and reproduce for a seed', () => {
    const config = { dModel: 64, heads: 4, seed: 42, causal: true };
    const w = randomMhaWeights(config);
    const bound = 1 / 8;
    for (const t of [w.wQuery, w.wKey, w.wValue, w.outProj, w.bQuery!, w.outProjBias!]) {
      assert.ok(t.data.every((v) => Math.abs(v) <= bound));
      assert.ok(t.data.some((v) => Math.abs(v) > bound * 0.9));
    }
    assert.deepEqual(randomMhaWeights(config).wKey.data, w.wKey.data);
    assert.notDeepEqual(randomMhaWeights({ ...config, seed: 43 }).wKey.data, w.wKey.data);
  });

  it('inspections are bit-identical for a seed and change with it', () => {
    const ids = [10, 20, 30, 20];
    const config = { dModel: 32, heads: 4, seed: 9, causal: false };
    const a = inspect(ids, { kind: 'random', config });
    const b = inspect(ids, { kind: 'random', config });
    assert.deepEqual(a.layer(0).attnWeights.data, b.layer(0).attnWeights.data);
    const c = inspect(ids, { kind: 'random', config: { ...config, seed: 10 } });
    assert.notDeepEqual(a.layer(0).attnWeights.data, c.layer(0).attnWeights.data);
    assert.equal(a.layers, 1);
    assert.equal(a.metrics[0].length, 4);
    assert.equal(a.perplexity, null);
  });

  it('rejects invalid settings with clear messages', () => {
    assert.throws(() => validateRandomConfig({ dModel: 0, heads: 1, seed: 1, causal: true }), /d_model must be an integer from 1 to 4096, got 0/);
    assert.throws(() => validateRandomConfig({ dModel: 10, heads: 4, seed: 1, causal: true }), /d_model 10 must be divisible by heads 4/);
    assert.throws(() => validateRandomConfig({ dModel: 8, heads: 2, seed: -1, causal: true }), /seed must be an integer/);
    assert.throws(() => validateRandomConfig({ dModel: 8.5, heads: 2, seed: 1, causal: true }), /d_model/);
  });
});
