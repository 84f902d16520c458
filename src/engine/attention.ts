import { linear, matmulInto, matmulTransposedInto, softmaxRowInPlace } from './kernels';
import { expectShape, fmtShape, ShapeError, type Tensor } from './tensor';
import type { MhaWeights } from './types';

export interface AttentionOptions {
  /** Each query sees only itself and earlier keys (GPT-style decoders). */
  readonly causal: boolean;
  /** Record every intermediate for the step trace (costs memory: a few [heads, n, n] tensors). */
  readonly trace?: boolean;
}

export type StepId =
  | 'x'
  | 'wQuery'
  | 'wKey'
  | 'wValue'
  | 'queries'
  | 'keys'
  | 'values'
  | 'rawScores'
  | 'scaledScores'
  | 'maskedScores'
  | 'attnWeights'
  | 'contextVectors'
  | 'concat'
  | 'outProj'
  | 'output';

/** One step of the lecture's computation, ready to show: what it is, its formula, and its values. */
export interface TraceStep {
  readonly id: StepId;
  readonly title: string;
  readonly formula: string;
  readonly explanation: string;
  /** True when the tensor's first axis is the head: [heads, …]. */
  readonly perHead: boolean;
  readonly tensor: Tensor;
}

export interface AttentionResult {
  readonly n: number;
  readonly dModel: number;
  readonly heads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly queries: Tensor; // [heads, n, headDim]
  readonly keys: Tensor; // [heads, n, headDim]
  readonly values: Tensor; // [heads, n, headDim]
  /** QKᵀ/√headDim before softmax; masked entries are -Infinity. */
  readonly attnScores: Tensor; // [heads, n, n]
  readonly attnWeights: Tensor; // [heads, n, n]
  readonly contextVectors: Tensor; // [heads, n, headDim]
  readonly output: Tensor; // [n, dModel]
  readonly trace?: readonly TraceStep[];
}

export function assertHeads(op: string, dModel: number, heads: number): number {
  if (!Number.isInteger(heads) || heads < 1) throw new ShapeError(op, `heads must be a positive integer, got ${heads}`);
  if (dModel % heads !== 0) throw new ShapeError(op, `d_model ${dModel} must be divisible by heads ${heads}`);
  return dModel / heads;
}

/** [n, d] → [heads, n, headDim]: the columns of head h are h·headDim … (h+1)·headDim-1. */
export function splitHeads(x: Tensor, heads: number, op = 'splitHeads'): Tensor {
  expectShape(op, 'input', x, [-1, -1]);
  const [n, d] = x.shape;
  const headDim = assertHeads(op, d, heads);
  const out = new Float32Array(n * d);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const src = i * d + h * headDim;
      out.set(x.data.subarray(src, src + headDim), (h * n + i) * headDim);
    }
  }
  return { shape: [heads, n, headDim], data: out }; // [heads, n, headDim]
}

/** [heads, n, headDim] → [n, heads·headDim]: the inverse of splitHeads (the lecture's "concat"). */
export function mergeHeads(x: Tensor, op = 'mergeHeads'): Tensor {
  expectShape(op, 'input', x, [-1, -1, -1]);
  const [heads, n, headDim] = x.shape;
  const d = heads * headDim;
  const out = new Float32Array(n * d);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const src = (h * n + i) * headDim;
      out.set(x.data.subarray(src, src + headDim), i * d + h * headDim);
    }
  }
  return { shape: [n, d], data: out }; // [n, d]
}

function checkWeights(op: string, x: Tensor, w: MhaWeights): number {
  expectShape(op, 'X', x, [-1, -1]);
  const d = x.shape[1];
  if (d !== w.dModel) throw new ShapeError(op, `X has shape ${fmtShape(x.shape)} but the weights expect d_model ${w.dModel}`);
  assertHeads(op, d, w.heads);
  expectShape(op, 'W_query', w.wQuery, [d, d]);
  expectShape(op, 'W_key', w.wKey, [d, d]);
  expectShape(op, 'W_value', w.wValue, [d, d]);
  expectShape(op, 'out_proj', w.outProj, [d, d]);
  for (const [name, b] of [['b_query', w.bQuery], ['b_key', w.bKey], ['b_value', w.bValue], ['out_proj bias', w.outProjBias]] as const) {
    if (b) expectShape(op, name, b, [d]);
  }
  return d;
}

