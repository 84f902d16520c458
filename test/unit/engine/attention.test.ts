import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mergeHeads, multiHeadAttention, splitHeads } from '../../../src/engine/attention';
import { randomMhaWeights, randomModelInput, Xoshiro128 } from '../../../src/engine/random';
import { ShapeError, tensor, type Tensor } from '../../../src/engine/tensor';
import type { MhaWeights } from '../../../src/engine/types';
import { traceStepText } from '../../../src/present/steps';
import { CancelledError } from '../../../src/errors';
import { assertClose } from '../helpers';

/** The lecture's loop, one head and one query at a time, in float64: the slow, obvious reference. */
function naiveMha(x: number[][], w: MhaWeights, causal: boolean) {
  const d = w.dModel;
  const hd = d / w.heads;
  const proj = (m: Tensor, b: Tensor | undefined) =>
    x.map((row) => Array.from({ length: d }, (_, c) => row.reduce((s, v, r) => s + v * m.data[r * d + c], b ? b.data[c] : 0)));
  const Q = proj(w.wQuery, w.bQuery), K = proj(w.wKey, w.bKey), V = proj(w.wValue, w.bValue);
  const n = x.length;
  const scores: number[] = [], weights: number[] = [], concat = x.map(() => new Array<number>(d).fill(0));
  for (let h = 0; h < w.heads; h++) {
    for (let i = 0; i < n; i++) {
      const row: number[] = [];
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < hd; c++) s += Q[i][h * hd + c] * K[j][h * hd + c];
        row.push(causal && j > i ? -Infinity : s / Math.sqrt(hd));
      }
      const max = Math.max(...row);
      const exps = row.map((s) => Math.exp(s - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      const p = exps.map((e) => e / sum);
      scores.push(...row);
      weights.push(...p);
      for (let c = 0; c < hd; c++) concat[i][h * hd + c] = p.reduce((s, pj, j) => s + pj * V[j][h * hd + c], 0);
    }
  }
  const output = concat.map((row) => Array.from({ length: d }, (_, c) => row.reduce((s, v, r) => s + v * w.outProj.data[r * d + c], w.outProjBias ? w.outProjBias.data[c] : 0)));
  return { scores, weights, output: output.flat() };
}

function randomCase(n: number, dModel: number, heads: number, seed: number) {
  const rng = new Xoshiro128(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: dModel }, () => Math.fround(rng.normal())));
  return { x, weights: randomMhaWeights({ dModel, heads, seed, causal: false }) };
}

