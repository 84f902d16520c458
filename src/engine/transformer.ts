/**
 * The one forward pass every checkpoint family runs (GPT-2, Llama, Mistral, Qwen, GPT-NeoX, BERT,
 * RoBERTa, DistilBERT): embeddings → blocks → final norm → LM head. What differs between families is
 * data in TransformerWeights (norm kind, positions, residual form, MLP, q/k norm, KV heads, window);
 * the attention core, the trace and the metrics are shared.
 */
import { UserError } from '../errors';
import { attentionFromProjections, step, type AttentionResult, type TraceStep } from './attention';
import { add, applyNorm, geluErfInPlace, geluInPlace, linear, linearTransposed, matmulTransposedInto, mulInPlace, siluInPlace } from './kernels';
import { rotaryTable, type RotaryTable } from './rotary';
import { expectShape, fmtShape, ShapeError, type Tensor } from './tensor';
import type { Activation, Linear, MlpWeights, QkvProjection, RopeConfig, TransformerConfig, TransformerLayer, TransformerWeights } from './types';

export interface ForwardOptions {
  /** How many next-token candidates to return for the last position (default 10). */
  readonly topK?: number;
  /** Compute the language-model head (top-next tokens and perplexity) when the model has one; default true. */
  readonly lmHead?: boolean;
  /** Called after each layer, for progress. */
  readonly onLayer?: (layer: number, layers: number) => void;
  /** Called between heads, between the big steps inside a layer and between LM-head blocks; throwing from it aborts (cancellation). */
  readonly checkpoint?: () => void;
  /** Receives each layer's attention as soon as it is computed; the forward keeps none of them. */
  readonly onAttention?: (layer: number, attention: AttentionResult) => void;
  /** Keep the residual stream entering each block, so any layer's attention can be recomputed later. */
  readonly keepLayerInputs?: boolean;
}

export interface NextToken {
  readonly id: number;
  readonly prob: number;
}

export interface ForwardOutput {
  readonly n: number;
  /** The residual stream entering each block, [n, d] each, when keepLayerInputs. */
  readonly layerInputs?: readonly Tensor[];
  /** Hidden states after the final norm (decoders) or the last block (encoders). */
  readonly lastHidden: Tensor; // [n, d]
  /** Most likely next tokens after the last position, most probable first; empty without an LM head. */
  readonly topNext: readonly NextToken[];
  /** exp(mean negative log-likelihood of each token given the ones before); null for one token or without an LM head. */
  readonly perplexity: number | null;
  /** Natural-log probability of token t+1 given tokens 0..t, for t < n-1 (empty without an LM head). */
  readonly tokenLogProbs: Float32Array;
}

/** y = x·W + b for either stored layout of W. */
export function project(x: Tensor, lin: Linear, op: string, checkpoint?: () => void): Tensor {
  return lin.layout === 'inOut' ? linear(x, lin.weight, lin.bias, op, checkpoint) : linearTransposed(x, lin.weight, lin.bias, op, checkpoint);
}

/** Output width of a projection. */
function outWidth(lin: Linear): number {
  return lin.weight.shape[lin.layout === 'inOut' ? 1 : 0];
}

type QkvPart = 0 | 1 | 2; // queries, keys, values

/** Runs [start, length) of a fused projection's output columns that hold one part (queries, keys or values). */
function fusedRuns(order: 'blocks' | 'perHead', part: QkvPart, config: TransformerConfig): [number, number][] {
  const { heads, kvHeads, headDim } = config;
  if (order === 'blocks') {
    const qDim = heads * headDim;
    const kvDim = kvHeads * headDim;
    return [[part === 0 ? 0 : qDim + (part - 1) * kvDim, part === 0 ? qDim : kvDim]];
  }
  // GPT-NeoX: the output viewed as [heads, 3, headDim].
  return Array.from({ length: heads }, (_, h): [number, number] => [(3 * h + part) * headDim, headDim]);
}

/** The given runs of columns of a [rows, cols] matrix, side by side: [rows, Σ lengths]. */
function takeColumns(m: Tensor, runs: readonly [number, number][]): Tensor {
  const [rows, cols] = m.shape;
  const width = runs.reduce((w, [, len]) => w + len, 0);
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let at = r * width;
    for (const [start, len] of runs) {
      out.set(m.data.subarray(r * cols + start, r * cols + start + len), at);
      at += len;
    }
  }
  return { shape: [rows, width], data: out }; // [rows, width]
}

