import { inRowBlocks, linear, matmulInto, matmulTransposedInto, softmaxRowInPlace } from './kernels';
import { expectShape, fmtShape, ShapeError, type Tensor } from './tensor';
import type { MhaWeights } from './types';

export interface AttentionOptions {
  /** Each query sees only itself and earlier keys (GPT-style decoders). */
  readonly causal: boolean;
  /** Record every intermediate for the step trace (costs memory: a few [heads, n, n] tensors). */
  readonly trace?: boolean;
  /** Called between heads; throwing from it stops the computation (cancellation). */
  readonly checkpoint?: () => void;
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

/** One step of the lecture's computation and its values; src/present/steps.ts words it. */
export interface TraceStep {
  readonly id: StepId;
  /** True when the tensor's first axis is the head: [heads, …]. */
  readonly perHead: boolean;
  readonly tensor: Tensor;
  /** The checkpoint tensor or operation the values come from, e.g. "c_attn.weight[:, 0:768]". */
  readonly source?: string;
  /** What the step's wording depends on: d_k for ÷√d_k, whether the mask is causal. */
  readonly params?: StepParams;
}

export interface StepParams {
  readonly headDim?: number;
  readonly causal?: boolean;
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
  const { checkpoint } = options;
  const queries = linear(x, weights.wQuery, weights.bQuery, `${op} (queries)`, checkpoint); // [n, d]
  const keys = linear(x, weights.wKey, weights.bKey, `${op} (keys)`, checkpoint); // [n, d]
  const values = linear(x, weights.wValue, weights.bValue, `${op} (values)`, checkpoint); // [n, d]
  const core = attentionFromProjections(queries, keys, values, weights.heads, options);
  const output = linear(core.concat, weights.outProj, weights.outProjBias, `${op} (out_proj)`, checkpoint); // [n, d]
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

/**
 * raw[i, j] = q_i·k_j ([n, headDim] · [headDim, n]), in row blocks with checkpoints between them. With
 * `lowerOnly` only j ≤ i is computed (the rest is left for the caller to overwrite): a block of rows
 * r0…r1-1 needs only the keys before r1, computed into a scratch block and copied row by row.
 */
function scoresInto(q: Float32Array, k: Float32Array, raw: Float32Array, n: number, headDim: number, lowerOnly: boolean, checkpoint?: () => void): void {
  let scratch: Float32Array | undefined;
  inRowBlocks(n, n * headDim, checkpoint, (r0, r1) => {
    const rows = r1 - r0;
    const qRows = q.subarray(r0 * headDim, r1 * headDim); // [rows, headDim]
    if (rows === n) return matmulTransposedInto(qRows, k, raw, n, headDim, n, lowerOnly);
    if (!lowerOnly) return matmulTransposedInto(qRows, k, raw.subarray(r0 * n, r1 * n), rows, headDim, n);
    scratch ??= new Float32Array(rows * n);
    const block = scratch.subarray(0, rows * r1); // [rows, r1]
    matmulTransposedInto(qRows, k.subarray(0, r1 * headDim), block, rows, headDim, r1);
    for (let i = 0; i < rows; i++) raw.set(block.subarray(i * r1, i * r1 + r0 + i + 1), (r0 + i) * n);
  });
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
    options.checkpoint?.();
    const headBase = h * n * headDim;
    const scoreBase = h * n * n;
    // raw = queries[h] · keys[h]ᵀ   ([n, headDim] · [headDim, n]): one matrix product per head.
    // Without a trace the causal mask discards the upper triangle, so only j ≤ i is computed, straight
    // into attnScores (scaled and masked in place below); the trace keeps every raw score.
    const raw = (rawScores ?? attnScores).subarray(scoreBase, scoreBase + n * n); // [n, n]
    scoresInto(
      queryData.subarray(headBase, headBase + n * headDim),
      keyData.subarray(headBase, headBase + n * headDim),
      raw,
      n,
      headDim,
      causal && !rawScores,
      options.checkpoint,
    );
    options.checkpoint?.();
    for (let i = 0; i < n; i++) {
      if ((i & 255) === 255) options.checkpoint?.(); // a long head's softmax takes a while too
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
    options.checkpoint?.();
    // contextVectors[h] = attnWeights[h] · values[h]   ([n, n] · [n, headDim])
    const headWeights = attnWeights.subarray(h * n * n, (h + 1) * n * n);
    const headValues = valueData.subarray(headBase, headBase + n * headDim);
    const headContext = contextVectors.subarray(headBase, headBase + n * headDim);
    inRowBlocks(n, n * headDim, options.checkpoint, (r0, r1) =>
      matmulInto(headWeights.subarray(r0 * n, r1 * n), headValues, headContext.subarray(r0 * headDim, r1 * headDim), r1 - r0, n, headDim),
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
  for (let h = 0; h < heads; h++) {
    options.checkpoint?.();
    for (let idx = h * n * n; idx < (h + 1) * n * n; idx++) scaledScores[idx] = rawScores[idx] * scale;
  }
  const steps: TraceStep[] = [
    step('queries', true, queries),
    step('keys', true, keys),
    step('values', true, values),
    step('rawScores', true, { shape: [heads, n, n], data: rawScores }),
    { ...step('scaledScores', true, { shape: [heads, n, n], data: scaledScores }), params: { headDim } },
    { ...step('maskedScores', true, result.attnScores), params: { causal } },
    step('attnWeights', true, result.attnWeights),
    step('contextVectors', true, contextTensor),
    step('concat', false, concat),
  ];
  return { result, concat, steps };
}

export function step(id: StepId, perHead: boolean, tensor: Tensor, source?: string): TraceStep {
  return source === undefined ? { id, perHead, tensor } : { id, perHead, tensor, source };
}
