// Builds realistic host messages for the webview preview with the worker's own code (runInspection), on
// the tiny GPT-2 test checkpoint, the seeded random model, or a tiny checkpoint of another family
// (test/fixtures/families) run on chosen ids. Bundled and run by shoot.mjs; not shipped.
import { thumbnail } from '../../src/engine/downsample';
import { DEFAULT_RANDOM_MODEL } from '../../src/engine/random';
import { loadGpt2Folder } from '../../src/model';
import { loadModel } from '../../src/pipeline/model';
import { runPipeline } from '../../src/pipeline/run';
import { THUMBNAIL_SIZE, type InspectionSummary, type LayerData, type TokenView, type TraceData } from '../../src/protocol';
import { displayText } from '../../src/tokenize/display';
import type { TokenizerName } from '../../src/tokenize/types';
import { InspectionSession, runInspection } from '../../src/worker/session';

export interface PreviewScenario {
  readonly summary: InspectionSummary;
  readonly layers: LayerData[];
  /** Traces by `${layer}:${head}`. */
  readonly traces: Record<string, TraceData>;
}

export interface ScenarioOptions {
  readonly text: string;
  /** A folder under test/fixtures/families is read with its own tokenizer.json. */
  readonly model: 'gpt2-tiny' | 'random' | { readonly family: string };
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
      model:
        o.model === 'gpt2-tiny'
          ? { kind: 'gpt2', folder: GPT2_TINY, label: 'gpt2-tiny' }
          : o.model === 'random'
            ? { kind: 'random', config: DEFAULT_RANDOM_MODEL }
            : { kind: 'folder', folder: `test/fixtures/families/${o.model.family}`, label: o.model.family },
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

export interface FamilyScenarioOptions {
  /** A folder under test/fixtures/families. */
  readonly checkpoint: string;
  /** The tokens as a tokenizer would give them: text (raw), id, and special for BOS/[CLS]/[SEP]. */
  readonly tokens: readonly { readonly text: string; readonly id: number; readonly special?: boolean }[];
  /** Put between consecutive typed tokens in the source text (a WordPiece tokenizer drops the spaces). */
  readonly joiner?: string;
  readonly fileName?: string;
}

/**
 * A family checkpoint run by the real pipeline on the given ids (their tokenizers are not supported yet,
 * so the ids and their text are chosen here), with the session answering layers and traces as the worker
 * does. Special tokens get an empty range where the tokenizer put them.
 */
export async function buildFamilyScenario(o: FamilyScenarioOptions): Promise<PreviewScenario> {
  const resultId = 1;
  const loaded = await loadModel({ kind: 'folder', folder: `test/fixtures/families/${o.checkpoint}`, label: o.checkpoint }, loadGpt2Folder);
  const started = performance.now();
  const result = runPipeline({ ids: o.tokens.map((t) => t.id) }, loaded, { maxTokens: 4096, topK: 10 });
  const session = new InspectionSession(resultId, result);
  const { inspection } = result;
  const n = o.tokens.length;
  const layers = Array.from({ length: inspection.layers }, (_, l) => session.layer(l));
  const side = Math.min(THUMBNAIL_SIZE, n);
  const thumbs = new Float32Array(inspection.layers * inspection.heads * side * side);
  layers.forEach((d, l) => thumbs.set(thumbnail(d.weights, inspection.heads, n, side), l * inspection.heads * side * side));
  const traces: Record<string, TraceData> = {};
  for (const { layer } of layers) for (let head = 0; head < inspection.heads; head++) traces[`${layer}:${head}`] = { resultId, layer, head, steps: session.trace(layer, head) };
  let text = '';
  const tokens: TokenView[] = o.tokens.map((t) => {
    if (t.special) return { id: t.id, text: t.text, start: text.length, end: text.length, special: true };
    if (text && o.joiner) text += o.joiner;
    const start = text.length;
    text += t.text;
    return { id: t.id, text: displayText(t.text), start, end: text.length };
  });
  const summary: InspectionSummary = {
    resultId,
    source: { uri: `file:///work/${o.fileName ?? 'notes.md'}`, fileName: o.fileName ?? 'notes.md', startOffset: 0, endOffset: text.length, startLine: 0 },
    tokens,
    notes: [],
    model: loaded.info,
    truncation: result.truncation,
    metrics: inspection.metrics,
    // The tiny checkpoints' vocabularies are numbers: the predictions are shown by id.
    topNext: inspection.topNext.map(({ id, prob }) => ({ id, prob, text: `#${id}` })),
    perplexity: inspection.perplexity,
    thumbnails: { side, data: thumbs },
    elapsedMs: performance.now() - started,
    backend: 'js',
  };
  return { summary, layers, traces };
}
