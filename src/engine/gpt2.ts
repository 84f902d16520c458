import { UserError } from '../errors';
import { attentionFromProjections, step, type AttentionResult, type TraceStep } from './attention';
import { add, geluInPlace, layerNorm, linear, matmulTransposedInto } from './kernels';
import { expectShape, type Tensor } from './tensor';
import type { Gpt2Block, Gpt2Weights } from './types';

export interface Gpt2ForwardOptions {
  /** How many next-token candidates to return for the last position (default 10). */
  readonly topK?: number;
  /** Compute the language-model head (top-next tokens and perplexity); default true. */
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

export interface Gpt2Output {
  readonly n: number;
  /** The residual stream entering each block, [n, d] each, when keepLayerInputs. */
  readonly layerInputs?: readonly Tensor[];
  /** Hidden states after the final LayerNorm. */
  readonly lastHidden: Tensor; // [n, d]
  /** Most likely next tokens after the last position, most probable first. */
  readonly topNext: readonly NextToken[];
  /** exp(mean negative log-likelihood of each token given the ones before); null for one token. */
  readonly perplexity: number | null;
  /** Natural-log probability of token t+1 given tokens 0..t, for t < n-1. */
  readonly tokenLogProbs: Float32Array;
}

/** Reads columns [from, from+width) of a [rows, cols] matrix into a new [rows, width] tensor. */
function columns(m: Tensor, from: number, width: number): Tensor {
  const [rows, cols] = m.shape;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) out.set(m.data.subarray(r * cols + from, r * cols + from + width), r * width);
  return { shape: [rows, width], data: out }; // [rows, width]
}

/** One layer's attention, recomputed from the residual stream that entered the block (see keepLayerInputs). */
export function gpt2LayerAttention(model: Gpt2Weights, layer: number, layerInput: Tensor, trace: boolean, checkpoint?: () => void): AttentionResult {
  const block = model.blocks[layer];
  if (!block) throw new RangeError(`gpt2: layer ${layer} is outside 0…${model.blocks.length - 1}`);
  expectShape('gpt2LayerAttention', 'layer input', layerInput, [-1, model.config.nEmbd]);
  return blockAttention(layerInput, block, model.config.nHead, model.config.layerNormEpsilon, trace, checkpoint);
}

/** LN1 → causal MHA for one block; returns the attention result including c_proj's output. */
function blockAttention(x: Tensor, block: Gpt2Block, heads: number, eps: number, trace: boolean, checkpoint?: () => void): AttentionResult {
  const d = x.shape[1];
  const normed = layerNorm(x, block.ln1.weight, block.ln1.bias, eps, 'gpt2 ln_1'); // [n, d]
  const qkv = linear(normed, block.cAttnWeight, block.cAttnBias, 'gpt2 c_attn', checkpoint); // [n, 3d]
  const queries = columns(qkv, 0, d); // [n, d]
  const keys = columns(qkv, d, d); // [n, d]
  const values = columns(qkv, 2 * d, d); // [n, d]
  const core = attentionFromProjections(queries, keys, values, heads, { causal: true, trace, checkpoint });
  const output = linear(core.concat, block.cProjWeight, block.cProjBias, 'gpt2 c_proj', checkpoint); // [n, d]
  if (!trace) return { ...core.result, output };
  // c_attn holds W_query | W_key | W_value side by side; each step shows its slice.
  const slice = (id: 'wQuery' | 'wKey' | 'wValue', at: number) => step(id, false, columns(block.cAttnWeight, at, d), `c_attn.weight[:, ${at}:${at + d}]`);
  const steps: TraceStep[] = [
    step('x', false, normed, 'ln_1(h)'),
    slice('wQuery', 0),
    slice('wKey', d),
    slice('wValue', 2 * d),
    ...(core.steps ?? []),
    step('outProj', false, block.cProjWeight, 'c_proj.weight'),
    step('output', false, output, 'c_proj'),
  ];
  return { ...core.result, output, trace: steps };
}

