import type { NextToken } from '../engine/gpt2';
import type { Inspection } from '../engine/inspect';
import { METRIC_LABELS, type HeadMetrics } from '../engine/metrics';
import type { Tensor } from '../engine/tensor';
import type { Token } from '../tokenize/types';

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

/**
 * What an export reads. Layers are fetched one at a time, so a long GPT-2 inspection can be written
 * without holding every layer's [heads, n, n] matrices at once.
 */
export interface ExportSource {
  readonly n: number;
  readonly layers: number;
  readonly heads: number;
  layer(index: number): { readonly weights: Tensor; readonly scores?: Tensor };
  readonly metrics: readonly (readonly HeadMetrics[])[];
  readonly topNext: readonly NextToken[];
  readonly perplexity: number | null;
}

export function inspectionSource(inspection: Inspection): ExportSource {
  return {
    ...inspection,
    layer: (index) => ({ weights: inspection.attentions[index], scores: inspection.scores[index] }),
  };
}

export interface TokenText {
  readonly tokens: readonly Token[];
  /** Decodes a vocabulary id for the top-next list. */
  readonly decodeId?: (id: number) => string;
}

/**
 * The CLI's and the Export command's JSON:
 * {"tokens", "attentions": [layer][head][n][n], "metrics": [layer][head]{…}, "topNext", "perplexity", "model"}.
 */
export function* inspectionJson(inspection: ExportSource, text: TokenText, model: Record<string, unknown>): Generator<string> {
  const tokens = text.tokens.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end }));
  yield `{"model":${JSON.stringify(model)},"tokens":${JSON.stringify(tokens)},"attentions":[`;
  for (let layer = 0; layer < inspection.layers; layer++) {
    if (layer) yield ',';
    yield* jsonHeads(inspection.layer(layer).weights);
  }
  const metrics = inspection.metrics.map((perHead) =>
    perHead.map((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, +(v as number).toPrecision(9)]))),
  );
  const topNext = inspection.topNext.map(({ id, prob }) => ({ id, text: text.decodeId?.(id) ?? String(id), prob: +prob.toPrecision(9) }));
  const perplexity = inspection.perplexity === null ? null : +inspection.perplexity.toPrecision(9);
  yield `],"metrics":${JSON.stringify(metrics)},"metricLabels":${JSON.stringify(METRIC_LABELS)},"topNext":${JSON.stringify(topNext)},"perplexity":${JSON.stringify(perplexity)}}\n`;
}

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per (layer, head, query, key); masked cells are included with weight 0 and an empty score. */
export function* inspectionCsv(inspection: ExportSource, tokens: readonly Token[]): Generator<string> {
  yield 'layer,head,query,key,query_token,key_token,weight,score\r\n';
  const n = inspection.n;
  const labels = tokens.map((t) => csvField(t.text));
  for (let layer = 0; layer < inspection.layers; layer++) {
    const data = inspection.layer(layer);
    const weights = data.weights.data;
    const scores = data.scores?.data;
    for (let h = 0; h < inspection.heads; h++) {
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const idx = (h * n + i) * n + j;
          const score = scores ? scores[idx] : NaN;
          const scoreText = Number.isFinite(score) ? jsonNumber(score) : '';
          lines.push(`${layer},${h},${i},${j},${labels[i]},${labels[j]},${jsonNumber(weights[idx])},${scoreText}\r\n`);
        }
      }
      yield lines.join('');
    }
  }
}