/** The given runs of rows of a [rows, cols] matrix, transposed: [cols, Σ lengths] (nn.Linear rows → lecture columns). */
function takeRowsTransposed(m: Tensor, runs: readonly [number, number][]): Tensor {
  const cols = m.shape[1];
  const width = runs.reduce((w, [, len]) => w + len, 0);
  const out = new Float32Array(cols * width);
  let at = 0;
  for (const [start, len] of runs) {
    for (let r = 0; r < len; r++, at++) for (let c = 0; c < cols; c++) out[c * width + at] = m.data[(start + r) * cols + c];
  }
  return { shape: [cols, width], data: out }; // [cols, width]
}

/** A projection's weight in the lecture's [d_in, d_out] layout (a copy when stored as [out, in]) and where it comes from. */
function lectureWeight(lin: Linear, runs?: readonly [number, number][], slice?: string): { tensor: Tensor; source: string } {
  const all: [number, number][] = [[0, outWidth(lin)]];
  if (lin.layout === 'inOut') {
    return { tensor: runs ? takeColumns(lin.weight, runs) : lin.weight, source: `${lin.name}.weight${slice ?? ''}` };
  }
  return { tensor: takeRowsTransposed(lin.weight, runs ?? all), source: `${lin.name}.weight${slice ?? ''}.T` };
}

interface Projections {
  readonly queries: Tensor; // [n, heads·headDim]
  readonly keys: Tensor; // [n, kvHeads·headDim]
  readonly values: Tensor; // [n, kvHeads·headDim]
}

function projectQkv(x: Tensor, qkv: QkvProjection, config: TransformerConfig, checkpoint?: () => void): Projections {
  const op = config.family;
  if (qkv.kind === 'separate') {
    return {
      queries: project(x, qkv.query, `${op} ${qkv.query.name}`, checkpoint), // [n, heads·headDim]
      keys: project(x, qkv.key, `${op} ${qkv.key.name}`, checkpoint), // [n, kvHeads·headDim]
      values: project(x, qkv.value, `${op} ${qkv.value.name}`, checkpoint), // [n, kvHeads·headDim]
    };
  }
  const all = project(x, qkv.qkv, `${op} ${qkv.qkv.name}`, checkpoint); // [n, (heads + 2·kvHeads)·headDim]
  const part = (p: QkvPart) => takeColumns(all, fusedRuns(qkv.order, p, config));
  return { queries: part(0), keys: part(1), values: part(2) }; // [n, heads·headDim], [n, kvHeads·headDim] × 2
}

/** W_query, W_key and W_value in the lecture's layout, each with the checkpoint tensor (or slice) it comes from. */
function qkvWeightSteps(qkv: QkvProjection, config: TransformerConfig): TraceStep[] {
  const ids = ['wQuery', 'wKey', 'wValue'] as const;
  if (qkv.kind === 'separate') {
    return [qkv.query, qkv.key, qkv.value].map((lin, p) => {
      const { tensor, source } = lectureWeight(lin);
      return step(ids[p], false, tensor, source);
    });
  }
  const { heads, headDim, dModel } = config;
  return ([0, 1, 2] as const).map((p) => {
    const runs = fusedRuns(qkv.order, p, config);
    let slice: string;
    if (qkv.order === 'perHead') {
      slice = qkv.qkv.layout === 'outIn' ? `.view(${heads}, 3, ${headDim}, ${dModel})[:, ${p}].reshape(${heads * headDim}, ${dModel})` : `.view(${dModel}, ${heads}, 3, ${headDim})[:, :, ${p}].reshape(${dModel}, ${heads * headDim})`;
    } else {
      const [start, len] = runs[0];
      slice = qkv.qkv.layout === 'inOut' ? `[:, ${start}:${start + len}]` : `[${start}:${start + len}]`;
    }
    const { tensor, source } = lectureWeight(qkv.qkv, runs, slice);
    return step(ids[p], false, tensor, source);
  });
}

function activateInPlace(x: Tensor, activation: Activation): Tensor {
  if (activation === 'geluTanh') return geluInPlace(x);
  if (activation === 'geluErf') return geluErfInPlace(x);
  return siluInPlace(x);
}