/** Runs GPT-2 on token ids and captures attention for every layer and head. */
export function gpt2Forward(model: Gpt2Weights, tokenIds: readonly number[], options: Gpt2ForwardOptions = {}): Gpt2Output {
  const { config } = model;
  const n = tokenIds.length;
  const d = config.nEmbd;
  const eps = config.layerNormEpsilon;
  if (n === 0) throw new UserError('gpt2: there are no tokens to run the model on');
  if (n > config.nPositions) {
    throw new UserError(`gpt2: the input has ${n} tokens but this model supports at most ${config.nPositions} (n_positions)`);
  }
  expectShape('gpt2', 'wte.weight', model.wte, [config.vocabSize, d]);
  expectShape('gpt2', 'wpe.weight', model.wpe, [config.nPositions, d]);

  // h = wte[ids] + wpe[positions]
  let hidden: Tensor = { shape: [n, d], data: new Float32Array(n * d) }; // [n, d]
  for (let i = 0; i < n; i++) {
    const id = tokenIds[i];
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new UserError(`gpt2: token id ${id} at position ${i} is outside the vocabulary (0…${config.vocabSize - 1})`);
    }
    for (let j = 0; j < d; j++) hidden.data[i * d + j] = model.wte.data[id * d + j] + model.wpe.data[i * d + j];
  }

  const layerInputs: Tensor[] | undefined = options.keepLayerInputs ? [] : undefined;
  model.blocks.forEach((block, layer) => {
    layerInputs?.push(hidden);
    const attention = blockAttention(hidden, block, config.nHead, eps, false, options.checkpoint);
    options.onAttention?.(layer, attention);
    options.checkpoint?.();
    hidden = add(hidden, attention.output, 'gpt2 residual (attention)'); // [n, d]
    const normed = layerNorm(hidden, block.ln2.weight, block.ln2.bias, eps, 'gpt2 ln_2'); // [n, d]
    const fc = geluInPlace(linear(normed, block.fcWeight, block.fcBias, 'gpt2 mlp.c_fc', options.checkpoint)); // [n, 4d]
    options.checkpoint?.();
    const mlpOut = linear(fc, block.mlpProjWeight, block.mlpProjBias, 'gpt2 mlp.c_proj', options.checkpoint); // [n, d]
    hidden = add(hidden, mlpOut, 'gpt2 residual (mlp)');
    options.onLayer?.(layer, config.nLayer);
  });
  const lastHidden = layerNorm(hidden, model.lnF.weight, model.lnF.bias, eps, 'gpt2 ln_f'); // [n, d]

  const head = options.lmHead === false ? undefined : languageModelHead(model, lastHidden, tokenIds, options.topK ?? 10, options.checkpoint);
  return {
    n,
    layerInputs,
    lastHidden,
    topNext: head?.topNext ?? [],
    perplexity: head?.perplexity ?? null,
    tokenLogProbs: head?.tokenLogProbs ?? new Float32Array(0),
  };
}

const VOCAB_BLOCK = 2048;

/**
 * logits = lastHidden · wteᵀ (GPT-2 ties the LM head to the token embeddings). The [n, vocab] logits
 * are never held at once: the vocabulary is walked in blocks with a running log-sum-exp per position.
 */
function languageModelHead(model: Gpt2Weights, lastHidden: Tensor, tokenIds: readonly number[], topK: number, checkpoint?: () => void) {
  const { vocabSize } = model.config;
  const [n, d] = lastHidden.shape;
  const runMax = new Float64Array(n).fill(-Infinity);
  const runSum = new Float64Array(n);
  const targetLogit = new Float64Array(n);
  const lastLogits = new Float32Array(vocabSize);
  const blockLogits = new Float32Array(n * VOCAB_BLOCK); // [n, block]
  for (let v0 = 0; v0 < vocabSize; v0 += VOCAB_BLOCK) {
    checkpoint?.();
    const width = Math.min(VOCAB_BLOCK, vocabSize - v0);
    // Rows v0 … v0+width-1 of wte are the block's [width, d] slab: logits = lastHidden · slabᵀ.
    const slab = model.wte.data.subarray(v0 * d, (v0 + width) * d); // [width, d]
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
