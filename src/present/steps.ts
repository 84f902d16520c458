/**
 * The step trace in the lecture's words: a title, a formula and a one-line explanation for each step.
 * The engine returns only step ids, tensors and the checkpoint tensor a step reads; the webview and the
 * CLI both word them here.
 */
import { lectureStepOf, type StepId, type StepParams, type TraceStepId } from '../engine/attention';
import type { RopeConfig } from '../engine/types';

export interface StepContext extends StepParams {
  /** The head a per-head step was sliced to. */
  readonly head?: number;
  /** Where the values come from in a checkpoint (TraceStep.source), e.g. "c_attn.weight[:, 0:768]". */
  readonly source?: string;
}

export interface StepText {
  readonly title: string;
  readonly formula: string;
  readonly explanation: string;
}

type Words = (c: StepContext, dk: string) => [title: string, formula: string, explanation: string];

const WORDS: Readonly<Record<TraceStepId, Words>> = {
  x: (c) => {
    if (c.norm === 'none') return ['X = h', 'X = h', 'A post-norm block: attention reads the residual stream h as it is, and the LayerNorm comes after the residual add.'];
    if (c.norm === 'rmsNorm') {
      return ['X = RMSNorm(h)', `X = ${c.source ?? 'RMSNorm(h)'}`, 'The model scales each row of the residual stream h to unit root mean square (RMSNorm: no mean subtracted, no bias) before attention; these rows are what the heads see.'];
    }
    return c.source
      ? ['X = LayerNorm(h)', `X = ${c.source}`, 'The model normalises the residual stream h before attention; these rows are what the heads see.']
      : ['X (input)', 'X', 'One row per token: the vectors the attention layer receives.'];
  },
  wQuery: (c) => ['W_query', c.source ?? 'W_query', projection('queries', c.source)],
  wKey: (c) => ['W_key', c.source ?? 'W_key', projection('keys', c.source)],
  wValue: (c) => ['W_value', c.source ?? 'W_value', projection('values', c.source)],
  'queries.projected': () => ['X·W_query', 'X·W_query (+ b), split into heads', 'The queries as projected, before the model turns them by position (and normalises them, where it does).'],
  'keys.projected': (c) => ['X·W_key', `X·W_key (+ b), split into ${kvHeadsOf(c)}`, `The keys as projected, before the model turns them by position (and normalises them, where it does).${sharedBy(c)}`],
  'queries.normed': (c) => ['q_norm', `RMSNorm over each head’s d_k values (${c.source ?? 'q_norm'})`, 'Each head’s query is scaled to unit root mean square, with a learned gain per dimension, before the rotation.'],
  'keys.normed': (c) => ['k_norm', `RMSNorm over each head’s d_k values (${c.source ?? 'k_norm'})`, 'Each head’s key is scaled to unit root mean square, with a learned gain per dimension, before the rotation.'],
  'queries.angles': (c) => ['Rotary angles', angleFormula(c.rope), angleExplanation(c.rope, c.headDim)],
  queries: (c) =>
    c.rope
      ? ['Q (queries)', 'Q = RoPE(X·W_query (+ b)), split into heads', `What each token is looking for, turned by its position: ${rotatedDims(c.rope)}.`]
      : ['Q (queries)', 'Q = X·W_query (+ b), split into heads', 'What each token is looking for. Each head gets its own d_k-wide slice.'],
  keys: (c) =>
    c.rope
      ? ['K (keys)', `K = RoPE(X·W_key (+ b)), split into ${kvHeadsOf(c)}`, `What each token offers to be matched against, turned by its position like the queries, so qᵢ·kⱼ depends on how far apart i and j are.${sharedBy(c)}`]
      : ['K (keys)', `K = X·W_key (+ b), split into ${kvHeadsOf(c)}`, `What each token offers to be matched against.${sharedBy(c)}`],
  values: (c) => ['V (values)', `V = X·W_value (+ b), split into ${kvHeadsOf(c)}`, `What each token passes on once it is attended to.${sharedBy(c)}`],
  'keys.groups': (c) => {
    const group = c.heads !== undefined && c.kvHeads !== undefined ? c.heads / c.kvHeads : undefined;
    const formula = group === undefined ? 'KV head = ⌊h / group⌋' : c.head === undefined ? `KV head = ⌊h / ${group}⌋` : `KV head ${Math.floor(c.head / group)} = ⌊${c.head} / ${group}⌋`;
    return ['KV head', formula, `Grouped-query attention: ${c.heads ?? 'the'} query heads share ${c.kvHeads ?? 'fewer'} key/value heads, ${group ?? 'several'} query heads to each, so the keys and values are computed once per group.`];
  },
  rawScores: () => ['QKᵀ', 'scores = Q·Kᵀ', 'Row i, column j: the dot product qᵢ·kⱼ, how well query i matches key j.'],
  scaledScores: (_c, dk) => ['÷√d_k', `scores / √${dk}`, `Divided by √${dk} so the dot products do not grow with the head size and saturate the softmax.`],
  maskedScores: (c) => {
    if (c.causal && c.window !== undefined) {
      return ['Mask', `scores[i, j] = −∞ for j > i or j ≤ i − ${c.window}`, `Sliding-window causal mask: a query sees only itself and the ${c.window - 1} tokens before it; every other score becomes −∞ (weight 0 after softmax).`];
    }
    return c.causal
      ? ['Mask', 'scores[i, j] = −∞ for j > i', 'Causal mask: a query may not see later tokens, so those scores become −∞ (weight 0 after softmax).']
      : ['Mask', 'no mask', 'No mask (bidirectional, as in an encoder like BERT): every query sees every key, the ones after it as well as the ones before.'];
  },
  attnWeights: () => ['Softmax', 'weights = softmax(scores) along each row', 'Each row becomes a probability distribution over keys; it sums to 1.'],
  contextVectors: () => ['weights·V', 'context = weights·V', 'Each query’s output is the weighted average of the values it attends to.'],
  concat: () => ['Concat', 'concat(head_1, …, head_h)', 'The heads’ context vectors side by side: heads · d_k columns.'],
  outProj: (c) => ['W_out (out_proj)', c.source ?? 'W_out', 'Learned output projection that mixes the heads.'],
  output: (c) =>
    c.source
      ? ['Output', `output = concat·W_out (+ b)`, 'Added to the residual stream after this layer’s attention.']
      : ['Output', 'output = concat·W_out (+ b)', 'The attention layer’s result: one d_model vector per token.'],
};