/**
 * Multi-head self-attention, step by step as in the lecture:
 * Q = X·W_query, K = X·W_key, V = X·W_value → split into heads → QKᵀ → ÷√d_k → mask → softmax →
 * weights·V → concat → output projection.
 */
export function multiHeadAttention(x: Tensor, weights: MhaWeights, options: AttentionOptions): AttentionResult {
  const op = 'multiHeadAttention';
  checkWeights(op, x, weights);
  const queries = linear(x, weights.wQuery, weights.bQuery, `${op} (queries)`); // [n, d]
  const keys = linear(x, weights.wKey, weights.bKey, `${op} (keys)`); // [n, d]
  const values = linear(x, weights.wValue, weights.bValue, `${op} (values)`); // [n, d]
  const core = attentionFromProjections(queries, keys, values, weights.heads, options);
  const output = linear(core.concat, weights.outProj, weights.outProjBias, `${op} (out_proj)`); // [n, d]
  const result = { ...core.result, output };
  if (!options.trace) return result;
  const steps: TraceStep[] = [
    step('x', false, x),
    step('wQuery', false, weights.wQuery),
    step('wKey', false, weights.wKey),
    step('wValue', false, weights.wValue),
    ...(core.steps ?? []),
    step('outProj', false, weights.outProj),
    step('output', false, output),
  ];
  return { ...result, trace: steps };
}

interface CoreResult {
  readonly result: Omit<AttentionResult, 'output' | 'trace'>;
  readonly concat: Tensor; // [n, d]
  readonly steps?: TraceStep[];
}

/**
 * The attention core on already projected queries/keys/values [n, d]. GPT-2 uses it directly, since
 * its fused c_attn projection produces all three at once.
 */
export function attentionFromProjections(
  queriesFlat: Tensor,
  keysFlat: Tensor,
  valuesFlat: Tensor,
  heads: number,
  options: AttentionOptions,
): CoreResult {
  const op = 'attention';
  expectShape(op, 'Q', queriesFlat, [-1, -1]);
  const [n, d] = queriesFlat.shape;
  expectShape(op, 'K', keysFlat, [n, d]);
  expectShape(op, 'V', valuesFlat, [n, d]);
  const headDim = assertHeads(op, d, heads);
  const causal = options.causal;

  const queries = splitHeads(queriesFlat, heads, op); // [heads, n, headDim]
  const keys = splitHeads(keysFlat, heads, op); // [heads, n, headDim]
  const values = splitHeads(valuesFlat, heads, op); // [heads, n, headDim]

  const scale = 1 / Math.sqrt(headDim);
  const rawScores = options.trace ? new Float32Array(heads * n * n) : undefined;
  const attnScores = new Float32Array(heads * n * n); // [heads, n, n]
  const attnWeights = new Float32Array(heads * n * n); // [heads, n, n]
  const contextVectors = new Float32Array(heads * n * headDim); // [heads, n, headDim]
  const queryData = queries.data, keyData = keys.data, valueData = values.data;

  for (let h = 0; h < heads; h++) {
    const headBase = h * n * headDim;
    const scoreBase = h * n * n;
    // raw = queries[h] · keys[h]ᵀ   ([n, headDim] · [headDim, n]): one matrix product per head.
    // Without a trace the causal mask discards the upper triangle, so only j ≤ i is computed, straight
    // into attnScores (scaled and masked in place below); the trace keeps every raw score.
    const raw = (rawScores ?? attnScores).subarray(scoreBase, scoreBase + n * n); // [n, n]
    matmulTransposedInto(
      queryData.subarray(headBase, headBase + n * headDim),
      keyData.subarray(headBase, headBase + n * headDim),
      raw,
      n,
      headDim,
      n,
      causal && !rawScores,
    );
    for (let i = 0; i < n; i++) {
      const rowBase = scoreBase + i * n;
      const visible = causal ? i + 1 : n; // keys j < visible take part
      for (let j = 0; j < visible; j++) {
        const scaled = raw[i * n + j] * scale;
        attnScores[rowBase + j] = scaled;
        attnWeights[rowBase + j] = scaled;
      }
      attnScores.fill(-Infinity, rowBase + visible, rowBase + n);
      // Masked weights are already 0; softmax only the visible prefix.
      softmaxRowInPlace(attnWeights, rowBase, visible);
    }
    // contextVectors[h] = attnWeights[h] · values[h]   ([n, n] · [n, headDim])
    matmulInto(
      attnWeights.subarray(h * n * n, (h + 1) * n * n),
      valueData.subarray(headBase, headBase + n * headDim),
      contextVectors.subarray(headBase, headBase + n * headDim),
      n,
      n,
      headDim,
    );
  }

  const contextTensor: Tensor = { shape: [heads, n, headDim], data: contextVectors };
  const concat = mergeHeads(contextTensor, op); // [n, d]
  const result = {
    n,
    dModel: d,
    heads,
    headDim,
    causal,
    queries,
    keys,
    values,
    attnScores: { shape: [heads, n, n], data: attnScores },
    attnWeights: { shape: [heads, n, n], data: attnWeights },
    contextVectors: contextTensor,
  };
  if (!options.trace || !rawScores) return { result, concat };

  const scaledScores = new Float32Array(heads * n * n);
  for (let idx = 0; idx < scaledScores.length; idx++) scaledScores[idx] = rawScores[idx] * scale;
  const steps: TraceStep[] = [
    step('queries', true, queries),
    step('keys', true, keys),
    step('values', true, values),
    step('rawScores', true, { shape: [heads, n, n], data: rawScores }),
    step('scaledScores', true, { shape: [heads, n, n], data: scaledScores }, headDim),
    step('maskedScores', true, result.attnScores, headDim, causal),
    step('attnWeights', true, result.attnWeights),
    step('contextVectors', true, contextTensor),
    step('concat', false, concat),
  ];
  return { result, concat, steps };
}

