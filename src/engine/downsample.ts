/** Summaries of attention matrices small enough to send for every layer and head at once. */

/** Block-mean downsampling of every [n, n] head of [heads, n, n] to at most side × side: [heads, side, side], for the layer × head grid. */
export function thumbnail(weights: Float32Array, heads: number, n: number, side: number): Float32Array {
  const s = Math.min(side, n);
  const out = new Float32Array(heads * s * s);
  for (let h = 0; h < heads; h++) {
    for (let bi = 0; bi < s; bi++) {
      const i0 = Math.floor((bi * n) / s), i1 = Math.floor(((bi + 1) * n) / s);
      for (let bj = 0; bj < s; bj++) {
        const j0 = Math.floor((bj * n) / s), j1 = Math.floor(((bj + 1) * n) / s);
        let sum = 0;
        for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) sum += weights[(h * n + i) * n + j];
        out[(h * s + bi) * s + bj] = sum / ((i1 - i0) * (j1 - j0));
      }
    }
  }
  return out;
}