function mlpForward(x: Tensor, mlp: MlpWeights, family: string, checkpoint?: () => void): Tensor {
  if (mlp.kind === 'dense') {
    const hidden = activateInPlace(project(x, mlp.up, `${family} ${mlp.up.name}`, checkpoint), mlp.activation); // [n, mlpWidth]
    checkpoint?.();
    return project(hidden, mlp.down, `${family} ${mlp.down.name}`, checkpoint); // [n, d]
  }
  const gate = activateInPlace(project(x, mlp.gate, `${family} ${mlp.gate.name}`, checkpoint), mlp.activation); // [n, mlpWidth]
  checkpoint?.();
  mulInPlace(gate, project(x, mlp.up, `${family} ${mlp.up.name}`, checkpoint), `${family} ${mlp.gate.name} ⊙ ${mlp.up.name}`); // [n, mlpWidth]
  checkpoint?.();
  return project(gate, mlp.down, `${family} ${mlp.down.name}`, checkpoint); // [n, d]
}

/** Positions each token's embedding and rotation use: 0…n−1, or RoBERTa's count of non-padding tokens after padding_idx. */
export function positionIds(config: TransformerConfig, tokenIds: readonly number[]): Int32Array {
  const positions = new Int32Array(tokenIds.length);
  const scheme = config.positions;
  const paddingIdx = scheme.kind === 'learned' ? scheme.paddingIdx : undefined;
  if (paddingIdx !== undefined) {
    // create_position_ids_from_input_ids: padding tokens sit at padding_idx, the others count on from it.
    let count = 0;
    tokenIds.forEach((id, i) => {
      positions[i] = id === paddingIdx ? paddingIdx : paddingIdx + ++count;
    });
  } else {
    for (let i = 0; i < positions.length; i++) positions[i] = i;
  }
  return positions;
}

/** The rotary table for positions 0…n−1, when the family rotates queries and keys. */
function rotaryFor(config: TransformerConfig, n: number): { table: RotaryTable; rope: RopeConfig } | undefined {
  const scheme = config.positions;
  if (scheme.kind !== 'rotary') return undefined;
  return { table: rotaryTable(scheme.rope, Array.from({ length: n }, (_, i) => i)), rope: scheme.rope };
}

function checkTokens(config: TransformerConfig, tokenIds: readonly number[]): void {
  const n = tokenIds.length;
  if (n === 0) throw new UserError(`${config.family}: there are no tokens to run the model on`);
  if (n > config.maxPositions) {
    throw new UserError(`${config.family}: the input has ${n} tokens but this model supports at most ${config.maxPositions} (${config.maxPositionsKey})`);
  }
  tokenIds.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new UserError(`${config.family}: token id ${id} at position ${i} is outside the vocabulary (0…${config.vocabSize - 1})`);
    }
  });
}

/** h = tokenEmbedding[ids] + positionEmbedding[positions] (+ tokenTypeEmbedding[0]), then the embedding norm. */
function embed(model: TransformerWeights, tokenIds: readonly number[]): Tensor {
  const { config } = model;
  const n = tokenIds.length;
  const d = config.dModel;
  expectShape(config.family, 'token embedding', model.tokenEmbedding, [config.vocabSize, d]);
  const hidden = new Float32Array(n * d); // [n, d]
  const positions = positionIds(config, tokenIds);
  const pos = model.positionEmbedding;
  if (pos) expectShape(config.family, 'position embedding', pos, [-1, d]);
  const type0 = model.tokenTypeEmbedding?.data.subarray(0, d);
  for (let i = 0; i < n; i++) {
    const tok = tokenIds[i] * d;
    const p = positions[i] * d;
    for (let j = 0; j < d; j++) {
      let v = model.tokenEmbedding.data[tok + j];
      if (pos) v += pos.data[p + j];
      if (type0) v += type0[j];
      hidden[i * d + j] = v;
    }
  }
  const h: Tensor = { shape: [n, d], data: hidden };
  return model.embeddingNorm ? applyNorm(h, model.embeddingNorm, `${config.family} ${model.embeddingNorm.name}`) : h;
}

function layerAt(model: TransformerWeights, index: number): TransformerLayer {
  const layer = model.layers[index];
  if (!layer) throw new RangeError(`${model.config.family}: layer ${index} is outside 0…${model.layers.length - 1}`);
  return layer;
}

type Rotary = ReturnType<typeof rotaryFor>;

/**
 * Norm (pre-norm families) → Q, K, V → the shared attention core → output projection, for one block.
 * `rotary` is the same table for every layer of a forward, so the forward computes it once.
 */
