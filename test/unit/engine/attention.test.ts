import assert from 'node:assert/strict';
import fc from 'fast-check';
import { attentionFromProjections, mergeHeads, multiHeadAttention, splitHeads } from '../../../src/engine/attention';
import { matmulInto, matmulTransposedInto, softmaxRowInPlace } from '../../../src/engine/kernels';
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

describe('the attention core skips what the mask discards', () => {
  /**
   * The unskipped computation, as the engine did it before: every QKᵀ score, ÷√d_k, the mask, softmax
   * over the visible keys, and weights·V over all n keys (masked weights are 0).
   */
  function unskipped(q: Tensor, k: Tensor, v: Tensor, heads: number, kvHeads: number, causal: boolean, window: number | null) {
    const [n, qDim] = q.shape;
    const hd = qDim / heads;
    const split = (t: Tensor, h: number) => splitHeads(t, h).data;
    const qs = split(q, heads), ks = split(k, kvHeads), vs = split(v, kvHeads);
    const scores = new Float32Array(heads * n * n), weights = new Float32Array(heads * n * n), context = new Float32Array(heads * n * hd);
    const raw = new Float32Array(n * n);
    for (let h = 0; h < heads; h++) {
      const kv = Math.floor(h / (heads / kvHeads));
      matmulTransposedInto(qs.subarray(h * n * hd, (h + 1) * n * hd), ks.subarray(kv * n * hd, (kv + 1) * n * hd), raw, n, hd, n);
      for (let i = 0; i < n; i++) {
        const from = window === null ? 0 : Math.max(0, i - window + 1), to = causal ? i + 1 : n;
        const row = (h * n + i) * n;
        for (let j = 0; j < n; j++) scores[row + j] = j >= from && j < to ? raw[i * n + j] * (1 / Math.sqrt(hd)) : -Infinity;
        for (let j = from; j < to; j++) weights[row + j] = scores[row + j];
        softmaxRowInPlace(weights, row + from, to - from);
      }
      matmulInto(weights.subarray(h * n * n, (h + 1) * n * n), vs.subarray(kv * n * hd, (kv + 1) * n * hd), context.subarray(h * n * hd, (h + 1) * n * hd), n, n, hd);
    }
    return { scores, weights, context };
  }

  const same = (a: Float32Array, b: Float32Array, what: string) => {
    assert.equal(a.length, b.length, what);
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: index ${i} is ${a[i]}, unskipped ${b[i]}`);
  };

  const cases: [string, number, number, number, number, boolean, number | null][] = [
    // name, n, heads, kvHeads, headDim, causal, window
    ['causal, one block', 100, 2, 2, 16, true, null],
    ['causal, blocks of unequal keys', 300, 2, 2, 16, true, null],
    ['bidirectional, blocks', 260, 2, 1, 8, false, null],
    ['causal, grouped KV heads', 390, 4, 2, 64, true, null],
    ['sliding window shorter than a block', 300, 2, 1, 16, true, 5],
    ['sliding window whose first key passes a multiple of 256', 700, 2, 2, 32, true, 300],
  ];
  for (const [name, n, heads, kvHeads, hd, causal, window] of cases) {
    it(`${name} (n=${n}): scores, weights and context vectors are bit-identical to the unskipped products`, () => {
      const rng = new Xoshiro128(n + hd);
      const t = (cols: number) => tensor([n, cols], Array.from({ length: n * cols }, () => rng.normal()));
      const q = t(heads * hd), k = t(kvHeads * hd), v = t(kvHeads * hd);
      // Rows whose scores hold +∞ (a NaN row), −∞ and NaN, which softmax has rules for.
      q.data[3 * heads * hd] = Infinity;
      q.data[5 * heads * hd + 1] = -Infinity;
      q.data[150 * heads * hd + 2] = NaN;
      const want = unskipped(q, k, v, heads, kvHeads, causal, window);
      for (const trace of [false, true]) {
        const got = attentionFromProjections(q, k, v, heads, { causal, window, kvHeads, trace }).result;
        same(got.attnScores.data, want.scores, `scores (trace ${trace})`);
        same(got.attnWeights.data, want.weights, `weights (trace ${trace})`);
        same(got.contextVectors.data, want.context, `context (trace ${trace})`);
      }
    });
  }

  it('the trace still shows QKᵀ for masked cells as computed numbers', () => {
    const rng = new Xoshiro128(7);
    const n = 200, hd = 8;
    const t = () => tensor([n, hd], Array.from({ length: n * hd }, () => rng.normal()));
    const q = t(), k = t(), v = t();
    const { steps } = attentionFromProjections(q, k, v, 1, { causal: true, window: 10, trace: true });
    const raw = steps!.find((s) => s.id === 'rawScores')!.tensor.data;
    const full = new Float32Array(n * n);
    matmulTransposedInto(q.data, k.data, full, n, hd, n);
    same(raw, full, 'rawScores');
  });
});
