/**
 * Rotary position embedding (RoPE) in Hugging Face's layout: within the first rotaryDims dims of a
 * head, dim k and dim k + rotaryDims/2 form a pair that turns by the angle position · inv_freq[k]
 * (rotate_half, not the interleaved pairs 2k, 2k+1 of Meta's original code). Angles and their cos/sin
 * are float64, so positions far into a long input keep their precision.
 */
import { expectShape, fmtShape, ShapeError, type Tensor } from './tensor';
import type { RopeConfig } from './types';

/** inv_freq[k] = theta^(−2k / rotaryDims) for k < rotaryDims/2, then the config's scaling. */
export function ropeInverseFrequencies(rope: RopeConfig): Float64Array {
  const { rotaryDims, theta, scaling } = rope;
  if (!Number.isInteger(rotaryDims) || rotaryDims < 2 || rotaryDims % 2 !== 0) {
    throw new ShapeError('rope', `rotary dims must be a positive even integer, got ${rotaryDims}`);
  }
  const half = rotaryDims / 2;
  const invFreq = new Float64Array(half);
  for (let k = 0; k < half; k++) invFreq[k] = 1 / theta ** ((2 * k) / rotaryDims);
  if (scaling.type === 'linear') {
    for (let k = 0; k < half; k++) invFreq[k] /= scaling.factor;
  } else if (scaling.type === 'llama3') {
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
    const lowFreqWavelen = originalMaxPositions / lowFreqFactor;
    const highFreqWavelen = originalMaxPositions / highFreqFactor;
    for (let k = 0; k < half; k++) {
      const wavelen = (2 * Math.PI) / invFreq[k];
      if (wavelen > lowFreqWavelen) invFreq[k] /= factor; // long wavelengths: stretched by factor
      else if (wavelen >= highFreqWavelen) {
        // In between: blend the stretched and the original frequency.
        const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        invFreq[k] = ((1 - smooth) * invFreq[k]) / factor + smooth * invFreq[k];
      }
    }
  }
  return invFreq;
}

/** cos and sin of every position's angles: angle[i, k] = positions[i] · inv_freq[k]. */
export interface RotaryTable {
  readonly rotaryDims: number;
  readonly n: number;
  readonly angles: Float64Array; // [n, rotaryDims/2]
  readonly cos: Float64Array; // [n, rotaryDims/2]
  readonly sin: Float64Array; // [n, rotaryDims/2]
}

export function rotaryTable(rope: RopeConfig, positions: ArrayLike<number>): RotaryTable {
  const invFreq = ropeInverseFrequencies(rope);
  const half = invFreq.length;
  const n = positions.length;
  const angles = new Float64Array(n * half); // [n, rotaryDims/2]
  const cos = new Float64Array(n * half);
  const sin = new Float64Array(n * half);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < half; k++) {
      const a = positions[i] * invFreq[k];
      angles[i * half + k] = a;
      cos[i * half + k] = Math.cos(a);
      sin[i * half + k] = Math.sin(a);
    }
  }
  return { rotaryDims: rope.rotaryDims, n, angles, cos, sin };
}

/**
 * Rotates queries or keys [heads, n, headDim] by their positions, into a new tensor:
 * x'[k] = x[k]·cos − x[k+r/2]·sin and x'[k+r/2] = x[k+r/2]·cos + x[k]·sin for k < r/2 (HF's
 * q·cos + rotate_half(q)·sin); dims from rotaryDims on pass through (partial rotary).
 */
export function applyRotary(x: Tensor, table: RotaryTable, op = 'rotary'): Tensor {
  expectShape(op, 'input', x, [-1, table.n, -1]);
  const [heads, n, headDim] = x.shape;
  const r = table.rotaryDims;
  if (r > headDim) throw new ShapeError(op, `rotary dims ${r} exceed the head size of ${fmtShape(x.shape)}`);
  const half = r / 2;
  const out = x.data.slice(); // [heads, n, headDim]
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const row = (h * n + i) * headDim;
      for (let k = 0; k < half; k++) {
        const c = table.cos[i * half + k];
        const s = table.sin[i * half + k];
        const a = x.data[row + k];
        const b = x.data[row + k + half];
        out[row + k] = a * c - b * s;
        out[row + k + half] = b * c + a * s;
      }
    }
  }
  return { shape: [heads, n, headDim], data: out }; // [heads, n, headDim]
}
