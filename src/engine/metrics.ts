import { expectShape, type Tensor } from './tensor';

/** Summary statistics of one head's attention pattern, each averaged over query rows. */
export interface HeadMetrics {
  /** Mean Shannon entropy of a row, in nats (0 = all weight on one key; ln(n) = uniform). */
  readonly entropy: number;
  /** Largest single weight anywhere in the head. */
  readonly maxWeight: number;
  /** Mean of Σ_j w_ij·|i − j|: how far, in tokens, a query looks on average. */
  readonly meanDistance: number;
  /** Mean weight on the first token (the "attention sink"). */
  readonly sinkMass: number;
  /** Mean weight a token puts on itself. */
  readonly diagonalMass: number;
  /** Mean weight on the immediately preceding token (rows i ≥ 1). */
  readonly previousTokenMass: number;
}

/** Metrics for every head of an attention-weight tensor [heads, n, n]. */
export function headMetrics(attnWeights: Tensor): HeadMetrics[] {
  expectShape('headMetrics', 'attention weights', attnWeights, [-1, -1, -1]);
  const [heads, n, n2] = attnWeights.shape;
  if (n !== n2) expectShape('headMetrics', 'attention weights', attnWeights, [heads, n, n]);
  const w = attnWeights.data;
  const out: HeadMetrics[] = [];
  for (let h = 0; h < heads; h++) {
    let entropy = 0, maxWeight = 0, distance = 0, sink = 0, diagonal = 0, previous = 0;
    for (let i = 0; i < n; i++) {
      const row = (h * n + i) * n;
      for (let j = 0; j < n; j++) {
        const p = w[row + j];
        // A zero weight (every masked key) adds nothing to any sum: skipping it changes no bit.
        if (p === 0) continue;
        if (p > 0) entropy -= p * Math.log(p);
        if (p > maxWeight) maxWeight = p;
        distance += p * Math.abs(i - j);
      }
      sink += w[row];
      diagonal += w[row + i];
      if (i > 0) previous += w[row + i - 1];
    }
    const rows = Math.max(1, n);
    out.push({
      entropy: entropy / rows,
      maxWeight,
      meanDistance: distance / rows,
      sinkMass: sink / rows,
      diagonalMass: diagonal / rows,
      previousTokenMass: n > 1 ? previous / (n - 1) : 0,
    });
  }
  return out;
}
