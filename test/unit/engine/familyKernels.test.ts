import assert from 'node:assert/strict';
import { attentionFromProjections, expandKvHeads } from '../../../src/engine/attention';
import { erfc, geluErfInPlace, linear, linearTransposed, rmsNorm } from '../../../src/engine/kernels';
import { applyRotary, ropeInverseFrequencies, rotaryTable } from '../../../src/engine/rotary';
import { ShapeError, tensor } from '../../../src/engine/tensor';
import { assertClose } from '../helpers';

describe('kernels the model families add', () => {
  it('erfc and the exact GELU match reference values (erf from tables, PyTorch nn.GELU())', () => {
    // erf(x) to 10 digits (Abramowitz & Stegun, table 7.1).
    for (const [x, erf] of [[0, 0], [0.1, 0.1124629160], [0.5, 0.5204998778], [1, 0.8427007929], [2, 0.9953222650], [3, 0.9999779095]]) {
      assert.ok(Math.abs(1 - erfc(x) - erf) < 2e-7, `erf(${x})`);
      assert.ok(Math.abs(erfc(-x) - (1 + erf)) < 2e-7, `erfc(−${x})`);
    }
    // 0.5·x·(1 + math.erf(x/√2)) in Python's float64, what torch.nn.GELU() computes.
    const x = tensor([7], [-3, -1, -0.5, 0, 0.5, 1, 3]);
    assertClose(geluErfInPlace(x).data, [-0.0040496941, -0.1586552539, -0.1542687694, 0, 0.3457312306, 0.8413447461, 2.9959503059], 'gelu', 1e-6, 1e-9);
  });

  it('linearTransposed reads nn.Linear weights [out, in] as stored: the same as linear on the transpose', () => {
    const x = tensor([3, 4], Array.from({ length: 12 }, (_, i) => Math.sin(i)));
    const w = tensor([5, 4], Array.from({ length: 20 }, (_, i) => Math.cos(i))); // [out, in]
    const wT = tensor([4, 5], Array.from({ length: 20 }, (_, i) => w.data[(i % 5) * 4 + Math.floor(i / 5)])); // [in, out]
    const b = tensor([5], [1, 2, 3, 4, 5]);
    assertClose(linearTransposed(x, w, b).data, Array.from(linear(x, wT, b).data), 'x·Wᵀ + b');
    assert.throws(() => linearTransposed(x, wT, undefined, 'q_proj'), (e: unknown) => e instanceof ShapeError && /q_proj: inner dimensions differ: \[3, 4\] · \[4, 5\]ᵀ/.test(e.message));
  });

  it('rmsNorm divides by the root mean square and applies the gain', () => {
    const out = rmsNorm(tensor([1, 2], [3, 4]), tensor([2], [1, 2]), 0);
    const rms = Math.sqrt((9 + 16) / 2);
    assertClose(out.data, [3 / rms, (2 * 4) / rms], 'rmsNorm');
  });

  it('rotary turns dims k and k + r/2 of the first r dims by position · inv_freq[k], the rest pass', () => {
    const rope = { theta: 100, rotaryDims: 4, scaling: { type: 'default' } } as const;
    assertClose(ropeInverseFrequencies(rope), [1, 0.1], 'inv_freq = 100^(−2k/4)');
    const x = tensor([1, 2, 6], [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]); // [heads, n, headDim]
    const rotated = applyRotary(x, rotaryTable(rope, [0, 3]));
    assertClose(rotated.data.subarray(0, 6), [1, 2, 3, 4, 5, 6], 'position 0 stays');
    const [a0, a1] = [3 * 1, 3 * 0.1];
    assertClose(rotated.data.subarray(6), [1 * Math.cos(a0) - 3 * Math.sin(a0), 2 * Math.cos(a1) - 4 * Math.sin(a1), 3 * Math.cos(a0) + 1 * Math.sin(a0), 4 * Math.cos(a1) + 2 * Math.sin(a1), 5, 6], 'position 3');
    const llama3 = ropeInverseFrequencies({ theta: 500000, rotaryDims: 16, scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } });
    assertClose(llama3.subarray(0, 3), [1, 0.0794030092, 0.00470075387], 'kept, smoothed, divided (the fixture’s inv_freq)');
  });

  it('grouped KV heads: query head h reads KV head ⌊h / group⌋, and the result shows keys per query head', () => {
    const n = 3, headDim = 2;
    const q = tensor([n, 4 * headDim], Array.from({ length: n * 8 }, (_, i) => Math.sin(i + 1)));
    const kv = tensor([n, 2 * headDim], Array.from({ length: n * 4 }, (_, i) => Math.cos(i)));
    const r = attentionFromProjections(q, kv, kv, 4, { causal: true, kvHeads: 2 }).result;
    assert.deepEqual(r.kvHeadOf, [0, 0, 1, 1]);
    assert.deepEqual(r.keys.shape, [4, n, headDim]);
    assert.deepEqual([...r.keys.data.subarray(0, n * headDim)], [...r.keys.data.subarray(n * headDim, 2 * n * headDim)], 'heads 0 and 1 read the same keys');
    assert.deepEqual([...expandKvHeads(tensor([2, 1, 1], [7, 8]), [0, 0, 1, 1]).data], [7, 7, 8, 8]);
    assert.throws(() => attentionFromProjections(q, kv, kv, 4, { causal: true, kvHeads: 3 }), /heads 4 must be a positive multiple of kvHeads 3/);
    assert.throws(() => attentionFromProjections(q, q, q, 4, { causal: true, kvHeads: 2 }), /need \[3, 4\] for 2 KV heads; got \[3, 8\] and \[3, 8\]/);
  });

  it('a sliding window of W keeps W keys, itself included; it needs a causal mask', () => {
    const n = 6;
    const x = tensor([n, 2], Array.from({ length: 2 * n }, (_, i) => i / 10));
    const { attnScores, attnWeights } = attentionFromProjections(x, x, x, 1, { causal: true, window: 3 }).result;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const visible = j <= i && j > i - 3;
        assert.equal(attnScores.data[i * n + j] === -Infinity, !visible, `score ${i},${j}`);
        assert.equal(attnWeights.data[i * n + j] > 0, visible, `weight ${i},${j}`);
      }
    }
    assert.throws(() => attentionFromProjections(x, x, x, 1, { causal: false, window: 3 }), /a sliding window must be a positive integer on a causal mask/);
  });
});
