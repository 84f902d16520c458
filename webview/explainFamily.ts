// "Explain this cell" for what some families add before q·k: the rotary turn of q and k (with the
// frequencies, the angles of both positions and each pair's share of the dot product), grouped KV heads,
// q/k norm, and the mask kind. Pure (no DOM). The numbers come from the step trace; the frequencies from
// the engine's own rotary function (src/present/family.ts).
import type { RopeConfig } from '../src/engine/types';
import { ropeFrequencies, type MaskKind } from '../src/present/family';
import type { TraceData } from '../src/protocol';
import { firstAndLargest, type FirstAndLargest } from './explain';
import { findStep, stepRow } from './traceModel';

export interface RotaryPair {
  /** Pair index: dims k and k + rotaryDims/2. */
  readonly k: number;
  /** inv_freq[k] as the engine rotates by. */
  readonly freq: number;
  /** inv_freq[k] before rope scaling (null without scaling). */
  readonly unscaledFreq: number | null;
  /** Angle of the query's position (i·f_k) and of the key's (j·f_k), from the trace's rotary angles. */
  readonly angleQuery: number;
  readonly angleKey: number;
  /** The pair's share of q·k before the rotation: q[k]·k[k] + q[k+r/2]·k[k+r/2]. */
  readonly before: number;
  /** …and after it (its share of the score). */
  readonly after: number;
}

export interface RotaryExplanation {
  readonly rope: RopeConfig;
  readonly headDim: number;
  readonly pairs: readonly RotaryPair[];
  /** Σ after over the pairs. */
  readonly pairsSum: number;
  /** Σ q[c]·k[c] over the dims that do not rotate (partial rotary), or null when all rotate. */
  readonly passThroughSum: number | null;
  /** q/k norm came before the rotation. */
  readonly qNorm: boolean;
  readonly kNorm: boolean;
}

/**
 * The rotary part of cell (query, key) from a head's trace: the pre-rotation q and k (after q/k norm when
 * the family has it), the rotated ones (what enters QKᵀ) and the angles of both positions. Null when the
 * trace has no rotary step or lacks a row.
 */
export function explainRotary(trace: TraceData | null, query: number, key: number): RotaryExplanation | null {
  const anglesStep = findStep(trace, 'queries.angles');
  const rope = anglesStep?.params?.rope;
  if (!trace || !anglesStep || !rope) return null;
  const qNormStep = findStep(trace, 'queries.normed');
  const kNormStep = findStep(trace, 'keys.normed');
  const q0 = stepRow(qNormStep ?? findStep(trace, 'queries.projected'), query);
  const k0 = stepRow(kNormStep ?? findStep(trace, 'keys.projected'), key);
  const q1 = stepRow(findStep(trace, 'queries'), query);
  const k1 = stepRow(findStep(trace, 'keys'), key);
  const ai = stepRow(anglesStep, query);
  const aj = stepRow(anglesStep, key);
  if (!q0 || !k0 || !q1 || !k1 || !ai || !aj) return null;
  const headDim = q1.length;
  const half = rope.rotaryDims / 2;
  if (q0.length !== headDim || k0.length !== headDim || k1.length !== headDim || ai.length !== half || rope.rotaryDims > headDim) return null;
  const { used, unscaled } = ropeFrequencies(rope);
  const pairs: RotaryPair[] = [];
  let pairsSum = 0;
  for (let k = 0; k < half; k++) {
    const after = q1[k] * k1[k] + q1[k + half] * k1[k + half];
    pairsSum += after;
    pairs.push({
      k,
      freq: used[k],
      unscaledFreq: unscaled ? unscaled[k] : null,
      angleQuery: ai[k],
      angleKey: aj[k],
      before: q0[k] * k0[k] + q0[k + half] * k0[k + half],
      after,
    });
  }
  let passThroughSum: number | null = null;
  if (rope.rotaryDims < headDim) {
    passThroughSum = 0;
    for (let c = rope.rotaryDims; c < headDim; c++) passThroughSum += q1[c] * k1[c];
  }
  return { rope, headDim, pairs, pairsSum, passThroughSum, qNorm: qNormStep !== undefined, kNorm: kNormStep !== undefined };
}

/** Every pair for up to `all` pairs, else the first `first` and the `largest` biggest |after| of the rest. */
export function selectPairs(pairs: readonly RotaryPair[], all = 16, first = 6, largest = 4): FirstAndLargest<RotaryPair> {
  return firstAndLargest(pairs, (p) => p.after, all, first, largest);
}

export interface GroupsExplanation {
  readonly heads: number;
  readonly kvHeads: number;
  /** The KV head this query head reads (the trace's keys.groups). */
  readonly kvHead: number;
  /** The KV head of every query head: ⌊h / (heads / kvHeads)⌋, as the engine's kvHeadOf. */
  readonly map: readonly number[];
}

/** Grouped-query attention for the traced head, or null when every query head has its own keys. */
export function explainGroups(trace: TraceData | null): GroupsExplanation | null {
  const step = findStep(trace, 'keys.groups');
  const heads = step?.params?.heads;
  const kvHeads = step?.params?.kvHeads;
  if (!step || heads === undefined || kvHeads === undefined || step.data.length < 1) return null;
  const group = heads / kvHeads;
  return { heads, kvHeads, kvHead: step.data[0], map: Array.from({ length: heads }, (_, h) => Math.floor(h / group)) };
}

/** The mask kind of a head's trace (maskedScores' params), or without one from the model's causal flag and the window its scores show. */
export function maskKindOf(trace: TraceData | null, causal: boolean, scoresWindow: number | null = null): MaskKind {
  const params = findStep(trace, 'maskedScores')?.params;
  if (params?.window !== undefined) return { kind: 'window', window: params.window };
  if (!params && causal && scoresWindow !== null) return { kind: 'window', window: scoresWindow };
  const c = params?.causal ?? causal;
  return c ? { kind: 'causal' } : { kind: 'none' };
}
