import { multiHeadAttention, type AttentionResult } from './attention';
import { gpt2Forward, type NextToken } from './gpt2';
import { headMetrics, type HeadMetrics } from './metrics';
import { randomMhaWeights, randomModelInput, type RandomModelConfig } from './random';
import type { Tensor } from './tensor';
import type { Gpt2Weights } from './types';

/** The model an inspection runs: the seeded random single layer, or a real GPT-2 checkpoint. */
export type InspectModel =
  | { readonly kind: 'random'; readonly config: RandomModelConfig }
  | { readonly kind: 'gpt2'; readonly weights: Gpt2Weights };

export interface InspectOptions {
  /** Layer whose attention gets a full step trace (random model: always layer 0). */
  readonly traceLayer?: number;
  readonly topK?: number;
  readonly onLayer?: (layer: number, layers: number) => void;
}

/** Everything an inspection shows, per layer and head. */
export interface Inspection {
  readonly n: number;
  readonly layers: number;
  readonly heads: number;
  readonly dModel: number;
  readonly causal: boolean;
  readonly attentions: readonly Tensor[]; // [layer] → [heads, n, n]
  readonly scores: readonly Tensor[]; // [layer] → [heads, n, n], masked = -Infinity
  readonly metrics: readonly (readonly HeadMetrics[])[]; // [layer][head]
  readonly traced?: { readonly layer: number; readonly attention: AttentionResult };
  readonly topNext: readonly NextToken[];
  readonly perplexity: number | null;
}

export function inspectTokens(tokenIds: readonly number[], model: InspectModel, options: InspectOptions = {}): Inspection {
  if (model.kind === 'random') {
    const x = randomModelInput(tokenIds, model.config); // [n, d]
    const attention = multiHeadAttention(x, randomMhaWeights(model.config), { causal: model.config.causal, trace: options.traceLayer !== undefined });
    options.onLayer?.(0, 1);
    return {
      n: tokenIds.length,
      layers: 1,
      heads: model.config.heads,
      dModel: model.config.dModel,
      causal: model.config.causal,
      attentions: [attention.attnWeights],
      scores: [attention.attnScores],
      metrics: [headMetrics(attention.attnWeights)],
      traced: options.traceLayer !== undefined ? { layer: 0, attention } : undefined,
      topNext: [],
      perplexity: null,
    };
  }
  const { config } = model.weights;
  const out = gpt2Forward(model.weights, tokenIds, {
    keepScores: true,
    traceLayer: options.traceLayer,
    topK: options.topK,
    onLayer: options.onLayer,
  });
  return {
    n: out.n,
    layers: config.nLayer,
    heads: config.nHead,
    dModel: config.nEmbd,
    causal: true,
    attentions: out.attentions,
    scores: out.scores ?? [],
    metrics: out.attentions.map((a) => headMetrics(a)),
    traced: out.tracedLayer,
    topNext: out.topNext,
    perplexity: out.perplexity,
  };
}
