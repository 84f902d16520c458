/**
 * The one inspection every caller runs (the CLI, the worker, the bench and the tests): token ids and a
 * loaded model of any family in; per-layer, per-head attention, metrics and the LM head's predictions out. Layers are
 * either all kept or recomputed on request from each layer's input, so a long input never has to hold
 * every layer's [heads, n, n] matrices at once.
 */
import { UserError } from '../errors';
import { multiHeadAttention, type AttentionResult } from './attention';
import { gpt2AsTransformer } from './gpt2';
import type { KeepMode, ModelShape } from './limits';
import { headMetrics, type HeadMetrics } from './metrics';
import { randomMhaWeights, randomModelInput, validateRandomConfig, type RandomModelConfig } from './random';
import type { Tensor } from './tensor';
import { layerAttention, transformerForward, weightTensors, type NextToken } from './transformer';
import type { Gpt2Weights, MhaWeights, TransformerWeights } from './types';

/** The model an inspection runs: the seeded random single layer, or a checkpoint of any family (GPT-2 as loaded by its own loader, or already mapped). */
export type InspectModel =
  | { readonly kind: 'random'; readonly config: RandomModelConfig }
  | { readonly kind: 'gpt2'; readonly weights: Gpt2Weights }
  | { readonly kind: 'transformer'; readonly weights: TransformerWeights };

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
  /** Key/value heads (fewer than heads under grouped-query attention). */
  readonly kvHeads: number;
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
    const heads = model.config.heads;
    return { layers: 1, heads, kvHeads: heads, headDim: d / heads, dModel: d, mlpWidth: 0, maxPositions: Infinity, vocabSize: 0, weightBytes: 4 * (4 * d * d + 4 * d) };
  }
  const weights = model.kind === 'gpt2' ? gpt2AsTransformer(model.weights) : model.weights;
  const { config } = weights;
  return {
    layers: config.layers,
    heads: config.heads,
    kvHeads: config.kvHeads,
    headDim: config.headDim,
    dModel: config.dModel,
    mlpWidth: config.mlpWidth,
    gatedMlp: weights.layers[0]?.mlp.kind === 'gated',
    maxPositions: config.maxPositions,
    vocabSize: weights.lmHead?.shape[0] ?? 0,
    weightBytes: weightTensors(weights).reduce((bytes, t) => bytes + t.data.length * 4, 0),
  };
}

function checkLayer(index: number, layers: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= layers) throw new RangeError(`inspection: layer ${index} is outside 0…${layers - 1}`);
}

/** Runs the model on `tokenIds` as given: no tokenizer, nothing added. */
export function inspect(tokenIds: readonly number[], model: InspectModel, options: InspectionOptions = {}): Inspection {
  if (tokenIds.length === 0) throw new UserError('inspection: there are no tokens to inspect');
  if (model.kind === 'random') return inspectRandom(tokenIds, model.config, options);
  return inspectTransformer(tokenIds, model.kind === 'gpt2' ? gpt2AsTransformer(model.weights) : model.weights, options);
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
    kvHeads: config.heads,
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

function inspectTransformer(tokenIds: readonly number[], weights: TransformerWeights, options: InspectionOptions): Inspection {
  const { config } = weights;
  const keep = options.keep ?? 'inputs';
  const metrics: HeadMetrics[][] = [];
  const kept: AttentionResult[] = [];
  const out = transformerForward(weights, tokenIds, {
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
    layers: config.layers,
    heads: config.heads,
    kvHeads: config.kvHeads,
    dModel: config.dModel,
    headDim: config.headDim,
    causal: config.causal,
    keep,
    metrics,
    topNext: out.topNext,
    perplexity: out.perplexity,
    layer: (index, checkpoint) => {
      checkLayer(index, config.layers);
      if (keep === 'all') return kept[index];
      if (cached?.index !== index) {
        cached = undefined; // let the old layer go before the new one is allocated: the estimate counts one
        cached = { index, attention: layerAttention(weights, index, layerInputs[index], false, checkpoint) };
      }
      return cached.attention;
    },
    trace: (index, checkpoint) => {
      checkLayer(index, config.layers);
      return layerAttention(weights, index, layerInputs[index], true, checkpoint);
    },
  };
}