function blockAttention(model: TransformerWeights, index: number, x: Tensor, trace: boolean, checkpoint?: () => void, rotary: Rotary = rotaryFor(model.config, x.shape[0])): AttentionResult {
  const { config } = model;
  const layer = layerAt(model, index);
  const family = config.family;
  const postNorm = config.residual === 'postNorm';
  const attnIn = postNorm ? x : applyNorm(x, layer.attnNorm, `${family} ${layer.attnNorm.name}`); // [n, d]
  const { queries, keys, values } = projectQkv(attnIn, layer.qkv, config, checkpoint);
  const core = attentionFromProjections(queries, keys, values, config.heads, {
    causal: config.causal,
    trace,
    checkpoint,
    kvHeads: config.kvHeads,
    window: config.windows[index] ?? null,
    qNorm: layer.qNorm,
    kNorm: layer.kNorm,
    rotary,
  });
  const output = project(core.concat, layer.outProj, `${family} ${layer.outProj.name}`, checkpoint); // [n, d]
  const result = { ...core.result, dModel: config.dModel, output };
  if (!trace) return result;
  const outProj = lectureWeight(layer.outProj);
  const steps: TraceStep[] = [
    postNorm ? { ...step('x', false, attnIn), params: { norm: 'none' } } : { ...step('x', false, attnIn, `${layer.attnNorm.name}(h)`), params: { norm: layer.attnNorm.kind } },
    ...qkvWeightSteps(layer.qkv, config),
    ...(core.steps ?? []),
    step('outProj', false, outProj.tensor, outProj.source),
    step('output', false, output, layer.outProj.name),
  ];
  return { ...result, trace: steps };
}

/** One layer's attention, recomputed from the residual stream that entered the block (see keepLayerInputs). */
export function layerAttention(model: TransformerWeights, index: number, layerInput: Tensor, trace: boolean, checkpoint?: () => void): AttentionResult {
  layerAt(model, index);
  expectShape(`${model.config.family} layerAttention`, 'layer input', layerInput, [-1, model.config.dModel]);
  return blockAttention(model, index, layerInput, trace, checkpoint);
}

/** The rest of a block once its attention is known: residual adds, norms and the MLP in the family's form. */
function blockRest(model: TransformerWeights, layer: TransformerLayer, x: Tensor, attentionOut: Tensor, checkpoint?: () => void): Tensor {
  const family = model.config.family;
  const norm2 = (h: Tensor) => applyNorm(h, layer.mlpNorm, `${family} ${layer.mlpNorm.name}`); // [n, d]
  const mlp = (h: Tensor) => mlpForward(h, layer.mlp, family, checkpoint); // [n, d]
  switch (model.config.residual) {
    case 'serial': {
      const h = add(x, attentionOut, `${family} residual (attention)`); // [n, d]
      return add(h, mlp(norm2(h)), `${family} residual (mlp)`);
    }
    case 'parallel':
      // Both branches read the block's input: x + attn(norm1(x)) + mlp(norm2(x)).
      return add(add(x, attentionOut, `${family} residual (attention)`), mlp(norm2(x)), `${family} residual (mlp)`);
    case 'postNorm': {
      const h = applyNorm(add(x, attentionOut, `${family} residual (attention)`), layer.attnNorm, `${family} ${layer.attnNorm.name}`); // [n, d]
      return norm2(add(h, mlp(h), `${family} residual (mlp)`));
    }
  }
}

/** Runs the model on token ids and captures attention for every layer and head. */
export function transformerForward(model: TransformerWeights, tokenIds: readonly number[], options: ForwardOptions = {}): ForwardOutput {
  const { config } = model;
  checkTokens(config, tokenIds);
  if (model.layers.length !== config.layers) throw new ShapeError(config.family, `the config has ${config.layers} layers but the weights ${model.layers.length}`);
  let hidden = embed(model, tokenIds); // [n, d]
  const layerInputs: Tensor[] | undefined = options.keepLayerInputs ? [] : undefined;
  const rotary = rotaryFor(config, tokenIds.length);
  model.layers.forEach((layer, index) => {
    layerInputs?.push(hidden);
    const attention = blockAttention(model, index, hidden, false, options.checkpoint, rotary);
    options.onAttention?.(index, attention);
    options.checkpoint?.();
    hidden = blockRest(model, layer, hidden, attention.output, options.checkpoint); // [n, d]
    options.onLayer?.(index, config.layers);
  });
  const lastHidden = model.finalNorm ? applyNorm(hidden, model.finalNorm, `${config.family} ${model.finalNorm.name}`) : hidden; // [n, d]
  const head = options.lmHead === false || !model.lmHead ? undefined : languageModelHead(model.lmHead, lastHidden, tokenIds, options.topK ?? 10, options.checkpoint);
  return {
    n: tokenIds.length,
    layerInputs,
    lastHidden,
    topNext: head?.topNext ?? [],
    perplexity: head?.perplexity ?? null,
    tokenLogProbs: head?.tokenLogProbs ?? new Float32Array(0),
  };
}

