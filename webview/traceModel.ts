// What the step trace's matrices mean (which axis is tokens, which is features) and the data behind
// "explain this cell". Pure (no DOM).
import type { StepId, StepParams } from '../src/engine/attention';
import type { MaskKind } from '../src/present/family';
import type { TraceData, TraceStepView } from '../src/protocol';
import { explainCell, explainMean, type CellExplanation, type MeanExplanation } from './explain';
import { explainGroups, explainRotary, maskKindOf, type GroupsExplanation, type RotaryExplanation } from './explainFamily';
import { currentLayerData, currentMatrix, currentTrace, effectiveLayer } from './selectors';
import type { AppState } from './store';
import type { Cell } from './viewState';

/** What one axis of a step's matrix runs over. */
export type AxisKind = 'query' | 'key' | 'token' | 'feature' | 'input' | 'pair' | 'head';

export interface StepAxes {
  readonly rows: AxisKind;
  readonly cols: AxisKind;
  /** Words for the shape line, e.g. "rows: tokens · columns: features of this head". */
  readonly describe: string;
}

const AXES: Readonly<Record<StepId, StepAxes>> = {
  x: { rows: 'token', cols: 'feature', describe: 'rows: tokens · columns: d_model features' },
  wQuery: { rows: 'input', cols: 'feature', describe: 'rows: input features · columns: query features (all heads)' },
  wKey: { rows: 'input', cols: 'feature', describe: 'rows: input features · columns: key features (all heads)' },
  wValue: { rows: 'input', cols: 'feature', describe: 'rows: input features · columns: value features (all heads)' },
  'queries.projected': { rows: 'query', cols: 'feature', describe: 'rows: query tokens · columns: this head’s d_k features, before the rotation' },
  'keys.projected': { rows: 'key', cols: 'feature', describe: 'rows: key tokens · columns: this head’s d_k features, before the rotation' },
  'queries.normed': { rows: 'query', cols: 'feature', describe: 'rows: query tokens · columns: this head’s d_k features after q_norm' },
  'keys.normed': { rows: 'key', cols: 'feature', describe: 'rows: key tokens · columns: this head’s d_k features after k_norm' },
  'queries.angles': { rows: 'token', cols: 'pair', describe: 'rows: positions (tokens) · columns: rotary pairs k (dims k and k + r/2), angle in radians' },
  'keys.groups': { rows: 'head', cols: 'feature', describe: 'the KV head this query head reads' },
  queries: { rows: 'query', cols: 'feature', describe: 'rows: query tokens · columns: this head’s d_k features' },
  keys: { rows: 'key', cols: 'feature', describe: 'rows: key tokens · columns: this head’s d_k features' },
  values: { rows: 'key', cols: 'feature', describe: 'rows: key tokens · columns: this head’s value features' },
  rawScores: { rows: 'query', cols: 'key', describe: 'rows: queries · columns: keys' },
  scaledScores: { rows: 'query', cols: 'key', describe: 'rows: queries · columns: keys' },
  maskedScores: { rows: 'query', cols: 'key', describe: 'rows: queries · columns: keys' },
  attnWeights: { rows: 'query', cols: 'key', describe: 'rows: queries · columns: keys (each row sums to 1)' },
  contextVectors: { rows: 'query', cols: 'feature', describe: 'rows: query tokens · columns: this head’s value features' },
  concat: { rows: 'token', cols: 'feature', describe: 'rows: tokens · columns: all heads side by side' },
  outProj: { rows: 'input', cols: 'feature', describe: 'rows: concatenated features · columns: output features' },
  output: { rows: 'token', cols: 'feature', describe: 'rows: tokens · columns: d_model features' },
};

/** A step's axes; the words follow the step's params where the family changes them (the norm before X, rotated queries and keys). */
export function stepAxes(id: StepId, params?: StepParams): StepAxes {
  const axes = AXES[id] ?? { rows: 'feature', cols: 'feature', describe: '' };
  if (id === 'x' && params?.norm === 'rmsNorm') return { ...axes, describe: 'rows: tokens · columns: d_model features after RMSNorm (each row has root mean square 1, times the gain)' };
  if (id === 'x' && params?.norm === 'layerNorm') return { ...axes, describe: 'rows: tokens · columns: d_model features after LayerNorm (each row has mean 0 and variance 1, times the gain, plus the bias)' };
  if (id === 'x' && params?.norm === 'none') return { ...axes, describe: 'rows: tokens · columns: d_model features of the residual stream, not normalised (post-norm block)' };
  if ((id === 'queries' || id === 'keys') && params?.rope) {
    const r = params.rope.rotaryDims;
    return { ...axes, describe: `${axes.describe}, turned by position (dims 0…${r - 1} rotate)` };
  }
  return axes;
}

