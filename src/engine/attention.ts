import { applyNorm, inRowBlocks, linear, matmulInto, matmulTransposedInto, softmaxRowInPlace } from './kernels';
import { applyRotary, type RotaryTable } from './rotary';
import { expectShape, fmtShape, ShapeError, type Tensor } from './tensor';
import type { MhaWeights, NormWeights, RopeConfig } from './types';

export interface AttentionOptions {
  /** Each query sees only itself and earlier keys (GPT-style decoders). */
  readonly causal: boolean;
  /** Record every intermediate for the step trace (costs memory: a few [heads, n, n] tensors). */
  readonly trace?: boolean;
  /** Called between heads; throwing from it stops the computation (cancellation). */
  readonly checkpoint?: () => void;
  /** Key/value heads (grouped-query attention); query head h reads KV head ⌊h / (heads / kvHeads)⌋. Default: heads. */
  readonly kvHeads?: number;
  /** Causal only: query i sees keys max(0, i − window + 1) … i, window keys including itself (Mistral). */
  readonly window?: number | null;
  /** Norm over each head's headDim values of the queries and of the keys, before rotary (Qwen3's q_norm, k_norm). */
  readonly qNorm?: NormWeights;
  readonly kNorm?: NormWeights;
  /** Rotary position embedding of queries and keys, with the config it was computed from (for the trace). */
  readonly rotary?: { readonly table: RotaryTable; readonly rope: RopeConfig };
}

/** The lecture's steps: every model has them. */
export type LectureStepId =
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

/**
 * Steps only some families have. Each refines the lecture step its id starts with: the projections
 * before q/k norm and rotary, the normed queries and keys, the rotary angles, the KV head each query
 * head reads.
 */
export type FamilyStepId = 'queries.projected' | 'keys.projected' | 'queries.normed' | 'keys.normed' | 'queries.angles' | 'keys.groups';

export type TraceStepId = LectureStepId | FamilyStepId;

/**
 * Any step id a trace may hold. Family steps are written as "<lecture step>.<what>", so code that maps
 * only the lecture's steps (Record<StepId, …>) stays complete and can fall back on the parent step.
 */
export type StepId = LectureStepId | `${LectureStepId}.${string}`;

/** The lecture step a step id refines (itself for a lecture step). */
export function lectureStepOf(id: StepId): LectureStepId {
  return id.split('.')[0] as LectureStepId;
}

/** One step of the lecture's computation and its values; src/present/steps.ts words it. */
export interface TraceStep {
  readonly id: TraceStepId;
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
  /** maskedScores: the sliding window (query i sees keys max(0, i − window + 1) … i). */
  readonly window?: number;
  /** x: the norm that turns the residual stream h into X ('none': a post-norm block takes h itself). */
  readonly norm?: 'layerNorm' | 'rmsNorm' | 'none';
  /** The rotary embedding applied to queries and keys (queries.angles, queries, keys). */
  readonly rope?: RopeConfig;
  /** Grouped-query attention: query heads and the key/value heads they share (keys, values, keys.groups). */
  readonly heads?: number;
  readonly kvHeads?: number;
}