/** "4 KV heads" under grouped-query attention, else "heads". */
function kvHeadsOf(c: StepContext): string {
  return c.kvHeads !== undefined && c.heads !== undefined && c.kvHeads < c.heads ? `${c.kvHeads} KV heads` : 'heads';
}

/** Which KV head a query head reads, under grouped-query attention. */
function sharedBy(c: StepContext): string {
  if (c.kvHeads === undefined || c.heads === undefined || c.kvHeads >= c.heads) return '';
  const group = c.heads / c.kvHeads;
  const which = c.head === undefined ? '' : ` Head ${c.head} reads KV head ${Math.floor(c.head / group)}.`;
  return ` ${group} query heads share each KV head.${which}`;
}

function rotatedDims(rope: RopeConfig): string {
  return `each pair of dims (k, k + ${rope.rotaryDims / 2}) among the first ${rope.rotaryDims} turns by the angle position · inv_freq[k]`;
}

function scalingText(rope: RopeConfig | undefined): string {
  const s = rope?.scaling;
  if (!s || s.type === 'default') return '';
  if (s.type === 'linear') return ` ÷ ${s.factor} (linear scaling)`;
  return `, llama3-scaled (factor ${s.factor}, low ${s.lowFreqFactor}, high ${s.highFreqFactor}, original context ${s.originalMaxPositions})`;
}

function angleFormula(rope: RopeConfig | undefined): string {
  if (!rope) return 'θ[p, k] = p · inv_freq[k]';
  return `θ[p, k] = p · inv_freq[k], inv_freq[k] = ${rope.theta}^(−2k/${rope.rotaryDims})${scalingText(rope)}`;
}

function angleExplanation(rope: RopeConfig | undefined, headDim: number | undefined): string {
  const pairs = rope ? `dims k and k + ${rope.rotaryDims / 2}` : 'dims k and k + r/2';
  const partial = rope && headDim !== undefined && rope.rotaryDims < headDim ? ` Only the first ${rope.rotaryDims} of each head’s ${headDim} dims rotate; the rest pass through unchanged.` : '';
  return `Row p, column k: the angle by which position p turns the pair of ${pairs} of every query and key. Fast pairs turn a lot per token, slow pairs barely.${rope?.scaling.type === 'llama3' ? ' llama3 scaling keeps the fast frequencies, divides the slow ones by the factor and blends those in between.' : ''}${partial}`;
}

function projection(what: string, source: string | undefined): string {
  const learned = `Learned projection from d_model to the ${what}`;
  return source ? `${learned}. The checkpoint stores W_query, W_key and W_value side by side; this is its slice.` : `${learned} (all heads side by side).`;
}

/** The words of a trace step as the engine or the worker returns it, sliced to `head` when per-head. */
export function traceStepText(step: { readonly id: StepId; readonly perHead: boolean; readonly source?: string; readonly params?: StepParams }, head?: number): StepText {
  return stepText(step.id, { ...step.params, source: step.source, head: step.perHead ? head : undefined });
}

/** A step's title, formula and explanation; per-head formulas name the head. */
export function stepText(id: StepId, context: StepContext = {}): StepText {
  const dk = context.headDim === undefined ? 'd_k' : String(context.headDim);
  // A step id this version does not know is worded as the lecture step it refines.
  const words = (WORDS as Partial<Record<StepId, Words>>)[id] ?? WORDS[lectureStepOf(id)];
  const [title, formula, explanation] = words(context, dk);
  return { title, formula: context.head === undefined ? formula : `${formula} (head ${context.head})`, explanation };
}
