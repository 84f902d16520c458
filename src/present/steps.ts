/**
 * The step trace in the lecture's words: a title, a formula and a one-line explanation for each step.
 * The engine returns only step ids, tensors and the checkpoint tensor a step reads; the webview and the
 * CLI both word them here.
 */
import type { StepId, StepParams } from '../engine/attention';

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

const WORDS: Readonly<Record<StepId, Words>> = {
  x: (c) =>
    c.source
      ? ['X = LayerNorm(h)', `X = ${c.source}`, 'The model normalises the residual stream h before attention; these rows are what the heads see.']
      : ['X (input)', 'X', 'One row per token: the vectors the attention layer receives.'],
  wQuery: (c) => ['W_query', c.source ?? 'W_query', projection('queries', c.source)],
  wKey: (c) => ['W_key', c.source ?? 'W_key', projection('keys', c.source)],
  wValue: (c) => ['W_value', c.source ?? 'W_value', projection('values', c.source)],
  queries: () => ['Q (queries)', 'Q = X·W_query (+ b), split into heads', 'What each token is looking for. Each head gets its own d_k-wide slice.'],
  keys: () => ['K (keys)', 'K = X·W_key (+ b), split into heads', 'What each token offers to be matched against.'],
  values: () => ['V (values)', 'V = X·W_value (+ b), split into heads', 'What each token passes on once it is attended to.'],
  rawScores: () => ['QKᵀ', 'scores = Q·Kᵀ', 'Row i, column j: the dot product qᵢ·kⱼ, how well query i matches key j.'],
  scaledScores: (_c, dk) => ['÷√d_k', `scores / √${dk}`, `Divided by √${dk} so the dot products do not grow with the head size and saturate the softmax.`],
  maskedScores: (c) =>
    c.causal
      ? ['Mask', 'scores[i, j] = −∞ for j > i', 'Causal mask: a query may not see later tokens, so those scores become −∞ (weight 0 after softmax).']
      : ['Mask', 'no mask', 'No mask: every query sees every key.'],
  attnWeights: () => ['Softmax', 'weights = softmax(scores) along each row', 'Each row becomes a probability distribution over keys; it sums to 1.'],
  contextVectors: () => ['weights·V', 'context = weights·V', 'Each query’s output is the weighted average of the values it attends to.'],
  concat: () => ['Concat', 'concat(head_1, …, head_h)', 'The heads’ context vectors side by side: back to d_model columns.'],
  outProj: (c) => ['W_out (out_proj)', c.source ?? 'W_out', 'Learned output projection that mixes the heads.'],
  output: (c) =>
    c.source
      ? ['Output', 'output = concat·W_out + b', 'Added to the residual stream after this layer’s attention.']
      : ['Output', 'output = concat·W_out (+ b)', 'The attention layer’s result: one d_model vector per token.'],
};

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
  const [title, formula, explanation] = WORDS[id](context, dk);
  return { title, formula: context.head === undefined ? formula : `${formula} (head ${context.head})`, explanation };
}
