/**
 * The words that differ between model families, for the views: the mask (causal, sliding window,
 * bidirectional), rotary positions, grouped key/value heads, encoders without next-token prediction,
 * special tokens. The numbers come from the engine (the rotary frequencies from its own function).
 */
import { ropeInverseFrequencies } from '../engine/rotary';
import type { RopeConfig } from '../engine/types';

/** The mask a head's scores carry, as the views tell it. */
export type MaskKind = { readonly kind: 'causal' } | { readonly kind: 'window'; readonly window: number } | { readonly kind: 'none' };

/** The rotary frequencies of every pair: inv_freq[k] as the engine uses it, and before scaling when the config scales. */
export interface RopeFrequencies {
  /** What the engine rotates by (scaled, when the config scales). */
  readonly used: Float64Array;
  /** θ^(−2k/rotaryDims) before the scaling, or null when the config does not scale. */
  readonly unscaled: Float64Array | null;
}

/** The pair frequencies from the engine's own ropeInverseFrequencies (not a second formula). */
export function ropeFrequencies(rope: RopeConfig): RopeFrequencies {
  const used = ropeInverseFrequencies(rope);
  const unscaled = rope.scaling.type === 'default' ? null : ropeInverseFrequencies({ ...rope, scaling: { type: 'default' } });
  return { used, unscaled };
}

/** "llama3 scaling (factor 8, …)" or "linear scaling (÷ 4)", or '' for none. */
export function ropeScalingName(rope: RopeConfig): string {
  const s = rope.scaling;
  if (s.type === 'linear') return `linear scaling: every frequency ÷ ${s.factor}`;
  if (s.type === 'llama3') {
    return `llama3 scaling (factor ${s.factor}, low ${s.lowFreqFactor}, high ${s.highFreqFactor}, original context ${s.originalMaxPositions}): fast pairs keep their frequency, slow ones are divided by ${s.factor}, those in between are blended`;
  }
  return '';
}

/** Where q and k come from: the rows of X, and what X is for this family's norm. */
export function inputSentence(norm: 'layerNorm' | 'rmsNorm' | 'none' | undefined, gqa: boolean): string {
  const kv = gqa ? 'its KV head’s W_key' : 'W_key';
  const x =
    norm === 'rmsNorm'
      ? 'X = RMSNorm(h), the residual stream scaled to unit root mean square'
      : norm === 'layerNorm'
        ? 'X = LayerNorm(h), the residual stream normalised to mean 0 and variance 1'
        : norm === 'none'
          ? 'X = h, the residual stream as it is (a post-norm block normalises after attention)'
          : 'X, the rows the layer receives';
  return `q_i = X_i·W_query (this head’s slice) and k_j = X_j·${kv}, with ${x}.`;
}

/** The sentence that opens the rotary part of explain-a-cell. */
export function rotarySentence(rope: RopeConfig, headDim: number, query: number, key: number): string {
  const half = rope.rotaryDims / 2;
  const which = rope.rotaryDims < headDim ? `the first ${rope.rotaryDims} of the head’s ${headDim} dims` : `all ${headDim} dims`;
  return (
    `Rotary positions (RoPE, θ = ${rope.theta}): before the match, ${which} are turned in ${half} pairs (dim k with dim k + ${half}). ` +
    `Pair k of query #${query} turns by ${query}·f_k and pair k of key #${key} by ${key}·f_k, with f_k = θ^(−2k/${rope.rotaryDims})` +
    `${rope.scaling.type === 'default' ? '' : ` and ${ropeScalingName(rope)}`}. ` +
    `Only the difference ${key} − ${query} = ${signed(key - query)} of the angles changes the match, so the score depends on how far apart the tokens are.`
  );
}

/** An integer with a true minus sign. */
const signed = (x: number) => (x < 0 ? `−${-x}` : String(x));

/** Partial rotary (GPT-NeoX): what the unrotated dims do. */
export function passThroughSentence(rotaryDims: number, headDim: number): string {
  return `Dims ${rotaryDims}…${headDim - 1} do not rotate (partial rotary: ${rotaryDims} of ${headDim}); their products pass through unchanged.`;
}

