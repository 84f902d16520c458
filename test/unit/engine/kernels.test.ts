import assert from 'node:assert/strict';
import fc from 'fast-check';
import { add, addBiasInPlace, dot, geluInPlace, layerNorm, linear, linearTransposed, matmul, matmulInto, matmulTransposed, matmulTransposedInto, softmax, softmaxRowInPlace } from '../../../src/engine/kernels';
import { CancelledError } from '../../../src/errors';
import { ShapeError, tensor } from '../../../src/engine/tensor';
import { assertClose } from '../helpers';

function naiveMatmul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, p) => s + v * b[p][j], 0)));
}

const matrix = (rows: number, cols: number) =>
  fc.array(fc.array(fc.float({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true }), { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows });

describe('kernels', () => {
  describe('matmul', () => {
    it('matches a naive triple loop for every shape, including row counts that are not multiples of 4', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 6 }), fc.integer(), (m, k, n, seed) => {
          const rand = (i: number) => Math.sin(seed + i * 12.9898) * 3;
          const a = Array.from({ length: m }, (_, i) => Array.from({ length: k }, (_, j) => Math.fround(rand(i * 31 + j))));
          const b = Array.from({ length: k }, (_, i) => Array.from({ length: n }, (_, j) => Math.fround(rand(1000 + i * 17 + j))));
          const got = matmul(tensor([m, k], a.flat()), tensor([k, n], b.flat()));
          assert.deepEqual(got.shape, [m, n]);
          assertClose(got.data, naiveMatmul(a, b).flat(), 'matmul', 1e-5, 1e-5);
        }),
      );
    });

    it('matmulTransposed equals matmul with the transposed operand', () => {
      fc.assert(
        fc.property(matrix(3, 5), matrix(4, 5), (a, b) => {
          const bT = b[0].map((_, j) => b.map((r) => r[j]));
          const got = matmulTransposed(tensor([3, 5], a.flat()), tensor([4, 5], b.flat()));
          assertClose(got.data, naiveMatmul(a, bT).flat(), 'matmulTransposed', 1e-5, 1e-4);
        }),
      );
    });

    it('names the operation and both shapes on a mismatch', () => {
      assert.throws(() => matmul(tensor([2, 3]), tensor([4, 5]), 'queries'), (e: unknown) => {
        assert.ok(e instanceof ShapeError);
        assert.match(e.message, /^queries: .*\[2, 3\].*\[4, 5\]/);
        return true;
      });
      assert.throws(() => matmulTransposed(tensor([2, 3]), tensor([2, 4])), /matmulTransposed: .*\[2, 3\].*\[2, 4\]/);
      assert.throws(() => matmul(tensor([6]), tensor([6, 1])), /matmul: left operand must be 2-D, got \[6\]/);
      assert.throws(() => matmulInto(new Float32Array(3), new Float32Array(4), new Float32Array(4), 2, 2, 2), /matmulInto: A holds 3 values, \[2, 2\] needs 4/);
      assert.throws(() => matmulTransposedInto(new Float32Array(4), new Float32Array(4), new Float32Array(2), 2, 2, 2), /matmulTransposedInto: out holds 2 values, \[2, 2\] needs 4/);
    });

    it('dot handles lengths that are not multiples of 4', () => {
      const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7]);
      assert.equal(dot(x, 0, x, 0, 7), 140);
      assert.equal(dot(x, 2, x, 0, 3), 3 * 1 + 4 * 2 + 5 * 3);
    });
  });

  describe('softmax', () => {
    it('rows sum to 1 and keep their order', () => {
      fc.assert(
        fc.property(fc.array(fc.float({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 40 }), (row) => {
          const out = softmax(tensor([row.length], row)).data;
          const sum = out.reduce((s, v) => s + v, 0);
          assert.ok(Math.abs(sum - 1) < 1e-5, `sum ${sum}`);
          for (let i = 0; i < row.length; i++) for (let j = 0; j < row.length; j++) if (row[i] > row[j]) assert.ok(out[i] >= out[j]);
        }),
      );
    });

    it('does not overflow on huge logits', () => {
      const out = softmax(tensor([3], [1e30, 1e30, 0])).data;
      assert.ok(out.every((v) => Number.isFinite(v)));
      assertClose(out, [0.5, 0.5, 0], 'huge logits');
      const big = softmax(tensor([2], [1000, 999])).data;
      assertClose(big, [1 / (1 + Math.exp(-1)), Math.exp(-1) / (1 + Math.exp(-1))], 'gap of 1 at 1000');
    });

    it('underflows gracefully: a gap of 1e4 gives exactly one and zero', () => {
      assert.deepEqual(Array.from(softmax(tensor([2], [0, -1e4])).data), [1, 0]);
      const tiny = softmax(tensor([2], [-1e30, -1e30])).data;
      assert.deepEqual(Array.from(tiny), [0.5, 0.5]);
    });

    it('a fully masked row (all -Infinity) gives zeros, not NaN', () => {
      const data = Float32Array.from([-Infinity, -Infinity, -Infinity]);
      softmaxRowInPlace(data, 0, 3);
      assert.deepEqual(Array.from(data), [0, 0, 0]);
    });

    it('partially masked rows put no weight on -Infinity', () => {
      assert.deepEqual(Array.from(softmax(tensor([3], [2, -Infinity, 2])).data), [0.5, 0, 0.5]);
    });

    it('propagates NaN to the whole row, as PyTorch does', () => {
      const out = softmax(tensor([2, 3], [1, NaN, 2, 1, 2, 3])).data;
      assert.ok([0, 1, 2].every((j) => Number.isNaN(out[j])));
      assert.ok([3, 4, 5].every((j) => Number.isFinite(out[j])));
      assert.ok(softmax(tensor([2], [Infinity, 1])).data.every(Number.isNaN));
    });

    it('an empty row stays empty and a length-0 softmax does not throw', () => {
      const data = new Float32Array(0);
      softmaxRowInPlace(data, 0, 0);
      assert.equal(data.length, 0);
    });
  });

  describe('layerNorm, gelu, add, bias', () => {
    it('layerNorm normalises each row then scales and shifts', () => {
      const x = tensor([2, 4], [1, 2, 3, 4, -1, -1, -1, -1]);
      const out = layerNorm(x, tensor([4], [1, 1, 2, 2]), tensor([4], [0, 0, 0, 1]), 1e-5).data;
      const std = Math.sqrt(1.25 + 1e-5);
      assertClose(out.subarray(0, 4), [-1.5 / std, -0.5 / std, (2 * 0.5) / std, (2 * 1.5) / std + 1], 'row 0');
      assertClose(out.subarray(4), [0, 0, 0, 1], 'constant row');
      assert.throws(() => layerNorm(x, tensor([3]), tensor([4]), 1e-5), /layerNorm: .*\[2, 4\].*\[3\]/);
    });

    it('gelu uses the tanh form', () => {
      const out = geluInPlace(tensor([4], [0, 1, -1, 3])).data;
      const g = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
      assertClose(out, [0, g(1), g(-1), g(3)], 'gelu');
      assert.ok(Math.abs(out[1] - 0.841192) < 1e-5);
      const extremes = geluInPlace(tensor([4], [-1e4, 1e4, NaN, -30])).data;
      assert.equal(Math.abs(extremes[0]), 0, 'large negative inputs give 0, not NaN');
      assert.equal(extremes[1], 1e4);
      assert.ok(Number.isNaN(extremes[2]));
      assert.ok(Math.abs(extremes[3]) < 1e-30);
    });

    it('add and bias check shapes', () => {
      assert.deepEqual(Array.from(add(tensor([2], [1, 2]), tensor([2], [3, 4])).data), [4, 6]);
      assert.throws(() => add(tensor([2, 1]), tensor([1, 2])), /add: shapes differ: \[2, 1\] \+ \[1, 2\]/);
      assert.deepEqual(Array.from(addBiasInPlace(tensor([2, 2], [1, 1, 1, 1]), tensor([2], [1, 2])).data), [2, 3, 2, 3]);
      assert.throws(() => addBiasInPlace(tensor([2, 2]), tensor([3])), /addBias: bias \[3\] does not fit rows of \[2, 2\]/);
    });

    it('tensor() rejects data of the wrong length', () => {
      assert.throws(() => tensor([2, 3], [1, 2]), /tensor: shape \[2, 3\] needs 6 values but got 2/);
    });
  });

  describe('projections with a checkpoint', () => {
    const seeded = (size: number, seed: number) => Float32Array.from({ length: size }, (_, i) => Math.sin(seed + i * 0.7311) * 0.5);
    // Above the 2^28 multiply-adds of one block: 96·1024·3000 ≈ 2^28.1, so the products run in blocks.
    const [m, k, n] = [96, 1024, 3000];
    const x = tensor([m, k], seeded(m * k, 1));
    const bias = tensor([n], seeded(n, 3));

    it('linearTransposed in blocks of output columns gives the unsplit product bit for bit, and stops when the checkpoint throws', () => {
      const w = tensor([n, k], seeded(n * k, 2)); // nn.Linear's [out, in]: more outputs than rows, so columns split
      const whole = linearTransposed(x, w, bias, 'proj');
      let calls = 0;
      const blocked = linearTransposed(x, w, bias, 'proj', () => calls++);
      assert.ok(calls >= 1, `checkpoint called ${calls} times`);
      assert.deepEqual(blocked.shape, [m, n]);
      assert.ok(blocked.data.every((v, i) => Object.is(v, whole.data[i])), 'the blocked product differs from the whole one');
      assert.throws(() => linearTransposed(x, w, bias, 'proj', () => { throw new CancelledError(); }), CancelledError);
    });

    it('linear in blocks of rows gives the unsplit product bit for bit', () => {
      const xs = tensor([3000, 96], seeded(3000 * 96, 4));
      const w = tensor([96, 1024], seeded(96 * 1024, 5)); // [in, out]
      const whole = linear(xs, w, undefined, 'conv1d');
      let calls = 0;
      const blocked = linear(xs, w, undefined, 'conv1d', () => calls++);
      assert.ok(calls >= 1, `checkpoint called ${calls} times`);
      assert.ok(blocked.data.every((v, i) => Object.is(v, whole.data[i])), 'the blocked product differs from the whole one');
    });
  });
});