describe('multiHeadAttention', () => {
  it('the batched path equals a naive per-head loop (random shapes, causal and not)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom([4, 1], [4, 2], [8, 4], [12, 3], [6, 6]),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (n, [dModel, heads], causal, seed) => {
          const { x, weights } = randomCase(n, dModel, heads, seed);
          const got = multiHeadAttention(tensor([n, dModel], x.flat()), weights, { causal });
          const want = naiveMha(x, weights, causal);
          assertClose(got.attnScores.data, want.scores, 'scores');
          assertClose(got.attnWeights.data, want.weights, 'weights');
          assertClose(got.output.data, want.output, 'output', 1e-4, 1e-5);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rows of the weights sum to 1 and masked entries are exactly 0 with score -Infinity', () => {
    const { x, weights } = randomCase(7, 8, 2, 3);
    const r = multiHeadAttention(tensor([7, 8], x.flat()), weights, { causal: true });
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < 7; i++) {
        let sum = 0;
        for (let j = 0; j < 7; j++) {
          const idx = (h * 7 + i) * 7 + j;
          sum += r.attnWeights.data[idx];
          if (j > i) {
            assert.equal(r.attnWeights.data[idx], 0);
            assert.equal(r.attnScores.data[idx], -Infinity);
          } else assert.ok(Number.isFinite(r.attnScores.data[idx]));
        }
        assert.ok(Math.abs(sum - 1) < 1e-6);
      }
    }
  });

  it('returns per-head tensors with the documented shapes', () => {
    const { x, weights } = randomCase(5, 12, 3, 9);
    const r = multiHeadAttention(tensor([5, 12], x.flat()), weights, { causal: false });
    assert.deepEqual([r.n, r.heads, r.headDim, r.dModel], [5, 3, 4, 12]);
    assert.deepEqual(r.queries.shape, [3, 5, 4]);
    assert.deepEqual(r.attnScores.shape, [3, 5, 5]);
    assert.deepEqual(r.contextVectors.shape, [3, 5, 4]);
    assert.deepEqual(r.output.shape, [5, 12]);
    assert.equal(r.trace, undefined);
  });

  it('the step trace has every step of the lecture, consistent with the result', () => {
    const { x, weights } = randomCase(4, 8, 2, 5);
    const r = multiHeadAttention(tensor([4, 8], x.flat()), weights, { causal: true, trace: true });
    const ids = r.trace!.map((s) => s.id);
    assert.deepEqual(ids, ['x', 'wQuery', 'wKey', 'wValue', 'queries', 'keys', 'values', 'rawScores', 'scaledScores', 'maskedScores', 'attnWeights', 'contextVectors', 'concat', 'outProj', 'output']);
    const byId = Object.fromEntries(r.trace!.map((s) => [s.id, s]));
    assert.ok(traceStepText(byId.scaledScores, 1).formula.includes('√4'));
    assert.match(traceStepText(byId.maskedScores, 1).formula, /j > i \(head 1\)/);
    // ÷√d_k really is QKᵀ divided by 2 (headDim 4), and masking only touches j > i.
    for (let idx = 0; idx < 2 * 16; idx++) {
      assert.ok(Math.abs(byId.scaledScores.tensor.data[idx] - byId.rawScores.tensor.data[idx] / 2) < 1e-6);
      const i = Math.floor(idx / 4) % 4, j = idx % 4;
      assert.equal(byId.maskedScores.tensor.data[idx], j > i ? -Infinity : byId.scaledScores.tensor.data[idx]);
    }
    assert.equal(byId.attnWeights.tensor, r.attnWeights);
    assert.equal(byId.output.tensor, r.output);
    assert.ok(r.trace!.every((s) => traceStepText(s).title && traceStepText(s).explanation));
    const unmasked = multiHeadAttention(tensor([4, 8], x.flat()), weights, { causal: false, trace: true });
    assert.equal(traceStepText(unmasked.trace!.find((s) => s.id === 'maskedScores')!).formula, 'no mask');
  });

  it('splitHeads and mergeHeads are inverses', () => {
    const x = tensor([3, 6], Array.from({ length: 18 }, (_, i) => i));
    const split = splitHeads(x, 3);
    assert.deepEqual(split.shape, [3, 3, 2]);
    assert.deepEqual(Array.from(split.data.subarray(0, 6)), [0, 1, 6, 7, 12, 13]);
    assert.deepEqual(Array.from(mergeHeads(split).data), Array.from(x.data));
  });

  it('gives clear errors for bad shapes and head counts', () => {
    const w = randomMhaWeights({ dModel: 8, heads: 2, seed: 1, causal: false });
    assert.throws(() => multiHeadAttention(tensor([3, 6]), w, { causal: false }), /multiHeadAttention: X has shape \[3, 6\] but the weights expect d_model 8/);
    assert.throws(() => multiHeadAttention(tensor([3, 8]), { ...w, heads: 3 }, { causal: false }), /d_model 8 must be divisible by heads 3/);
    assert.throws(() => multiHeadAttention(tensor([3, 8]), { ...w, heads: 0 }, { causal: false }), /heads must be a positive integer, got 0/);
    assert.throws(() => multiHeadAttention(tensor([3, 8]), { ...w, wKey: tensor([8, 4]) }, { causal: false }), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, /W_key has shape \[8, 4\], expected \[8, 8\]/);
      return true;
    });
    assert.throws(() => multiHeadAttention(tensor([3, 8]), { ...w, bQuery: tensor([7]) }, { causal: false }), /b_query has shape \[7\], expected \[8\]/);
    assert.throws(() => multiHeadAttention(tensor([24]), w, { causal: false }), /X has shape \[24\], expected \[\*, \*\]/);
  });

  it('one token attends to itself with weight 1', () => {
    const x = randomModelInput([7], { dModel: 8, heads: 2, seed: 1, causal: true });
    const r = multiHeadAttention(x, randomMhaWeights({ dModel: 8, heads: 2, seed: 1, causal: true }), { causal: true });
    assert.deepEqual(Array.from(r.attnWeights.data), [1, 1]);
  });
});

describe('cancellation checkpoints', () => {
  it('checking for cancellation in row blocks changes no number, and a throwing checkpoint stops the work', () => {
    const n = 1500;
    for (const causal of [true, false]) {
      const config = { dModel: 256, heads: 2, seed: 3, causal };
      const x = randomModelInput(Array.from({ length: n }, (_, i) => i % 97), config);
      const w = randomMhaWeights(config);
      const plain = multiHeadAttention(x, w, { causal });
      let calls = 0;
      const blocked = multiHeadAttention(x, w, { causal, checkpoint: () => calls++ });
      // Each head's scores alone are 1500²·128 multiply-adds: several blocks of 2^26.
      assert.ok(calls > 2 * 2 * 3, `checkpoint called ${calls} times`);
      for (const key of ['attnScores', 'attnWeights', 'contextVectors', 'output'] as const) {
        assert.ok(plain[key].data.every((v, i) => Object.is(v, blocked[key].data[i])), `${key} (causal ${causal}) differs`);
      }
      let left = 5;
      assert.throws(
        () => multiHeadAttention(x, w, { causal, checkpoint: () => { if (--left === 0) throw new CancelledError(); } }),
        CancelledError,
      );
    }
  });
});
