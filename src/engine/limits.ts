/**
 * What an inspection may cost, estimated before anything is allocated, and the longest input that fits.
 * Every caller (CLI, worker, bench) cuts or refuses through these, so a limit means the same everywhere.
 */
import { VOCAB_BLOCK } from './transformer';
import type { TransformerConfig } from './types';

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

/**
 * The sizes the estimate needs; every model kind reports them. The transformer's own sizes mean what
 * they mean in its config (mlpWidth is 0 for the attention-only random model).
 */
export interface ModelShape extends Pick<TransformerConfig, 'layers' | 'heads' | 'kvHeads' | 'headDim' | 'dModel' | 'mlpWidth'> {
  /** A gated MLP (SwiGLU) holds three hidden-width activations at once, a plain one two. */
  readonly gatedMlp?: boolean;
  /** Longest input the model can take (Infinity for the random model). */
  readonly maxPositions: number;
  /** Vocabulary rows of the LM head (0 without one). */
  readonly vocabSize: number;
  /** Bytes the loaded weights take (float32). */
  readonly weightBytes: number;
}

/** Keep every layer's [heads, n, n] matrices, or only each layer's input and recompute on request. */
export type KeepMode = 'all' | 'inputs';

const F32 = 4;

/** What the caller will ask of an inspection besides running it. */
export interface Usage {
  readonly keep: KeepMode;
  /** A step trace may be asked for (the extension): it recomputes a layer with two more [heads, n, n] tensors. */
  readonly trace: boolean;
  /** A layer's matrices are copied to send them elsewhere (the worker to the extension host). */
  readonly transfer: boolean;
}

/** The runtime itself (V8, the kernels, tokens and bookkeeping), whatever the input. */
const BASELINE_BYTES = 64 * 1024 * 1024;

/**
 * Buffers already dropped that V8 has not collected yet: it collects when external memory has grown by
 * about 64 MiB since the last collection, so up to that much lingers (never more than a layer's own
 * transient buffers). Measured with the bench's 0.5B case, the peak otherwise exceeds the estimate by that.
 */
const GC_SLACK_BYTES = 64 * 1024 * 1024;

/**
 * Peak bytes of one inspection of n tokens, weights included: each layer's input; the attention
 * matrices (every layer's with keep 'all', else the one layer being computed or cached); a layer's
 * activations; a step trace's recomputed layer; a layer copied for transfer; the LM head's blocks;
 * garbage not yet collected.
 */
export function inspectionBytes(shape: ModelShape, n: number, usage: Usage): number {
  const matrices = shape.heads * n * n * 2 * F32; // weights and scores, [heads, n, n] each
  const inputs = shape.layers * n * shape.dModel * F32;
  const attention = (usage.keep === 'all' ? shape.layers : 1) * matrices;
  // ~6 rows of d (x, normed, output, residuals); queries projected and split (2 rows of heads·headDim);
  // keys and values projected and split (4 of kvHeads·headDim), and copied per query head under
  // grouped-query attention (2 more of heads·headDim); the MLP's hidden twice, three times when gated.
  const qDim = shape.heads * shape.headDim;
  const kvDim = shape.kvHeads * shape.headDim;
  const expanded = shape.kvHeads < shape.heads ? 2 * qDim : 0;
  const activations = n * (6 * shape.dModel + 2 * qDim + 4 * kvDim + expanded + (shape.gatedMlp ? 3 : 2) * shape.mlpWidth) * F32;
  const trace = usage.trace ? 2 * matrices : 0;
  const transfer = usage.transfer ? matrices : 0;
  const lmHead = shape.vocabSize ? (n * Math.min(VOCAB_BLOCK, shape.vocabSize) + shape.vocabSize) * F32 : 0;
  const garbage = Math.min(GC_SLACK_BYTES, matrices + activations);
  return BASELINE_BYTES + shape.weightBytes + inputs + attention + activations + trace + transfer + lmHead + garbage;
}

/** The longest input (≥ 0) whose inspection fits in `budgetBytes`. */
export function maxTokensWithin(shape: ModelShape, budgetBytes: number, usage: Usage): number {
  if (inspectionBytes(shape, 1, usage) > budgetBytes) return 0;
  let lo = 1;
  let hi = 1;
  while (hi < 1 << 24 && inspectionBytes(shape, hi * 2, usage) <= budgetBytes) hi *= 2;
  hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (inspectionBytes(shape, mid, usage) <= budgetBytes) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface TokenLimits extends Usage {
  /** The caller's limit (the extension's maxTokens setting, the CLI's --max-tokens). */
  readonly maxTokens: number;
  /** Bytes the whole inspection may take, weights included. */
  readonly memoryBudget: number;
}

/** How many of `total` tokens to inspect, and why fewer when fewer; null when all fit. */
export function limitTokens(shape: ModelShape, total: number, limits: TokenLimits): { kept: number; truncation: Truncation | null } {
  const candidates: [number, LimitReason][] = [
    [limits.maxTokens, 'maxTokens'],
    [shape.maxPositions, 'nPositions'],
    [maxTokensWithin(shape, limits.memoryBudget, limits), 'memory'],
  ];
  let [kept, reason] = candidates[0];
  for (const [value, why] of candidates) if (value < kept) [kept, reason] = [value, why];
  if (total <= kept) return { kept: total, truncation: null };
  return { kept, truncation: { totalTokens: total, keptTokens: kept, reason } };
}
