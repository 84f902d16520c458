/**
 * The worker's side of one inspection: the shared pipeline (src/pipeline/run.ts) plus what only the
 * worker adds, namely cancellation checkpoints, progress, thumbnails for the grid, and answers shaped
 * for transfer to the extension host.
 */
import { CancelledError, UserError } from '../errors';
import type { AttentionResult } from '../engine/attention';
import { inspectionCsv, inspectionJson, oversizedTextExport, type ExportProvenance } from '../export/format';
import { formatBytes } from '../present/limits';
import { loadModel, type ModelLoaders, type ModelSpec as PipelineModelSpec } from '../pipeline/model';
import type { ModelShape } from '../engine/limits';
import { defaultMemoryBudget, runPipeline, type PipelineResult } from '../pipeline/run';
import { thumbnail } from '../engine/downsample';
import { THUMBNAIL_SIZE, type LayerData, type TraceStepView } from '../protocol';
import { displayText } from '../tokenize/display';
import type { InspectedPayload, InspectJob } from './protocol';

export interface RunContext {
  /** How folders and their tokenizers are read (the worker keeps one checkpoint cached). */
  readonly loaders: ModelLoaders;
  readonly isCancelled: () => boolean;
  readonly progress: (message: string, fraction: number) => void;
  readonly backend: () => string;
  /** Bytes one inspection may take (default: interactiveBudget). */
  readonly memoryBudget?: number;
}

/**
 * Beyond the weights, what one interactive inspection may hold: its layers travel to the extension host
 * and on to the webview, which each keep a copy, so a layer must stay far below the host's own limits.
 */
export const INTERACTIVE_BYTES = 2 * 1024 ** 3;

function interactiveBudget(shape: ModelShape): number {
  return Math.min(defaultMemoryBudget(), shape.weightBytes + INTERACTIVE_BYTES);
}

export class InspectionSession {
  constructor(
    readonly resultId: number,
    readonly result: PipelineResult,
  ) {}

  layer(layer: number, checkpoint?: () => void): LayerData {
    const a = this.result.inspection.layer(layer, checkpoint);
    return { resultId: this.resultId, layer, weights: a.attnWeights.data, scores: a.attnScores.data };
  }

  /** The step trace of one head: per-head steps sliced to that head ([heads, …] → […]), copied for transfer. */
  trace(layer: number, head: number, checkpoint?: () => void): TraceStepView[] {
    const { heads } = this.result.inspection;
    if (!Number.isInteger(head) || head < 0 || head >= heads) throw new RangeError(`trace: head ${head} is outside 0…${heads - 1}`);
    const a = this.result.inspection.trace(layer, checkpoint);
    return (a.trace ?? []).map((step) => {
      const shape = step.perHead ? step.tensor.shape.slice(1) : [...step.tensor.shape];
      const size = shape.reduce((p, d) => p * d, 1);
      const data = step.perHead ? step.tensor.data.slice(head * size, (head + 1) * size) : step.tensor.data.slice();
      return { id: step.id, perHead: step.perHead, source: step.source, params: step.params, shape, data };
    });
  }

  /** The export file's text, from the same writer the CLI uses; refused when it would be too big to be useful. */
  exportChunks(format: 'json' | 'csv', provenance: ExportProvenance, checkpoint?: () => void): Iterable<string> {
    const { layers, heads, n } = this.result.inspection;
    const bytes = oversizedTextExport(layers * heads * n * n, format);
    if (bytes) {
      throw new UserError(
        `A ${format.toUpperCase()} export of ${layers} layers × ${heads} heads × ${n.toLocaleString('en-US')}² tokens would be about ${formatBytes(bytes)}. ` +
          'Inspect fewer tokens (attentionInspector.maxTokens), or write float32 files with the command-line interface: attention-inspector inspect --format npy.',
      );
    }
    return format === 'csv' ? inspectionCsv(this.result, checkpoint) : inspectionJson(this.result, provenance, checkpoint);
  }
}

function pipelineSpec(job: InspectJob): PipelineModelSpec {
  return job.model.kind === 'random' ? { kind: 'random', config: job.model.config, tokenizer: job.tokenizer } : job.model;
}

/** Loads the model, runs the pipeline with cancellation and progress, and summarises for the views. */
export async function runInspection(resultId: number, job: InspectJob, ctx: RunContext): Promise<{ session: InspectionSession; payload: InspectedPayload }> {
  const started = performance.now();
  const checkpoint = () => {
    if (ctx.isCancelled()) throw new CancelledError();
  };
  checkpoint();
  if (job.model.kind !== 'random') ctx.progress(`Loading ${job.model.label}`, 0.02);
  const loaded = await loadModel(pipelineSpec(job), ctx.loaders, { forText: {} });
  checkpoint();
  ctx.progress('Tokenizing', 0.04);
  let thumbnails: Float32Array | undefined;
  let side = 0;
  let first: AttentionResult | undefined;
  const result = runPipeline({ text: job.text }, loaded, {
    maxTokens: job.maxTokens,
    memoryBudget: ctx.memoryBudget ?? interactiveBudget,
    interactive: true,
    topK: 10,
    checkpoint,
    onLayer: (layer, layers) => ctx.progress(`Layer ${layer + 1} of ${layers}`, 0.05 + (0.9 * (layer + 1)) / layers),
    // Each layer is summarised as it passes: the grid's thumbnails; layer 0 is sent whole.
    onAttention: (layer, attention) => {
      checkpoint();
      const { heads, n } = attention;
      side = Math.min(THUMBNAIL_SIZE, n);
      thumbnails ??= new Float32Array(loaded.info.layers * heads * side * side); // [layers, heads, side, side]
      thumbnails.set(thumbnail(attention.attnWeights.data, heads, n, side), layer * heads * side * side);
      if (layer === 0) first = attention;
    },
  });
  if (!first || !thumbnails) throw new Error('runInspection: the engine reported no attention for layer 0');
  checkpoint(); // a newer job may have arrived while the last layer was summarised
  const { inspection, tokens } = result;
  // A token's name where it is only part of a character (<0xC4>): its decoded text would be a bare U+FFFD.
  const { tokenizer } = loaded;
  const label = (id: number) => (tokenizer.displayId ? tokenizer.displayId(id) : displayText(tokenizer.decodeId ? tokenizer.decodeId(id) : String(id)));
  const session = new InspectionSession(resultId, result);
  return {
    session,
    payload: {
      // Text input always has offsets and display text; special tokens have an empty range.
      tokens: tokens.map((t) => ({ id: t.id, text: t.display ?? String(t.id), start: t.start ?? 0, end: t.end ?? 0, ...(t.special ? { special: true } : {}) })),
      model: loaded.info,
      truncation: result.truncation,
      metrics: inspection.metrics,
      topNext: inspection.topNext.map(({ id, prob }) => ({ id, prob, text: label(id) })),
      perplexity: inspection.perplexity,
      thumbnails: { side, data: thumbnails },
      elapsedMs: performance.now() - started,
      backend: ctx.backend(),
      firstLayer: { resultId, layer: 0, weights: first.attnWeights.data, scores: first.attnScores.data },
    },
  };
}

/** A request about a result the worker no longer holds (a newer inspection replaced it). */
export function noLongerAvailable(): UserError {
  return new UserError('That inspection is no longer available; run Inspect Selection again.');
}