export interface AttentionResult {
  readonly n: number;
  readonly dModel: number;
  readonly heads: number;
  readonly headDim: number;
  readonly causal: boolean;
  /** Key/value heads; keys and values below are expanded to one per query head. */
  readonly kvHeads: number;
  /** The KV head each query head reads: kvHeadOf[h] = ⌊h / (heads / kvHeads)⌋. */
  readonly kvHeadOf: readonly number[];
  /** The sliding window of a causal mask, or null. */
  readonly window: number | null;
  /** What enters QKᵀ: after q/k norm and rotary when the family has them. */
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
  const src = x.data;
  // A plain loop: headDim is short (64), so a subarray and set per row would cost more than the copy.
  let o = 0;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const from = i * d + h * headDim;
      for (let c = 0; c < headDim; c++) out[o++] = src[from + c];
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
  const src = x.data;
  let o = 0;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const to = i * d + h * headDim;
      for (let c = 0; c < headDim; c++) out[to + c] = src[o++];
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
 * raw[i, j] = q_i·k_j for every i and j ([n, headDim] · [headDim, n]), in row blocks with checkpoints
 * between them: the trace's QKᵀ, which shows every score, masked or not.
 */
function scoresInto(q: Float32Array, k: Float32Array, raw: Float32Array, n: number, headDim: number, checkpoint?: () => void): void {
  inRowBlocks(n, n * headDim, checkpoint, (r0, r1) => matmulTransposedInto(q.subarray(r0 * headDim, r1 * headDim), k, raw.subarray(r0 * n, r1 * n), r1 - r0, headDim, n));
}

/** Query rows per block of the attention core (fewer when n is not a multiple: the blocks are balanced). */
const BLOCK_ROWS = 128;

/**
 * A sliding window's first key is rounded down to a multiple of this, the WebAssembly kernel's block of
 * the summed axis (KC in gemm.wat): weights·V then sums each output over the same chunks of keys as one
 * product over all n keys would, so skipping the keys left of the window changes no bit. Were KC to
 * change, the results would stay right and could differ from the unskipped product in the last bit.
 */
const KEY_ALIGN = 256;

interface HeadShape {
  readonly n: number;
  readonly headDim: number;
  readonly scale: number;
  readonly causal: boolean;
  readonly window: number | null;
}

/**
 * One row's visible scores: block[o … o+len) holds q_i·k_j; it becomes the scaled score (written to
 * scores[o + shift …] too), then the softmax weight (written to weights[o + shift …] too). The same float
 * math as scaling into a float32 array and softmaxRowInPlace, in fewer passes: the maximum is taken while
 * scaling and the weights are stored while normalising. A row whose maximum is not finite (NaN, ±∞) goes
 * to softmaxRowInPlace itself, for its rules.
 */
function softmaxVisible(block: Float32Array, o: number, scores: Float32Array, weights: Float32Array, shift: number, len: number, scale: number): void {
  let max = -Infinity;
  let nan = false;
  for (let j = o; j < o + len; j++) {
    const s = Math.fround(block[j] * scale);
    block[j] = s;
    scores[j + shift] = s;
    if (s > max) max = s;
    else if (s !== s) nan = true;
  }
  if (nan || max === Infinity || max === -Infinity) {
    softmaxRowInPlace(block, o, len);
    weights.set(block.subarray(o, o + len), o + shift);
    return;
  }
  let sum = 0;
  for (let j = o; j < o + len; j++) {
    const e = Math.exp(block[j] - max);
    block[j] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let j = o; j < o + len; j++) {
    const w = Math.fround(block[j] * inv);
    block[j] = w;
    weights[j + shift] = w;
  }
}

/**
 * One head's scores, weights and context vectors, in blocks of query rows. A block of rows r0…r1−1 reads
 * only the keys lo…hi−1 some row of it sees (hi = r1 under a causal mask; lo > 0 under a sliding window),
 * so the masked part of QKᵀ and of weights·V is never computed: those scores are −∞ and those weights 0,
 * and a product that skips zero terms at the ends of each sum is the same float math (see KEY_ALIGN).
 * `scratch` holds the block's [rows, hi − lo] scores, then its weights, with the masked cells zeroed.
 * With `raw` (the trace: every QKᵀ score, computed already) the block's scores are copied from it.
 */
function attendHead(
  q: Float32Array, // [n, headDim]
  k: Float32Array, // [n, headDim]
  v: Float32Array, // [n, headDim]
  raw: Float32Array | undefined, // [n, n]
  scores: Float32Array, // [n, n]
  weights: Float32Array, // [n, n], zeros
  context: Float32Array, // [n, headDim], zeros
  shape: HeadShape,
  scratch: Float32Array,
  checkpoint?: () => void,
): void {
  const { n, headDim, scale, causal, window } = shape;
  const blocks = Math.ceil(n / BLOCK_ROWS);
  const blockRows = Math.ceil(n / blocks);
  for (let r0 = 0; r0 < n; r0 += blockRows) {
    if (r0) checkpoint?.();
    const r1 = Math.min(n, r0 + blockRows);
    const rows = r1 - r0;
    const lo = window === null ? 0 : Math.max(0, r0 - window + 1) - (Math.max(0, r0 - window + 1) % KEY_ALIGN);
    const hi = causal ? r1 : n;
    const width = hi - lo;
    const block = scratch.subarray(0, rows * width); // [rows, width]
    if (raw) for (let i = 0; i < rows; i++) block.set(raw.subarray((r0 + i) * n + lo, (r0 + i) * n + hi), i * width);
    else matmulTransposedInto(q.subarray(r0 * headDim, r1 * headDim), k.subarray(lo * headDim, hi * headDim), block, rows, headDim, width);
    for (let i = 0; i < rows; i++) {
      const rowBase = (r0 + i) * n;
      const [from, to] = visibleKeys(r0 + i, n, causal, window); // keys from ≤ j < to take part
      const at = i * width - lo; // block[at + j] holds key j
      scores.fill(-Infinity, rowBase, rowBase + from);
      scores.fill(-Infinity, rowBase + to, rowBase + n);
      softmaxVisible(block, at + from, scores, weights, rowBase - at, to - from, scale);
      block.fill(0, at + lo, at + from);
      block.fill(0, at + to, at + hi);
    }
    // context[r0 … r1−1] = weights[r0 … r1−1, lo … hi−1] · values[lo … hi−1]   ([rows, width] · [width, headDim])
    matmulInto(block, v.subarray(lo * headDim, hi * headDim), context.subarray(r0 * headDim, r1 * headDim), rows, width, headDim);
  }
}

interface CoreResult {
  readonly result: Omit<AttentionResult, 'output' | 'trace'>;
  readonly concat: Tensor; // [n, heads·headDim]
  readonly steps?: TraceStep[];
}

/** One copy of each KV head per query head that reads it: [kvHeads, n, headDim] → [heads, n, headDim]. */
export function expandKvHeads(x: Tensor, kvHeadOf: readonly number[], op = 'expandKvHeads'): Tensor {
  expectShape(op, 'keys or values', x, [-1, -1, -1]);
  const [kvHeads, n, headDim] = x.shape;
  if (kvHeads === kvHeadOf.length) return x;
  const size = n * headDim;
  const out = new Float32Array(kvHeadOf.length * size);
  kvHeadOf.forEach((kv, h) => out.set(x.data.subarray(kv * size, (kv + 1) * size), h * size));
  return { shape: [kvHeadOf.length, n, headDim], data: out }; // [heads, n, headDim]
}

/** Which keys query i sees: [from, to). */
function visibleKeys(i: number, n: number, causal: boolean, window: number | null): [number, number] {
  return [window === null ? 0 : Math.max(0, i - window + 1), causal ? i + 1 : n];
}

function checkCoreShapes(op: string, queriesFlat: Tensor, keysFlat: Tensor, valuesFlat: Tensor, heads: number, options: AttentionOptions) {
  expectShape(op, 'Q', queriesFlat, [-1, -1]);
  const [n, qDim] = queriesFlat.shape;
  const headDim = assertHeads(op, qDim, heads);
  const kvHeads = options.kvHeads ?? heads;
  if (!Number.isInteger(kvHeads) || kvHeads < 1 || heads % kvHeads !== 0) {
    throw new ShapeError(op, `heads ${heads} must be a positive multiple of kvHeads ${kvHeads}`);
  }
  if (keysFlat.shape[1] !== kvHeads * headDim || valuesFlat.shape[1] !== kvHeads * headDim) {
    throw new ShapeError(op, `Q ${fmtShape(queriesFlat.shape)} has ${heads} heads of ${headDim}, so K and V need [${n}, ${kvHeads * headDim}] for ${kvHeads} KV heads; got ${fmtShape(keysFlat.shape)} and ${fmtShape(valuesFlat.shape)}`);
  }
  expectShape(op, 'K', keysFlat, [n, kvHeads * headDim]);
  expectShape(op, 'V', valuesFlat, [n, kvHeads * headDim]);
  const window = options.window ?? null;
  if (window !== null && (!options.causal || !Number.isInteger(window) || window < 1)) {
    throw new ShapeError(op, `a sliding window must be a positive integer on a causal mask, got ${window} (causal ${options.causal})`);
  }
  if (options.rotary && options.rotary.table.n !== n) throw new ShapeError(op, `the rotary table covers ${options.rotary.table.n} positions, Q ${fmtShape(queriesFlat.shape)} has ${n}`);
  const group = heads / kvHeads;
  const kvHeadOf = Array.from({ length: heads }, (_, h) => Math.floor(h / group));
  return { n, qDim, headDim, kvHeads, window, kvHeadOf };
}

/**
 * The attention core on already projected queries [n, heads·headDim] and keys/values
 * [n, kvHeads·headDim]: split into heads, the family's q/k norm and rotary, QKᵀ, ÷√d_k, mask, softmax,
 * weights·V. Every model runs through it: the MHA layer, and every checkpoint family.
 */
export function attentionFromProjections(
  queriesFlat: Tensor,
  keysFlat: Tensor,
  valuesFlat: Tensor,
  heads: number,
  options: AttentionOptions,
): CoreResult {
  const op = 'attention';
  const { n, qDim, headDim, kvHeads, window, kvHeadOf } = checkCoreShapes(op, queriesFlat, keysFlat, valuesFlat, heads, options);
  const { causal, qNorm, kNorm, rotary } = options;
  const tracing = options.trace === true;
  const steps: TraceStep[] = [];
  const gqa: StepParams | undefined = kvHeads === heads ? undefined : { heads, kvHeads };
  const withParams = (s: TraceStep, params: StepParams | undefined): TraceStep => (params ? { ...s, params } : s);

  let queries = splitHeads(queriesFlat, heads, op); // [heads, n, headDim]
  let keys = splitHeads(keysFlat, kvHeads, op); // [kvHeads, n, headDim]
  const values = splitHeads(valuesFlat, kvHeads, op); // [kvHeads, n, headDim]
  // The trace shows keys and values per query head, so a head's slice is what that head reads.
  const valuesStep = () => withParams(step('values', true, expandKvHeads(values, kvHeadOf)), gqa);
  const reshaped = qNorm !== undefined || kNorm !== undefined || rotary !== undefined;
  if (tracing && reshaped) {
    steps.push(step('queries.projected', true, queries), withParams(step('keys.projected', true, expandKvHeads(keys, kvHeadOf)), gqa), valuesStep());
  }
  if (qNorm) queries = applyNorm(queries, qNorm, `${op} (${qNorm.name})`); // [heads, n, headDim]
  if (kNorm) keys = applyNorm(keys, kNorm, `${op} (${kNorm.name})`); // [kvHeads, n, headDim]
  if (rotary) {
    if (tracing && qNorm) steps.push(step('queries.normed', true, queries, qNorm.name));
    if (tracing && kNorm) steps.push(withParams(step('keys.normed', true, expandKvHeads(keys, kvHeadOf), kNorm.name), gqa));
    queries = applyRotary(queries, rotary.table, `${op} (rotary queries)`); // [heads, n, headDim]
    keys = applyRotary(keys, rotary.table, `${op} (rotary keys)`); // [kvHeads, n, headDim]
    if (tracing) {
      const half = rotary.table.rotaryDims / 2;
      const angles: Tensor = { shape: [n, half], data: Float32Array.from(rotary.table.angles) }; // [n, rotaryDims/2]
      steps.push({ ...step('queries.angles', false, angles), params: { rope: rotary.rope, headDim } });
    }
  }
  const ropeParams: StepParams | undefined = rotary ? { rope: rotary.rope } : undefined;
  const keysForHeads = expandKvHeads(keys, kvHeadOf); // [heads, n, headDim]
  const valuesForHeads = expandKvHeads(values, kvHeadOf); // [heads, n, headDim]
  if (tracing) {
    steps.push(withParams(step('queries', true, queries), ropeParams), withParams(step('keys', true, keysForHeads), ropeParams || gqa ? { ...ropeParams, ...gqa } : undefined));
    if (!reshaped) steps.push(valuesStep());
    // One row per query head holding the KV head it reads; a head's slice is that one number.
    if (gqa) steps.push({ ...step('keys.groups', true, { shape: [heads, 1], data: Float32Array.from(kvHeadOf) }), params: gqa }); // [heads, 1]
  }

  const scale = 1 / Math.sqrt(headDim);
  const rawScores = tracing ? new Float32Array(heads * n * n) : undefined;
  const attnScores = new Float32Array(heads * n * n); // [heads, n, n]
  const attnWeights = new Float32Array(heads * n * n); // [heads, n, n]
  const contextVectors = new Float32Array(heads * n * headDim); // [heads, n, headDim]
  const queryData = queries.data, keyData = keys.data, valueData = values.data;
  const shape: HeadShape = { n, headDim, scale, causal, window };
  const scratch = new Float32Array(Math.min(n, BLOCK_ROWS) * n); // one block of scores: [≤ BLOCK_ROWS, ≤ n]

  for (let h = 0; h < heads; h++) {
    options.checkpoint?.();
    const headBase = h * n * headDim;
    const kvBase = kvHeadOf[h] * n * headDim;
    const scoreBase = h * n * n;
    const headQueries = queryData.subarray(headBase, headBase + n * headDim);
    const headKeys = keyData.subarray(kvBase, kvBase + n * headDim);
    // The trace shows QKᵀ whole, masked cells too: one matrix product per head ([n, headDim] · [headDim, n]).
    const raw = rawScores?.subarray(scoreBase, scoreBase + n * n); // [n, n]
    if (raw) {
      scoresInto(headQueries, headKeys, raw, n, headDim, options.checkpoint);
      options.checkpoint?.();
    }
    attendHead(
      headQueries,
      headKeys,
      valueData.subarray(kvBase, kvBase + n * headDim),
      raw,
      attnScores.subarray(scoreBase, scoreBase + n * n),
      attnWeights.subarray(scoreBase, scoreBase + n * n),
      contextVectors.subarray(headBase, headBase + n * headDim),
      shape,
      scratch,
      options.checkpoint,
    );
  }

  const contextTensor: Tensor = { shape: [heads, n, headDim], data: contextVectors };
  const concat = mergeHeads(contextTensor, op); // [n, heads·headDim]
  const result = {
    n,
    dModel: qDim,
    heads,
    headDim,
    causal,
    kvHeads,
    kvHeadOf,
    window,
    queries,
    keys: keysForHeads,
    values: valuesForHeads,
    attnScores: { shape: [heads, n, n], data: attnScores },
    attnWeights: { shape: [heads, n, n], data: attnWeights },
    contextVectors: contextTensor,
  };
  if (!rawScores) return { result, concat };

  const scaledScores = new Float32Array(heads * n * n);
  for (let h = 0; h < heads; h++) {
    options.checkpoint?.();
    for (let idx = h * n * n; idx < (h + 1) * n * n; idx++) scaledScores[idx] = rawScores[idx] * scale;
  }
  steps.push(
    step('rawScores', true, { shape: [heads, n, n], data: rawScores }),
    { ...step('scaledScores', true, { shape: [heads, n, n], data: scaledScores }), params: { headDim } },
    { ...step('maskedScores', true, result.attnScores), params: window === null ? { causal } : { causal, window } },
    step('attnWeights', true, result.attnWeights),
    step('contextVectors', true, contextTensor),
    step('concat', false, concat),
  );
  return { result, concat, steps };
}

export function step(id: TraceStepId, perHead: boolean, tensor: Tensor, source?: string): TraceStep {
  return source === undefined ? { id, perHead, tensor } : { id, perHead, tensor, source };
}
