// Matrix helpers for the views: slicing heads, the mean over heads, colouring into RGBA. Pure (no DOM).
import { LUT_SIZE } from './colorScales';

/** The [n, n] block of head h in a [heads, n, n] tensor (a view, no copy). */
export function headSlice(data: Float32Array, head: number, n: number): Float32Array {
  return data.subarray(head * n * n, (head + 1) * n * n);
}

/** Mean over heads: [heads, n, n] → [n, n] (what the "Mean over heads" view shows). */
export function meanOverHeads(weights: Float32Array, heads: number, n: number): Float32Array {
  const size = n * n;
  const sum = new Float64Array(size);
  for (let h = 0; h < heads; h++) {
    const base = h * size;
    for (let i = 0; i < size; i++) sum[i] += weights[base + i];
  }
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = sum[i] / heads;
  return out;
}

/**
 * Masked cells of the mean view: a cell is masked when every head masks it (score −∞). Causal masks are
 * the same in every head, so this is the usual lower triangle.
 */
export function meanMask(scores: Float32Array, heads: number, n: number): Uint8Array {
  const size = n * n;
  const out = new Uint8Array(size).fill(1);
  for (let h = 0; h < heads; h++) {
    const base = h * size;
    for (let i = 0; i < size; i++) if (scores[base + i] !== -Infinity) out[i] = 0;
  }
  return out;
}

/** Largest finite value (0 for an empty or all-NaN array). */
export function maxFinite(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v > max && v !== Infinity) max = v;
  }
  return max;
}

/** Anything a heatmap draws: an [n, n] matrix of weights with its mask. */
export interface HeatmapMatrix {
  readonly n: number;
  /** Row-major [n, n] weights (query rows, key columns). */
  readonly weights: Float32Array;
  /** The head's scaled scores [n, n] (masked = −∞), or null for the mean over heads. */
  readonly scores: Float32Array | null;
  /** 1 where the cell is masked. */
  readonly mask: Uint8Array;
  /** The sliding window the mask shows (causal models with one), else null. */
  readonly window: number | null;
  /** Largest weight. */
  readonly max: number;
  /**
   * Where the colour scale ends: max for most matrices; for long inputs, where a few weights near 1 (the
   * first rows of a causal model) would leave everything else dark, the 99.5th percentile (larger
   * weights get the top colour; the legend says so).
   */
  readonly top: number;
}

/**
 * The colour scale's top for these weights: the `q` quantile of the unmasked values (from a histogram,
 * O(n²)), or `max` itself when the quantile is within 10% of it or there are few cells.
 */
export function colorTop(values: ArrayLike<number>, mask: ArrayLike<number> | null, max: number, q = 0.995): number {
  if (!(max > 0)) return max > 0 ? max : 1;
  const bins = 2048;
  const hist = new Uint32Array(bins);
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (mask && mask[i]) continue;
    const v = values[i];
    if (!(v >= 0)) continue;
    hist[Math.min(bins - 1, Math.floor((v / max) * bins))]++;
    count++;
  }
  if (count < 400) return max;
  const want = q * count;
  let seen = 0;
  for (let b = 0; b < bins; b++) {
    seen += hist[b];
    if (seen >= want) {
      const top = ((b + 1) / bins) * max;
      return top >= 0.9 * max ? max : top;
    }
  }
  return max;
}

/**
 * Colours an [rows, cols] matrix into RGBA bytes, one pixel per cell: value / max through the lookup
 * table; masked cells are left transparent (the view paints a hatch beneath); NaN gets `nanRgba`.
 */
export function colorize(
  out: Uint8ClampedArray,
  values: ArrayLike<number>,
  mask: ArrayLike<number> | null,
  lut: Uint8ClampedArray,
  max: number,
  nanRgba: readonly [number, number, number, number] = [255, 0, 255, 255],
): void {
  const scale = max > 0 ? 1 / max : 0;
  const top = LUT_SIZE - 1;
  for (let i = 0, p = 0; i < values.length; i++, p += 4) {
    if (mask && mask[i]) {
      out[p + 3] = 0;
      continue;
    }
    const v = values[i];
    if (Number.isNaN(v)) {
      out[p] = nanRgba[0];
      out[p + 1] = nanRgba[1];
      out[p + 2] = nanRgba[2];
      out[p + 3] = nanRgba[3];
      continue;
    }
    let idx = Math.floor(v * scale * LUT_SIZE);
    if (!(idx > 0)) idx = 0;
    else if (idx > top) idx = top;
    out[p] = lut[idx * 3];
    out[p + 1] = lut[idx * 3 + 1];
    out[p + 2] = lut[idx * 3 + 2];
    out[p + 3] = 255;
  }
}

/** Fully masked blocks of a causal model's thumbnail (every key after every query of the block). */
export function maskedBlocks(n: number, side: number): Uint8Array {
  const s = Math.min(side, n);
  const out = new Uint8Array(s * s);
  for (let bi = 0; bi < s; bi++) {
    const lastQuery = Math.floor(((bi + 1) * n) / s) - 1;
    for (let bj = 0; bj < s; bj++) if (Math.floor((bj * n) / s) > lastQuery) out[bi * s + bj] = 1;
  }
  return out;
}

/**
 * The sliding window an [n, n] mask shows: query n−1 sees only keys n − window … n − 1. Null when the last
 * row sees every key before it (no window, or one wider than the input).
 */
export function windowOfMask(mask: ArrayLike<number>, n: number): number | null {
  if (n < 2) return null;
  const base = (n - 1) * n;
  let from = 0;
  while (from < n && mask[base + from]) from++;
  return from > 0 && from < n ? n - from : null;
}

/**
 * Masked blocks of one layer's thumbnails [heads, side, side] for a causal model: every key after every
 * query of the block, and blocks that are 0 in every head (a sliding window's far past: a block of
 * visible keys is never exactly 0 in all heads).
 */
export function maskedLayerBlocks(n: number, side: number, layerThumbs: Float32Array, heads: number): Uint8Array {
  const out = maskedBlocks(n, side);
  const size = out.length;
  for (let i = 0; i < size; i++) {
    if (out[i]) continue;
    let zero = true;
    for (let h = 0; h < heads && zero; h++) if (layerThumbs[h * size + i] !== 0) zero = false;
    if (zero) out[i] = 1;
  }
  return out;
}