/** Grouped-query attention: which KV head this query head reads. */
export function groupSentence(head: number, kvHead: number, heads: number, kvHeads: number): string {
  const group = heads / kvHeads;
  const first = kvHead * group;
  const mates = Array.from({ length: group }, (_, i) => first + i).filter((x) => x !== head);
  return (
    `Grouped-query attention: ${heads} query heads share ${kvHeads} key/value heads, ${group} to each. ` +
    `Head ${head} reads KV head ${kvHead}${mates.length ? `, like head${mates.length > 1 ? 's' : ''} ${mates.join(', ')}` : ''}: k_j and v_j come from KV head ${kvHead}.`
  );
}

/** q/k norm (Qwen3): what happened to q and k before they turned. */
export function qkNormSentence(q: boolean, k: boolean): string {
  const which = q && k ? 'q and k' : q ? 'q' : 'k';
  return `Before the rotation, ${which} went through ${q && k ? 'q_norm and k_norm' : q ? 'q_norm' : 'k_norm'}: RMSNorm over each head’s d_k values with a learned gain, so ${which} ${q && k ? 'have' : 'has'} a steady size whatever the token.`;
}

/** Why a cell is masked, in a sentence. */
export function maskedCellSentence(mask: MaskKind, query: number, key: number): string {
  if (key > query) return `Key #${key} comes after query #${query}, so the causal mask sets the score to −∞: a query may not look at later tokens.`;
  if (mask.kind === 'window') {
    return `Key #${key} is ${query - key} tokens before query #${query}, outside the sliding window of ${mask.window} (a query sees only itself and the ${mask.window - 1} tokens before it), so the mask sets the score to −∞.`;
  }
  return 'The mask sets this score to −∞.';
}

/** A bidirectional encoder's visible later key. */
export function bidirectionalSentence(query: number, key: number): string {
  return `A bidirectional encoder masks nothing: query #${query} sees key #${key} even though it comes later in the text.`;
}

/** The hover readout's reason for a masked cell. */
export function maskedReadout(query: number, key: number, window: number | null): string {
  if (key > query) return `masked (causal): query ${query} cannot see key ${key} (weight 0)`;
  if (window !== null) return `masked (sliding window of ${window}): key ${key} is too far before query ${query} (weight 0)`;
  return `masked: query ${query} cannot see key ${key} (weight 0)`;
}

/** The legend's swatch: label and explanation of hatched cells. */
export function maskLegend(window: number | null): { label: string; detail: string } {
  return window === null
    ? { label: 'masked (causal)', detail: 'key after query: −∞, weight 0' }
    : { label: `masked (causal, window ${window})`, detail: `later key, or ≥ ${window} back: −∞, weight 0` };
}

/** How to read the hatch, for the guide beside the heatmap. */
export function maskGuide(causal: boolean, window: number | null): string {
  if (!causal) return 'Nothing is masked (bidirectional attention, as in an encoder): every token attends to every other, before and after it.';
  if (window !== null) return `Bright cells get much attention; hatched cells are masked: a token sees only itself and the ${window - 1} tokens before it (sliding window of ${window}).`;
  return 'Bright cells get much attention; hatched cells are masked: in a causal model a token cannot look at tokens after it.';
}

/** The legend's words for a model without a mask (an encoder). */
export const NO_MASK_LEGEND = { label: 'no mask (bidirectional)', detail: 'every query sees every key' };

/** A checkpoint that attends both ways (BERT, RoBERTa, DistilBERT); the random layer without a mask is no encoder. */
export function isEncoder(model: { readonly kind: string; readonly causal: boolean }): boolean {
  return !model.causal && model.kind !== 'random';
}

/** What the next-token area says for an encoder. */
export const ENCODER_NO_NEXT_TOKEN =
  'A bidirectional encoder does not predict next tokens: every token sees the whole text, left and right, so there is no “next” to guess and no perplexity. ' +
  '(BERT-style models are trained to fill in masked tokens instead.)';

/** Tooltip and screen-reader words for a token the tokenizer added. */
export const SPECIAL_TOKEN = 'added by the tokenizer, not in the text';
