// Derived data for the views, computed from the state (memoised on the immutable layer data).
import type { LayerData, TraceData } from '../src/protocol';
import { traceKey } from './dataCache';
import { readoutText } from './format';
import { colorTop, headSlice, maxFinite, meanMask, meanOverHeads, windowOfMask, type HeatmapMatrix } from './matrix';
import type { AppState } from './store';
import type { Cell, HeadChoice } from './viewState';

/** The layer on show: the chosen one, or the host's first one. */
export function effectiveLayer(state: AppState): number | null {
  const { summary, view } = state;
  if (!summary) return null;
  if (view.layer !== null && view.layer < summary.model.layers) return view.layer;
  const first = state.layers.keys().next();
  return first.done ? 0 : first.value;
}

export function currentLayerData(state: AppState): LayerData | undefined {
  const layer = effectiveLayer(state);
  return layer === null ? undefined : state.layers.get(layer);
}

const matrixCache = new WeakMap<LayerData, Map<HeadChoice, HeatmapMatrix>>();

/** The [n, n] matrix the heatmap shows (a head, or the mean over heads), or null while its layer loads. */
export function currentMatrix(state: AppState): HeatmapMatrix | null {
  const data = currentLayerData(state);
  const summary = state.summary;
  if (!data || !summary) return null;
  return matrixFor(data, summary.model.heads, summary.tokens.length, state.view.head);
}

export function matrixFor(data: LayerData, heads: number, n: number, head: HeadChoice): HeatmapMatrix | null {
  if (head !== 'mean' && head >= heads) return null;
  let perLayer = matrixCache.get(data);
  if (!perLayer) {
    perLayer = new Map();
    matrixCache.set(data, perLayer);
  }
  let m = perLayer.get(head);
  if (!m) {
    if (head === 'mean') {
      const weights = meanOverHeads(data.weights, heads, n);
      const mask = meanMask(data.scores, heads, n);
      const max = maxFinite(weights);
      m = { n, weights, scores: null, mask, window: windowOfMask(mask, n), max, top: colorTop(weights, mask, max) };
    } else {
      const weights = headSlice(data.weights, head, n);
      const scores = headSlice(data.scores, head, n);
      const mask = new Uint8Array(n * n);
      for (let i = 0; i < mask.length; i++) if (scores[i] === -Infinity) mask[i] = 1;
      const max = maxFinite(weights);
      m = { n, weights, scores, mask, window: windowOfMask(mask, n), max, top: colorTop(weights, mask, max) };
    }
    perLayer.set(head, m);
  }
  return m;
}

/** The chosen head's trace, when it has arrived. */
export function currentTrace(state: AppState): TraceData | null {
  const layer = effectiveLayer(state);
  const head = state.view.head;
  if (layer === null || head === 'mean') return null;
  return state.traces.get(traceKey(layer, head)) ?? null;
}

/** The readout for a cell of the shown matrix. */
export function readoutFor(state: AppState, cell: Cell | null): string | null {
  const m = currentMatrix(state);
  const summary = state.summary;
  if (!cell || !m || !summary || cell.query >= m.n || cell.key >= m.n) return null;
  const idx = cell.query * m.n + cell.key;
  return readoutText({
    tokens: summary.tokens,
    query: cell.query,
    key: cell.key,
    weight: m.weights[idx],
    score: m.scores ? m.scores[idx] : null,
    masked: m.mask[idx] === 1,
    causal: summary.model.causal,
    window: m.window,
    meanOf: summary.model.heads,
  });
}
