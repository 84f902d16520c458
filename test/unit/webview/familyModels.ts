// Tiny checkpoints of every family (test/fixtures/families) run through the real pipeline and the
// worker's session, as the host would send them to the webview: summary, layers and traces.
import { join } from 'node:path';
import type { AttentionResult } from '../../../src/engine/attention';
import { thumbnail } from '../../../src/engine/downsample';
import { loadModel } from '../../../src/pipeline/model';
import { runPipeline } from '../../../src/pipeline/run';
import { THUMBNAIL_SIZE, type InspectionSummary, type LayerData, type TokenView, type TraceData } from '../../../src/protocol';
import { InspectionSession } from '../../../src/worker/session';
import { FIXTURES, readJson } from '../helpers';

export interface FamilyResult {
  readonly summary: InspectionSummary;
  readonly layers: LayerData[];
  trace(layer: number, head: number): TraceData;
  /** The engine's own attention of a layer (attnScores, attnWeights, kvHeadOf, window). */
  attention(layer: number): AttentionResult;
}

/** Runs fixture `name` on its own input ids; `special` marks tokens as added by the tokenizer. */
export async function familyResult(name: string, special: readonly number[] = []): Promise<FamilyResult> {
  const ids = readJson<{ input_ids: number[] }>('families', name, 'expected.json').input_ids;
  const loaded = await loadModel({ kind: 'folder', folder: join(FIXTURES, 'families', name), label: name }, () => Promise.reject(new Error('not GPT-2')));
  const result = runPipeline({ ids }, loaded, { maxTokens: 4096, topK: 5 });
  const session = new InspectionSession(1, result);
  const { inspection } = result;
  const n = ids.length;
  const side = Math.min(THUMBNAIL_SIZE, n);
  const thumbs = new Float32Array(inspection.layers * inspection.heads * side * side);
  const layers = Array.from({ length: inspection.layers }, (_, l) => session.layer(l));
  layers.forEach((d, l) => thumbs.set(thumbnail(d.weights, inspection.heads, n, side), l * inspection.heads * side * side));
  const tokens: TokenView[] = ids.map((id, i) => (special.includes(i) ? { id, text: `<t${id}>`, start: 0, end: 0, special: true } : { id, text: `t${id}`, start: i, end: i + 1 }));
  const summary: InspectionSummary = {
    resultId: 1,
    source: { uri: 'file:///ids.txt', fileName: 'ids.txt', startOffset: 0, endOffset: n, startLine: 0 },
    tokens,
    notes: [],
    model: loaded.info,
    truncation: null,
    metrics: inspection.metrics,
    topNext: inspection.topNext.map((t) => ({ ...t, text: String(t.id) })),
    perplexity: inspection.perplexity,
    thumbnails: { side, data: thumbs },
    elapsedMs: 1,
    backend: 'js',
  };
  return {
    summary,
    layers,
    trace: (layer, head) => ({ resultId: 1, layer, head, steps: session.trace(layer, head) }),
    attention: (layer) => inspection.layer(layer),
  };
}
