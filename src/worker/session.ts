/**
 * One inspection as the worker keeps it: enough to answer layer and trace requests later without
 * holding every layer's [heads, n, n] matrices (a GPT-2 layer is recomputed from its input instead).
 */
import { multiHeadAttention, type AttentionResult } from '../engine/attention';
import type { LimitReason } from '../engine/limits';
import { gpt2Forward, gpt2LayerAttention } from '../engine/gpt2';
import { headMetrics, type HeadMetrics } from '../engine/metrics';
import { randomMhaWeights, randomModelInput, validateRandomConfig, type RandomModelConfig } from '../engine/random';
import type { Tensor } from '../engine/tensor';
import type { Gpt2Weights, MhaWeights } from '../engine/types';
import type { ExportSource } from '../export/format';
import { THUMBNAIL_SIZE, thumbnail, type LayerData, type ModelView, type TraceStepView } from '../protocol';
import { createTokenizer, displayText } from '../tokenize';
import type { Token, Tokenizer, TokenizerName } from '../tokenize/types';
import type { InspectedPayload, InspectJob } from './protocol';

/** Thrown at a checkpoint when a newer job has replaced this one. */
export class JobCancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'JobCancelledError';
  }
}

/**
 * Most attention cells (heads × n², per layer) one inspection may hold: each of weights and scores is
 * 4 bytes a cell, so one layer's message stays under ~512 MB. Longer inputs are cut, with a note.
 */
export const MAX_ATTENTION_CELLS = 1 << 26;

/** Bad input the user can fix (empty text, model/tokenizer mismatch): shown as is. */
export class InspectInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InspectInputError';
  }
}

export interface RunContext {
  readonly loadGpt2: (folder: string) => Promise<Gpt2Weights>;
  readonly isCancelled: () => boolean;
  readonly progress: (message: string, fraction: number) => void;
  readonly backend: () => string;
}

type Backing =
  | { readonly kind: 'random'; readonly x: Tensor; readonly weights: MhaWeights; readonly causal: boolean; readonly attention: AttentionResult }
  | { readonly kind: 'gpt2'; readonly model: Gpt2Weights; readonly layerInputs: readonly Tensor[] };

export class InspectionSession {
  private cached: { layer: number; attention: AttentionResult } | undefined;

  constructor(
    readonly resultId: number,
    readonly tokens: readonly Token[],
    readonly tokenizer: Tokenizer,
    readonly model: ModelView,
    readonly metrics: readonly (readonly HeadMetrics[])[],
    readonly topNext: InspectedPayload['topNext'],
    readonly perplexity: number | null,
    private readonly backing: Backing,
  ) {}

  get n(): number {
    return this.tokens.length;
  }

  private attention(layer: number, trace: boolean): AttentionResult {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.model.layers) {
      throw new InspectInputError(`layer ${layer} does not exist (the model has ${this.model.layers})`);
    }
    const b = this.backing;
    if (b.kind === 'random') {
      return trace ? multiHeadAttention(b.x, b.weights, { causal: b.causal, trace: true }) : b.attention;
    }
    if (!trace && this.cached?.layer === layer) return this.cached.attention;
    const attention = gpt2LayerAttention(b.model, layer, b.layerInputs[layer], trace);
    // Cache without the trace: its extra [heads, n, n] tensors are only needed once.
    this.cached = { layer, attention: { ...attention, trace: undefined } };
    return attention;
  }

  layer(layer: number): LayerData {
    const a = this.attention(layer, false);
    return { resultId: this.resultId, layer, weights: a.attnWeights.data, scores: a.attnScores.data };
  }

  /** The step trace of one head: per-head steps sliced to that head ([heads, …] → […]). */
  trace(layer: number, head: number): TraceStepView[] {
    if (!Number.isInteger(head) || head < 0 || head >= this.model.heads) {
      throw new InspectInputError(`head ${head} does not exist (the model has ${this.model.heads})`);
    }
    const a = this.attention(layer, true);
    return (a.trace ?? []).map((step) => {
      const shape = step.perHead ? step.tensor.shape.slice(1) : [...step.tensor.shape];
      const size = shape.reduce((p, d) => p * d, 1);
      const data = step.perHead ? step.tensor.data.slice(head * size, (head + 1) * size) : step.tensor.data.slice();
      const formula = step.perHead ? `${step.formula} (head ${head})` : step.formula;
      return { id: step.id, title: step.title, formula, explanation: step.explanation, shape, data };
    });
  }

  exportSource(): ExportSource {
    return {
      n: this.n,
      layers: this.model.layers,
      heads: this.model.heads,
      layer: (index) => {
        const a = this.attention(index, false);
        return { weights: a.attnWeights, scores: a.attnScores };
      },
      metrics: this.metrics,
      topNext: this.topNext.map(({ id, prob }) => ({ id, prob })),
      perplexity: this.perplexity,
    };
  }
}

function tokenView(t: Token) {
  return { id: t.id, text: t.text, start: t.start, end: t.end };
}

