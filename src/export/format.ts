import type { Tensor } from '../engine/tensor';
import type { InspectedToken, PipelineResult } from '../pipeline/run';
import { METRIC_LABELS } from '../present/metrics';

/** A number as JSON text: 9 significant digits round-trip float32 exactly; -Infinity (masked) → null. */
export function jsonNumber(v: number): string {
  if (v === -Infinity || Number.isNaN(v) || v === Infinity) return 'null';
  return String(+v.toPrecision(9));
}

/** Rows of a [.., n, m] slice as JSON text, yielded row by row so huge results never form one string. */
function* jsonMatrix(t: Tensor, offset: number, rows: number, cols: number): Generator<string> {
  yield '[';
  for (let i = 0; i < rows; i++) {
    const parts = new Array<string>(cols);
    const base = offset + i * cols;
    for (let j = 0; j < cols; j++) parts[j] = jsonNumber(t.data[base + j]);
    yield (i ? ',[' : '[') + parts.join(',') + ']';
  }
  yield ']';
}

/** [heads, n, m] tensor → JSON [heads][n][m]. */
export function* jsonHeads(t: Tensor): Generator<string> {
  const [heads, n, m] = t.shape;
  yield '[';
  for (let h = 0; h < heads; h++) {
    if (h) yield ',';
    yield* jsonMatrix(t, h * n * m, n, m);
  }
  yield ']';
}

/** [n, m] tensor → JSON [n][m]. */
export function* json2d(t: Tensor): Generator<string> {
  yield* jsonMatrix(t, 0, t.shape[0], t.shape[1]);
}

/** Where the inspected text came from, as far as the caller knows it. */
export interface ExportProvenance {
  /** The file the text was read from (a path or a URI). */
  readonly file?: string;
  /** UTF-16 offset of the inspected text's first character in that file. */
  readonly startOffset?: number;
  /** Zero-based line of that character. */
  readonly startLine?: number;
  /** What produced the file, e.g. "attention-inspector 0.1.0 (VS Code)". */
  readonly tool?: string;
}

/** Format name and version written into every JSON export; readers check them. */
export const JSON_FORMAT = { format: 'attention-inspector/inspection', version: 1 } as const;

function tokenJson(t: InspectedToken) {
  return { id: t.id, text: t.text, display: t.display, start: t.start, end: t.end, ...(t.special ? { special: true } : {}) };
}

/**
 * Everything an export says besides the [layer][head][n][n] matrices: the JSON export's other fields,
 * and the JSON file written beside binary (npy, safetensors) exports.
 */
export function inspectionSidecar(result: PipelineResult, provenance: ExportProvenance = {}) {
  const { inspection, loaded } = result;
  const metrics = inspection.metrics.map((perHead) =>
    perHead.map((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, +(v as number).toPrecision(9)]))),
  );
  const decode = loaded.tokenizer.decodeId?.bind(loaded.tokenizer);
  return {
    ...JSON_FORMAT,
    model: loaded.info,
    source: provenance,
    truncation: result.truncation,
    tokens: result.tokens.map(tokenJson),
    metrics,
    metricLabels: METRIC_LABELS,
    topNext: inspection.topNext.map(({ id, prob }) => ({ id, text: decode ? decode(id) : null, prob: +prob.toPrecision(9) })),
    perplexity: inspection.perplexity === null ? null : +inspection.perplexity.toPrecision(9),
  };
}

/**
 * The CLI's and the Export command's JSON, written only here (the README documents it):
 * {"format", "version", "model", "source", "truncation", "tokens", "attentions": [layer][head][n][n],
 * "scores": [layer][head][n][n] (masked: null), "metrics": [layer][head]{…}, "metricLabels", "topNext", "perplexity"}.
 * Layers are read one at a time, so a long inspection never forms one string or holds every layer.
 */
export function* inspectionJson(result: PipelineResult, provenance: ExportProvenance = {}, checkpoint?: () => void): Generator<string> {
  const { inspection } = result;
  const { metrics, metricLabels, topNext, perplexity, ...head } = inspectionSidecar(result, provenance);
  yield `${JSON.stringify(head).slice(0, -1)},"attentions":[`;
  for (let layer = 0; layer < inspection.layers; layer++) {
    if (layer) yield ',';
    yield* jsonHeads(inspection.layer(layer, checkpoint).attnWeights);
  }
  yield '],"scores":[';
  for (let layer = 0; layer < inspection.layers; layer++) {
    if (layer) yield ',';
    yield* jsonHeads(inspection.layer(layer, checkpoint).attnScores);
  }
  yield `],${JSON.stringify({ metrics, metricLabels, topNext, perplexity }).slice(1)}\n`;
}

/**
 * Most attention cells (layers × heads × n²) a JSON or CSV export may hold: about 400 MB of JSON. Text
 * spends ~12 bytes a number where npy spends 4, and past this takes minutes and gigabytes to write.
 */
export const MAX_TEXT_CELLS = 1 << 24;

/** The bytes a text export of this many attention cells (weights and scores) would take, or 0 when it is within MAX_TEXT_CELLS. */
export function oversizedTextExport(cells: number, format: 'json' | 'csv'): number {
  return cells > MAX_TEXT_CELLS ? cells * 2 * (format === 'csv' ? 26 : 12) : 0;
}

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per (layer, head, query, key) with the tokens' raw text; masked cells have weight 0 and an empty score. */
export function* inspectionCsv(result: PipelineResult, checkpoint?: () => void): Generator<string> {
  yield 'layer,head,query,key,query_token,key_token,weight,score\r\n';
  const { inspection } = result;
  const n = inspection.n;
  // A special token covers no text: its label is its name (<s>, [CLS]).
  const labels = result.tokens.map((t) => csvField((t.special ? t.display : t.text) ?? ''));
  for (let layer = 0; layer < inspection.layers; layer++) {
    const attention = inspection.layer(layer, checkpoint);
    const weights = attention.attnWeights.data;
    const scores = attention.attnScores.data;
    for (let h = 0; h < inspection.heads; h++) {
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const idx = (h * n + i) * n + j;
          const score = scores[idx];
          const scoreText = Number.isFinite(score) ? jsonNumber(score) : '';
          lines.push(`${layer},${h},${i},${j},${labels[i]},${labels[j]},${jsonNumber(weights[idx])},${scoreText}\r\n`);
        }
      }
      yield lines.join('');
    }
  }
}
