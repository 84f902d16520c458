/**
 * What an inspection may cost, estimated before anything is allocated, and the longest input that fits.
 * Every caller (CLI, worker, bench) cuts or refuses through these, so a limit means the same everywhere.
 */

/** Why an input was cut: the caller's token limit, the model's positions, or the memory budget. */
export type LimitReason = 'maxTokens' | 'nPositions' | 'memory';

export interface Truncation {
  /** Tokens the input had. */
  readonly totalTokens: number;
  /** Tokens inspected: the first `keptTokens` of them. */
  readonly keptTokens: number;
  /** The tightest limit, which decided `keptTokens`. */
  readonly reason: LimitReason;
}

/** The sizes the estimate needs; every model kind reports them. */
export interface ModelShape {
  readonly layers: number;
  readonly heads: number;
  readonly dModel: number;
  /** Width of the MLP's hidden layer (0 for attention-only models). */
  readonly mlpWidth: number;
  /** Longest input the model can take (Infinity when it has no learned positions). */
  readonly maxPositions: number;
  /** Vocabulary rows of the LM head (0 without one). */
  readonly vocabSize: number;
  /** Bytes the loaded weights take (float32). */
  readonly weightBytes: number;
}

/** Keep every layer's [heads, n, n] matrices, or only each layer's input and recompute on request. */
export type KeepMode = 'all' | 'inputs';

const F32 = 4;
// LM-head logits are computed in vocabulary blocks of this many rows (see gpt2.ts).
const VOCAB_BLOCK = 2048;

/**
 * Peak bytes of one inspection of n tokens, weights included: what is kept (every layer's weights and
 * scores, or every layer's input and one cached layer), one layer's working set (activations and the
 * attention matrices), one step trace (raw and scaled scores besides the kept ones), and one copy of a
 * layer's matrices in flight to a caller.
 */
export function inspectionBytes(shape: ModelShape, n: number, keep: KeepMode): number {
  const cells = shape.heads * n * n; // one [heads, n, n] tensor
  const kept = keep === 'all' ? shape.layers * cells * 2 * F32 : (shape.layers * n * shape.dModel + cells * 2) * F32;
  // x, normed, q|k|v, split q/k/v, context, concat, output, residual: ~12 rows of d; the MLP's hidden twice.
  const activations = n * (12 * shape.dModel + 2 * shape.mlpWidth) * F32;
  const working = cells * 2 * F32 + activations;
  const trace = cells * 2 * F32;
  const inFlight = cells * 2 * F32;
  const lmHead = shape.vocabSize ? (n * Math.min(VOCAB_BLOCK, shape.vocabSize) + shape.vocabSize) * F32 : 0;
  return shape.weightBytes + kept + working + trace + inFlight + lmHead;
}

/** The longest input (≥ 0) whose inspection fits in `budgetBytes`. */
export function maxTokensWithin(shape: ModelShape, budgetBytes: number, keep: KeepMode): number {
  if (inspectionBytes(shape, 1, keep) > budgetBytes) return 0;
  let lo = 1;
  let hi = 1;
  while (hi < 1 << 24 && inspectionBytes(shape, hi * 2, keep) <= budgetBytes) hi *= 2;
  hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (inspectionBytes(shape, mid, keep) <= budgetBytes) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface TokenLimits {
  /** The caller's limit (the extension's maxTokens setting, the CLI's --max-tokens). */
  readonly maxTokens: number;
  /** Bytes the whole inspection may take, weights included. */
  readonly memoryBudget: number;
  readonly keep: KeepMode;
}

/** How many of `total` tokens to inspect, and why fewer when fewer; null when all fit. */
export function limitTokens(shape: ModelShape, total: number, limits: TokenLimits): { kept: number; truncation: Truncation | null } {
  const candidates: [number, LimitReason][] = [
    [limits.maxTokens, 'maxTokens'],
    [shape.maxPositions, 'nPositions'],
    [maxTokensWithin(shape, limits.memoryBudget, limits.keep), 'memory'],
  ];
  let [kept, reason] = candidates[0];
  for (const [value, why] of candidates) if (value < kept) [kept, reason] = [value, why];
  if (total <= kept) return { kept: total, truncation: null };
  return { kept, truncation: { totalTokens: total, keptTokens: kept, reason } };
}
