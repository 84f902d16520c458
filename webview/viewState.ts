// The view state a reloaded webview restores (kept with VS Code's setState): which layer, head, zoom,
// selected cell and open sections. Stored state may come from an older version, so it is parsed, never trusted.
import type { InspectionSummary } from '../src/protocol';

export type HeadChoice = number | 'mean';
export type Section = 'heads' | 'metrics' | 'trace' | 'explain';
export const SECTIONS: readonly Section[] = ['heads', 'metrics', 'trace', 'explain'];

export interface Cell {
  readonly query: number;
  readonly key: number;
}

export interface ViewState {
  readonly version: 1;
  /** The inspection the selection and zoom belong to; a new inspection keeps only layer, head and sections. */
  readonly resultId: number | null;
  /** Chosen layer; null follows the host's choice. */
  readonly layer: number | null;
  readonly head: HeadChoice;
  /** CSS pixels per cell; null fits the matrix to the view. */
  readonly zoom: number | null;
  readonly selected: Cell | null;
  readonly open: Readonly<Record<Section, boolean>>;
}

export const DEFAULT_VIEW: ViewState = {
  version: 1,
  resultId: null,
  layer: null,
  head: 0,
  zoom: null,
  selected: null,
  open: { heads: true, metrics: true, trace: false, explain: false },
};

export const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Validates a stored view state: anything odd falls back to the default. */
export function parseViewState(raw: unknown): ViewState {
  if (typeof raw !== 'object' || raw === null) return DEFAULT_VIEW;
  const r = raw as Record<string, unknown>;
  if (r.version !== 1) return DEFAULT_VIEW;
  const cell = (c: unknown): Cell | null => {
    if (typeof c !== 'object' || c === null) return null;
    const { query, key } = c as Record<string, unknown>;
    return isIndex(query) && isIndex(key) ? { query, key } : null;
  };
  const openRaw = (typeof r.open === 'object' && r.open !== null ? r.open : {}) as Record<string, unknown>;
  const open = Object.fromEntries(SECTIONS.map((s) => [s, typeof openRaw[s] === 'boolean' ? openRaw[s] : DEFAULT_VIEW.open[s]])) as Record<Section, boolean>;
  return {
    version: 1,
    resultId: isIndex(r.resultId) ? r.resultId : null,
    layer: isIndex(r.layer) ? r.layer : null,
    head: r.head === 'mean' ? 'mean' : isIndex(r.head) ? r.head : DEFAULT_VIEW.head,
    zoom: typeof r.zoom === 'number' && Number.isFinite(r.zoom) && r.zoom > 0 ? r.zoom : null,
    selected: cell(r.selected),
    open,
  };
}

/**
 * The view for a new result: the same inspection keeps everything that still fits; another one keeps
 * layer, head and sections, and drops the selection and zoom. `firstLayer` is the host's choice of layer.
 */
export function viewForResult(prev: ViewState, summary: InspectionSummary, firstLayer: number): ViewState {
  const n = summary.tokens.length;
  const { layers, heads } = summary.model;
  const sameResult = prev.resultId === summary.resultId;
  const sel = prev.selected;
  const selected = sameResult && sel && sel.query < n && sel.key < n ? sel : null;
  return {
    ...prev,
    resultId: summary.resultId,
    layer: prev.layer !== null && prev.layer < layers ? prev.layer : firstLayer,
    head: prev.head === 'mean' || prev.head < heads ? prev.head : 0,
    zoom: sameResult ? prev.zoom : null,
    selected,
    open: { ...prev.open, explain: prev.open.explain && selected !== null },
  };
}