/** Tokenises, cuts to the limits, runs the model, and keeps what later requests need. */
export async function runInspection(resultId: number, job: InspectJob, ctx: RunContext): Promise<{ session: InspectionSession; payload: InspectedPayload }> {
  const started = performance.now();
  // GPT-2 reads GPT-2 ids whatever the tokenizer setting says (the setting's description says so).
  const tokenizerName = job.model.kind === 'gpt2' ? 'gpt2' : job.tokenizer;
  const tokenizer = createTokenizer(tokenizerName);
  ctx.progress('Tokenizing', 0);
  const allTokens = tokenizer.encode(job.text);
  if (allTokens.length === 0) throw new InspectInputError('There is nothing to inspect: the text has no tokens.');

  let gpt2: Gpt2Weights | undefined;
  if (ctx.isCancelled()) throw new JobCancelledError();
  if (job.model.kind === 'gpt2') {
    ctx.progress(`Loading ${job.model.label}`, 0.02);
    gpt2 = await ctx.loadGpt2(job.model.folder);
    if (ctx.isCancelled()) throw new JobCancelledError();
  }
  const heads = job.model.kind === 'gpt2' ? gpt2!.config.nHead : job.model.config.heads;
  const limits: [number, LimitReason][] = [
    [job.maxTokens, 'maxTokens'],
    [gpt2 ? gpt2.config.nPositions : Infinity, 'nPositions'],
    [Math.floor(Math.sqrt(MAX_ATTENTION_CELLS / heads)), 'memory'],
  ];
  const [, why] = limits.reduce((a, b) => (b[0] < a[0] ? b : a));
  const limit = Math.min(...limits.map(([l]) => l));
  const tokens = allTokens.length > limit ? allTokens.slice(0, limit) : allTokens;
  const truncation = tokens.length < allTokens.length ? { totalTokens: allTokens.length, keptTokens: tokens.length, reason: why } : null;
  const ids = tokens.map((t) => t.id);
  const n = tokens.length;
  const { model, metrics, topNext, perplexity, thumbnails, backing, first } =
    job.model.kind === 'random' ? runRandom(job.model.config, ids, tokenizerName, ctx) : runGpt2(gpt2!, job.model.label, ids, tokenizer, ctx);
  const session = new InspectionSession(resultId, tokens, tokenizer, model, metrics, topNext, perplexity, backing);
  return {
    session,
    payload: {
      tokens: tokens.map(tokenView),
      model,
      truncation,
      metrics,
      topNext,
      perplexity,
      thumbnails: { side: Math.min(THUMBNAIL_SIZE, n), data: thumbnails },
      elapsedMs: performance.now() - started,
      backend: ctx.backend(),
      firstLayer: { resultId, layer: 0, weights: first.attnWeights.data, scores: first.attnScores.data },
    },
  };
}

interface ModelRun {
  readonly model: ModelView;
  readonly metrics: HeadMetrics[][];
  readonly topNext: InspectedPayload['topNext'];
  readonly perplexity: number | null;
  readonly thumbnails: Float32Array; // [layers, heads, side, side]
  readonly backing: Backing;
  /** Layer 0's attention, shown first. */
  readonly first: AttentionResult;
}

function runRandom(config: RandomModelConfig, ids: readonly number[], tokenizerName: TokenizerName, ctx: RunContext): ModelRun {
  validateRandomConfig(config);
  const x = randomModelInput(ids, config); // [n, d]
  const weights = randomMhaWeights(config);
  if (ctx.isCancelled()) throw new JobCancelledError();
  ctx.progress('Computing attention', 0.1);
  const attention = multiHeadAttention(x, weights, { causal: config.causal });
  const n = ids.length;
  return {
    model: {
      kind: 'random',
      label: `Random (d_model ${config.dModel}, ${config.heads} heads, seed ${config.seed}${config.causal ? ', causal' : ''})`,
      layers: 1,
      heads: config.heads,
      dModel: config.dModel,
      headDim: config.dModel / config.heads,
      causal: config.causal,
      tokenizer: tokenizerName,
    },
    metrics: [headMetrics(attention.attnWeights)],
    topNext: [],
    perplexity: null,
    thumbnails: thumbnail(attention.attnWeights.data, config.heads, n, Math.min(THUMBNAIL_SIZE, n)),
    backing: { kind: 'random', x, weights, causal: config.causal, attention },
    first: attention,
  };
}

/** The forward keeps only each layer's input; weights are summarised (metrics, thumbnails) as they pass. */
function runGpt2(weights: Gpt2Weights, label: string, ids: readonly number[], tokenizer: Tokenizer, ctx: RunContext): ModelRun {
  const { config } = weights;
  const n = ids.length;
  const side = Math.min(THUMBNAIL_SIZE, n);
  const thumbnails = new Float32Array(config.nLayer * config.nHead * side * side);
  const metrics: HeadMetrics[][] = [];
  let first: AttentionResult | undefined;
  const out = gpt2Forward(weights, ids, {
    keepAttentions: false,
    keepLayerInputs: true,
    topK: 10,
    onAttention: (layer, attention) => {
      metrics.push(headMetrics(attention.attnWeights));
      thumbnails.set(thumbnail(attention.attnWeights.data, config.nHead, n, side), layer * config.nHead * side * side);
      if (layer === 0) first = attention;
    },
    onLayer: (layer, layers) => ctx.progress(`Layer ${layer + 1} of ${layers}`, 0.05 + (0.9 * (layer + 1)) / layers),
    checkpoint: () => {
      if (ctx.isCancelled()) throw new JobCancelledError();
    },
  });
  return {
    model: {
      kind: 'gpt2',
      label: `${label} (${config.nLayer} layers, ${config.nHead} heads, d_model ${config.nEmbd})`,
      layers: config.nLayer,
      heads: config.nHead,
      dModel: config.nEmbd,
      headDim: config.nEmbd / config.nHead,
      causal: true,
      tokenizer: 'gpt2',
    },
    metrics,
    topNext: out.topNext.map(({ id, prob }) => ({ id, prob, text: displayText(tokenizer.decodeId?.(id) ?? String(id)) })),
    perplexity: out.perplexity,
    thumbnails,
    backing: { kind: 'gpt2', model: weights, layerInputs: out.layerInputs ?? [] },
    first: first!,
  };
}
