/**
 * The one inspection every caller runs (the CLI, the worker, the bench and the tests): token ids and a
 * loaded model in; per-layer, per-head attention, metrics and the LM head's predictions out. Layers are
 * either all kept or recomputed on request from each layer's input, so a long input never has to hold
 * every layer's [heads, n, n] matrices at once.
 */
import { UserError } from '../errors';
import { multiHeadAttention, type AttentionResult } from './attention';
import { gpt2Forward, gpt2LayerAttention, type NextToken } from './gpt2';
import type { KeepMode, ModelShape } from './limits';
import { headMetrics, type HeadMetrics } from './metrics';
import { randomMhaWeights, randomModelInput, validateRandomConfig, type RandomModelConfig } from './random';
import type { Tensor } from './tensor';
import type { Gpt2Weights, MhaWeights } from './types';

/** The model an inspection runs: the seeded random single layer, or a GPT-2 checkpoint. */
export type InspectModel =
  | { readonly kind: 'random'; readonly config: RandomModelConfig }
  | { readonly kind: 'gpt2'; readonly weights: Gpt2Weights };

export interface InspectionOptions {
  /** 'all' keeps every layer's weights and scores; 'inputs' (default) keeps each layer's input and recomputes. */
  readonly keep?: KeepMode;
  /** Next-token candidates for the last position (default 10). */
  readonly topK?: number;
  /** Each layer's attention as soon as it is computed (for summaries such as thumbnails). */
  readonly onAttention?: (layer: number, attention: AttentionResult) => void;
  /** After each layer, for progress. */
  readonly onLayer?: (layer: number, layers: number) => void;
  /** Called between heads, layers and LM-head blocks; throwing from it stops the run (cancellation). */
  readonly checkpoint?: () => void;
}

/** What one inspection found. `layer` and `trace` may recompute, so ask for what is shown. */
export interface Inspection {
  readonly tokenIds: readonly number[];
  readonly n: number;
  readonly layers: number;
  readonly heads: number;
  readonly dModel: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly keep: KeepMode;
  readonly metrics: readonly (readonly HeadMetrics[])[]; // [layer][head]
  /** Most likely next tokens after the last position (empty for models without an LM head). */
  readonly topNext: readonly NextToken[];
  /** exp(mean negative log-likelihood of each token given those before); null without an LM head or for one token. */
  readonly perplexity: number | null;
  /** One layer's attention, without the trace: weights and scores are [heads, n, n]. */
  layer(index: number, checkpoint?: () => void): AttentionResult;
  /** One layer's attention with its full step trace (always recomputed: the trace is big). */
  trace(index: number, checkpoint?: () => void): AttentionResult;
}

/** Sizes for limits.ts's estimate, read from the model before anything runs. */
export function modelShape(model: InspectModel): ModelShape {
  if (model.kind === 'random') {
    const d = model.config.dModel;
    return { layers: 1, heads: model.config.heads, dModel: d, mlpWidth: 0, maxPositions: Infinity, vocabSize: 0, weightBytes: 4 * (4 * d * d + 4 * d) };
  }
  const { config, wte, wpe, blocks, lnF } = model.weights;
  let weightBytes = (wte.data.length + wpe.data.length + lnF.weight.data.length + lnF.bias.data.length) * 4;
  for (const block of blocks) for (const t of Object.values(block)) weightBytes += 'data' in t ? t.data.length * 4 : (t.weight.data.length + t.bias.data.length) * 4;
  return {
    layers: config.nLayer,
    heads: config.nHead,
    dModel: config.nEmbd,
    mlpWidth: blocks[0]?.fcWeight.shape[1] ?? 4 * config.nEmbd,
    maxPositions: config.nPositions,
    vocabSize: config.vocabSize,
    weightBytes,
  };
}

function checkLayer(index: number, layers: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= layers) throw new RangeError(`inspection: layer ${index} is outside 0…${layers - 1}`);
}

/** Runs the model on `tokenIds` as given: no tokenizer, nothing added. */
export function inspect(tokenIds: readonly number[], model: InspectModel, options: InspectionOptions = {}): Inspection {
  if (tokenIds.length === 0) throw new UserError('inspection: there are no tokens to inspect');
  return model.kind === 'random' ? inspectRandom(tokenIds, model.config, options) : inspectGpt2(tokenIds, model.weights, options);
}

function inspectRandom(tokenIds: readonly number[], config: RandomModelConfig, options: InspectionOptions): Inspection {
  validateRandomConfig(config);
  for (const [i, id] of tokenIds.entries()) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new UserError(`inspection: token id ${id} at position ${i} must be an integer from 0 to 4294967295`);
  }
  const x = randomModelInput(tokenIds, config, options.checkpoint); // [n, d]
  options.checkpoint?.();
  const weights: MhaWeights = randomMhaWeights(config);
  const { causal } = config;
  // One layer: its result is kept in either mode (the input would be as big as what it recomputes).
  const attention = multiHeadAttention(x, weights, { causal, checkpoint: options.checkpoint });
  options.onAttention?.(0, attention);
  options.onLayer?.(0, 1);
  return {
    tokenIds,
    n: tokenIds.length,
    layers: 1,
    heads: config.heads,
    dModel: config.dModel,
    headDim: config.dModel / config.heads,
    causal,
    keep: options.keep ?? 'inputs',
    metrics: [headMetrics(attention.attnWeights)],
    topNext: [],
    perplexity: null,
    layer: (index) => {
      checkLayer(index, 1);
      return attention;
    },
    trace: (index, checkpoint) => {
      checkLayer(index, 1);
      return multiHeadAttention(x, weights, { causal, trace: true, checkpoint });
    },
  };
}

function inspectGpt2(tokenIds: readonly number[], weights: Gpt2Weights, options: InspectionOptions): Inspection {
  const { config } = weights;
  const keep = options.keep ?? 'inputs';
  const metrics: HeadMetrics[][] = [];
  const kept: AttentionResult[] = [];
  const out = gpt2Forward(weights, tokenIds, {
    // Kept in both modes (n·d per layer, small beside heads·n²): a trace recomputes its layer from it.
    keepLayerInputs: true,
    topK: options.topK ?? 10,
    checkpoint: options.checkpoint,
    onLayer: options.onLayer,
    onAttention: (layer, attention) => {
      metrics.push(headMetrics(attention.attnWeights));
      options.onAttention?.(layer, attention);
      // Only what a later request reads: the trace's intermediates are recomputed when asked for.
      if (keep === 'all') kept.push(attention);
    },
  });
  const layerInputs: readonly Tensor[] = out.layerInputs ?? [];
  // The layer asked for last, so switching heads within a layer does not recompute it.
  let cached: { index: number; attention: AttentionResult } | undefined;
  return {
    tokenIds,
    n: tokenIds.length,
    layers: config.nLayer,
    heads: config.nHead,
    dModel: config.nEmbd,
    headDim: config.nEmbd / config.nHead,
    causal: true,
    keep,
    metrics,
    topNext: out.topNext,
    perplexity: out.perplexity,
    layer: (index, checkpoint) => {
      checkLayer(index, config.nLayer);
      if (keep === 'all') return kept[index];
      if (cached?.index !== index) cached = { index, attention: gpt2LayerAttention(weights, index, layerInputs[index], false, checkpoint) };
      return cached.attention;
    },
    trace: (index, checkpoint) => {
      checkLayer(index, config.nLayer);
      return gpt2LayerAttention(weights, index, layerInputs[index], true, checkpoint);
    },
  };
}