/** Titles, formulas and one-line explanations of each step, in the lecture's words. */
function step(id: StepId, perHead: boolean, t: Tensor, headDim?: number, causal?: boolean): TraceStep {
  const dk = headDim === undefined ? 'd_k' : String(headDim);
  const text: Record<StepId, [string, string, string]> = {
    x: ['X (input)', 'X', 'One row per token: the vectors the attention layer receives.'],
    wQuery: ['W_query', 'W_query', 'Learned projection from d_model to the queries (all heads side by side).'],
    wKey: ['W_key', 'W_key', 'Learned projection from d_model to the keys.'],
    wValue: ['W_value', 'W_value', 'Learned projection from d_model to the values.'],
    queries: ['Q (queries)', 'Q = X·W_query (+ b), split into heads', 'What each token is looking for. Each head gets its own headDim-wide slice.'],
    keys: ['K (keys)', 'K = X·W_key (+ b), split into heads', 'What each token offers to be matched against.'],
    values: ['V (values)', 'V = X·W_value (+ b), split into heads', 'What each token passes on once it is attended to.'],
    rawScores: ['QKᵀ', 'scores = Q·Kᵀ', 'Row i, column j: the dot product qᵢ·kⱼ, how well query i matches key j.'],
    scaledScores: ['÷√d_k', `scores / √${dk}`, `Divided by √${dk} so the dot products do not grow with the head size and saturate the softmax.`],
    maskedScores: [
      'Mask',
      causal ? 'scores[i, j] = −∞ for j > i' : 'no mask',
      causal
        ? 'Causal mask: a query may not see later tokens, so those scores become −∞ (weight 0 after softmax).'
        : 'No mask: every query sees every key.',
    ],
    attnWeights: ['Softmax', 'weights = softmax(scores) along each row', 'Each row becomes a probability distribution over keys; it sums to 1.'],
    contextVectors: ['weights·V', 'context = weights·V', 'Each query’s output is the weighted average of the values it attends to.'],
    concat: ['Concat', 'concat(head_1, …, head_h)', 'The heads’ context vectors side by side: back to d_model columns.'],
    outProj: ['W_out (out_proj)', 'W_out', 'Learned output projection that mixes the heads.'],
    output: ['Output', 'output = concat·W_out (+ b)', 'The attention layer’s result: one d_model vector per token.'],
  };
  const [title, formula, explanation] = text[id];
  return { id, title, formula, explanation, perHead, tensor: t };
}