/** Every distinct weight tensor of the model (a tied LM head counts once). */
export function weightTensors(model: TransformerWeights): Tensor[] {
  const seen = new Set<Float32Array>();
  const out: Tensor[] = [];
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    if ('data' in value && (value as Tensor).data instanceof Float32Array) {
      const t = value as Tensor;
      if (!seen.has(t.data)) {
        seen.add(t.data);
        out.push(t);
      }
      return;
    }
    for (const child of Object.values(value)) visit(child);
  };
  visit({ ...model, config: undefined });
  return out;
}

/** Learned parameters the model holds (a tied LM head counts once). */
export function parameterCount(model: TransformerWeights): number {
  return weightTensors(model).reduce((sum, t) => sum + t.data.length, 0);
}

/** Vocabulary rows of LM-head logits computed at once (limits.ts counts one block per token). */
export const VOCAB_BLOCK = 2048;

/**
 * logits = lastHidden · lmHeadᵀ. The [n, vocab] logits are never held at once: the vocabulary is walked
 * in blocks with a running log-sum-exp per position.
 */
function languageModelHead(lmHead: Tensor, lastHidden: Tensor, tokenIds: readonly number[], topK: number, checkpoint?: () => void) {
  const [n, d] = lastHidden.shape;
  if (lmHead.shape.length !== 2 || lmHead.shape[1] !== d) throw new ShapeError('lm head', `lastHidden ${fmtShape(lastHidden.shape)} needs an LM head of [vocab, ${d}], got ${fmtShape(lmHead.shape)}`);
  const vocabSize = lmHead.shape[0];
  const runMax = new Float64Array(n).fill(-Infinity);
  const runSum = new Float64Array(n);
  const targetLogit = new Float64Array(n);
  const lastLogits = new Float32Array(vocabSize);
  const blockLogits = new Float32Array(n * VOCAB_BLOCK); // [n, block]
  for (let v0 = 0; v0 < vocabSize; v0 += VOCAB_BLOCK) {
    checkpoint?.();
    const width = Math.min(VOCAB_BLOCK, vocabSize - v0);
    // Rows v0 … v0+width-1 of the head are the block's [width, d] slab: logits = lastHidden · slabᵀ.
    const slab = lmHead.data.subarray(v0 * d, (v0 + width) * d); // [width, d]
    const logits = blockLogits.subarray(0, n * width);
    matmulTransposedInto(lastHidden.data, slab, logits, n, d, width); // [n, width]
    for (let i = 0; i < n; i++) {
      const row = i * width;
      let blockMax = -Infinity;
      for (let v = 0; v < width; v++) if (logits[row + v] > blockMax) blockMax = logits[row + v];
      const newMax = Math.max(runMax[i], blockMax);
      let sum = runSum[i] * Math.exp(runMax[i] - newMax);
      for (let v = 0; v < width; v++) sum += Math.exp(logits[row + v] - newMax);
      runMax[i] = newMax;
      runSum[i] = sum;
      const target = i + 1 < n ? tokenIds[i + 1] : -1;
      if (target >= v0 && target < v0 + width) targetLogit[i] = logits[row + target - v0];
    }
    lastLogits.set(logits.subarray((n - 1) * width, n * width), v0);
  }
  const logSumExp = (i: number) => runMax[i] + Math.log(runSum[i]);
  const tokenLogProbs = new Float32Array(Math.max(0, n - 1));
  let nll = 0;
  for (let i = 0; i + 1 < n; i++) {
    tokenLogProbs[i] = targetLogit[i] - logSumExp(i);
    nll -= tokenLogProbs[i];
  }
  const perplexity = n > 1 ? Math.exp(nll / (n - 1)) : null;

  const lse = logSumExp(n - 1);
  const topCount = Math.max(0, Math.min(topK, vocabSize));
  const order = topIndices(lastLogits, topCount);
  const topNext = order.map((id) => ({ id, prob: Math.exp(lastLogits[id] - lse) }));
  return { topNext, perplexity, tokenLogProbs };
}

/** Indices of the k largest values, largest first (ties: smaller index first). */
export function topIndices(values: Float32Array, k: number): number[] {
  if (k <= 0) return [];
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (best.length === k) {
      if (!(v > values[best[k - 1]])) continue;
      best.pop();
    }
    let pos = best.length;
    while (pos > 0 && v > values[best[pos - 1]]) pos--;
    best.splice(pos, 0, i);
  }
  return best;
}