/** True when the axis is indexed by token. */
export function isTokenAxis(kind: AxisKind): boolean {
  return kind === 'query' || kind === 'key' || kind === 'token';
}

/** Steps whose cells are attention scores or weights: clicking one explains it. */
export function isExplainableStep(id: StepId): boolean {
  return id === 'rawScores' || id === 'scaledScores' || id === 'maskedScores' || id === 'attnWeights';
}

/** A step's tensor as a 2-D matrix: the last axis is the columns, every other axis folds into rows. */
export function matrixDims(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length === 0) return { rows: 1, cols: 1 };
  const cols = shape[shape.length - 1];
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i];
  return { rows, cols };
}

export function findStep(trace: TraceData | null, id: StepId): TraceStepView | undefined {
  return trace?.steps.find((s) => s.id === id);
}

/** Row r of a step's matrix (a view, no copy), or null when out of range. */
export function stepRow(step: TraceStepView | undefined, r: number): Float32Array | null {
  if (!step) return null;
  const { rows, cols } = matrixDims(step.shape);
  if (r < 0 || r >= rows || step.data.length < rows * cols) return null;
  return step.data.subarray(r * cols, (r + 1) * cols);
}

export type Explanation =
  | {
      readonly kind: 'head';
      readonly layer: number;
      readonly head: number;
      readonly cell: CellExplanation;
      readonly traceLoaded: boolean;
      /** Rotary families: how q and k were turned (null without rotary or before the trace arrives). */
      readonly rotary: RotaryExplanation | null;
      /** Grouped-query attention: the KV head this head reads. */
      readonly groups: GroupsExplanation | null;
      readonly mask: MaskKind;
      /** The norm that made X from the residual stream (the trace's x step), when the trace has arrived. */
      readonly norm: NonNullable<StepParams['norm']> | null;
    }
  | { readonly kind: 'mean'; readonly layer: number; readonly heads: number; readonly cell: MeanExplanation };

/** The explanation of the selected cell for the current layer and head, or null if nothing can be explained yet. */
export function explanationFor(state: AppState, cell: Cell | null): Explanation | null {
  const summary = state.summary;
  const data = currentLayerData(state);
  const layer = effectiveLayer(state);
  const m = currentMatrix(state);
  if (!summary || !data || !m || layer === null || !cell) return null;
  const n = summary.tokens.length;
  if (cell.query >= n || cell.key >= n) return null;
  const head = state.view.head;
  if (head === 'mean') {
    return {
      kind: 'mean',
      layer,
      heads: summary.model.heads,
      cell: explainMean(data.weights, summary.model.heads, n, cell.query, cell.key, m.weights[cell.query * n + cell.key]),
    };
  }
  const trace = currentTrace(state);
  const headDim = summary.model.headDim;
  let q: Float32Array | null = stepRow(findStep(trace, 'queries'), cell.query);
  let k: Float32Array | null = stepRow(findStep(trace, 'keys'), cell.key);
  if (!q || !k || q.length !== headDim || k.length !== headDim) q = k = null;
  const raw = stepRow(findStep(trace, 'rawScores'), cell.query);
  const scoresRow = m.scores ?? new Float32Array(n);
  return {
    kind: 'head',
    layer,
    head,
    traceLoaded: q !== null,
    rotary: q ? explainRotary(trace, cell.query, cell.key) : null,
    groups: explainGroups(trace),
    mask: maskKindOf(trace, summary.model.causal, m.window),
    norm: trace ? (findStep(trace, 'x')?.params?.norm ?? null) : null,
    cell: explainCell({
      query: cell.query,
      key: cell.key,
      headDim,
      q,
      k,
      scoresRow: scoresRow.subarray(cell.query * n, (cell.query + 1) * n),
      weightsRow: m.weights.subarray(cell.query * n, (cell.query + 1) * n),
      rawScore: raw && raw.length === n ? raw[cell.key] : null,
    }),
  };
}
