// Builds realistic host messages for the webview preview with the worker's own code (runInspection), on
// the tiny GPT-2 test checkpoint or the seeded random model. Bundled and run by shoot.mjs; not shipped.
import { DEFAULT_RANDOM_MODEL } from '../../src/engine/random';
import { loadGpt2Folder } from '../../src/model';
import type { InspectionSummary, LayerData, TraceData } from '../../src/protocol';
import type { TokenizerName } from '../../src/tokenize/types';
import { runInspection } from '../../src/worker/session';

export interface PreviewScenario {
  readonly summary: InspectionSummary;
  readonly layers: LayerData[];
  /** Traces by `${layer}:${head}`. */
  readonly traces: Record<string, TraceData>;
}

export interface ScenarioOptions {
  readonly text: string;
  readonly model: 'gpt2-tiny' | 'random';
  readonly tokenizer?: TokenizerName;
  readonly resultId?: number;
  readonly fileName?: string;
  readonly startLine?: number;
  readonly notes?: string[];
  /** Traces are built only for these layers (all heads). Default: every layer. */
  readonly traceLayers?: number[];
}

const GPT2_TINY = 'test/fixtures/gpt2-tiny';

export async function buildScenario(o: ScenarioOptions): Promise<PreviewScenario> {
  const resultId = o.resultId ?? 1;
  const { session, payload } = await runInspection(
    resultId,
    {
      text: o.text,
      tokenizer: o.tokenizer ?? (o.model === 'gpt2-tiny' ? 'gpt2' : 'word'),
      maxTokens: 4096,
      model: o.model === 'gpt2-tiny' ? { kind: 'gpt2', folder: GPT2_TINY, label: 'gpt2-tiny' } : { kind: 'random', config: DEFAULT_RANDOM_MODEL },
    },
    { loaders: { loadGpt2: loadGpt2Folder }, isCancelled: () => false, progress: () => {}, backend: () => 'js' },
  );
  const layers = Array.from({ length: payload.model.layers }, (_, l) => session.layer(l));
  const traces: Record<string, TraceData> = {};
  for (const layer of o.traceLayers ?? layers.map((x) => x.layer)) {
    for (let head = 0; head < payload.model.heads; head++) traces[`${layer}:${head}`] = { resultId, layer, head, steps: session.trace(layer, head) };
  }
  const summary: InspectionSummary = {
    resultId,
    source: { uri: `file:///work/${o.fileName ?? 'notes.md'}`, fileName: o.fileName ?? 'notes.md', startOffset: 0, endOffset: o.text.length, startLine: o.startLine ?? 0 },
    tokens: payload.tokens,
    notes: o.notes ?? [],
    model: payload.model,
    truncation: payload.truncation,
    metrics: payload.metrics,
    topNext: payload.topNext,
    perplexity: payload.perplexity,
    thumbnails: payload.thumbnails,
    elapsedMs: payload.elapsedMs,
    backend: payload.backend,
  };
  return { summary, layers, traces };
}
