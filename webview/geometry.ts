// Heatmap geometry in CSS pixels: frozen label bands (row labels left, column labels on top) around a
// scrolling n × n grid of cells. Pure (no DOM), so hit-testing and zoom maths are unit-tested.
import type { Cell } from './viewState';

export interface Geometry {
  readonly n: number;
  /** Side of one cell in CSS px (may be below 1 for long inputs). */
  readonly cell: number;
  /** Width of the row-label band on the left. */
  readonly rowLabelW: number;
  /** Height of the column-label band on top. */
  readonly colLabelH: number;
}

/** Room after the last row/column, so its outline and its (centred) label are not cut. */
export const END_PAD = 8;
export const MAX_CELL = 64;
/** Fitting never makes cells larger than this (a 5-token input should not fill the screen). */
export const MAX_FIT_CELL = 48;

/** Scrollable content size: labels plus the whole grid. */
export function contentSize(g: Geometry): { width: number; height: number } {
  return { width: g.rowLabelW + g.n * g.cell + END_PAD, height: g.colLabelH + g.n * g.cell + END_PAD };
}

export type Hit =
  | { readonly kind: 'cell'; readonly cell: Cell }
  | { readonly kind: 'row'; readonly index: number }
  | { readonly kind: 'col'; readonly index: number }
  | null;

/** What is under viewport point (x, y) with the grid scrolled by (scrollX, scrollY). */
export function hitTest(g: Geometry, scrollX: number, scrollY: number, x: number, y: number): Hit {
  const inRowBand = x < g.rowLabelW;
  const inColBand = y < g.colLabelH;
  if (inRowBand && inColBand) return null;
  const key = Math.floor((x - g.rowLabelW + scrollX) / g.cell);
  const query = Math.floor((y - g.colLabelH + scrollY) / g.cell);
  if (inRowBand) return query >= 0 && query < g.n ? { kind: 'row', index: query } : null;
  if (inColBand) return key >= 0 && key < g.n ? { kind: 'col', index: key } : null;
  if (key < 0 || key >= g.n || query < 0 || query >= g.n) return null;
  return { kind: 'cell', cell: { query, key } };
}

/** Indices [first, last] of the cells at least partly visible along one axis (last < first when none). */
export function visibleRange(g: Geometry, scroll: number, viewport: number, band: number): [number, number] {
  const plot = Math.max(0, viewport - band);
  const first = Math.max(0, Math.floor(scroll / g.cell));
  // (The small epsilon keeps float noise, e.g. 700 / 0.7 = 1000.0000000000001, from adding a cell.)
  const last = Math.min(g.n - 1, Math.ceil((scroll + plot) / g.cell - 1e-9) - 1);
  return [first, last];
}

/**
 * Cell size that fits the whole matrix into the available box, between `minCell` and MAX_FIT_CELL.
 * Long inputs get cells below one pixel: the image is then drawn scaled down.
 */
export function fitCell(n: number, availW: number, availH: number, rowLabelW: number, colLabelH: number, minCell = 0.25): number {
  if (n <= 0) return MAX_FIT_CELL;
  const w = (availW - rowLabelW - END_PAD) / n;
  const h = (availH - colLabelH - END_PAD) / n;
  return Math.min(MAX_FIT_CELL, Math.max(minCell, Math.min(w, h)));
}

/** The zoom actually used: the stored one within [fit, MAX_CELL], or the fit. */
export function effectiveCell(zoom: number | null, fit: number): number {
  if (zoom === null || !(zoom > fit)) return fit;
  return Math.min(MAX_CELL, zoom);
}

/** Scroll offsets that bring a cell fully into view (unchanged if it already is). */
export function scrollToReveal(g: Geometry, scrollX: number, scrollY: number, viewW: number, viewH: number, cell: Cell): { x: number; y: number } {
  const reveal = (scroll: number, index: number, viewport: number) => {
    const lo = index * g.cell;
    const hi = lo + g.cell;
    if (lo < scroll) return lo;
    if (hi > scroll + viewport) return Math.max(0, hi - viewport);
    return scroll;
  };
  return {
    x: reveal(scrollX, cell.key, Math.max(g.cell, viewW - g.rowLabelW - END_PAD)),
    y: reveal(scrollY, cell.query, Math.max(g.cell, viewH - g.colLabelH - END_PAD)),
  };
}

/**
 * Scroll offsets after zooming from `g.cell` to `newCell` so the grid point under viewport (x, y)
 * stays under it (ctrl/cmd-wheel zooms around the pointer).
 */
export function zoomAround(g: Geometry, scrollX: number, scrollY: number, x: number, y: number, newCell: number): { x: number; y: number } {
  const px = Math.max(0, x - g.rowLabelW);
  const py = Math.max(0, y - g.colLabelH);
  const fx = (scrollX + px) / g.cell;
  const fy = (scrollY + py) / g.cell;
  return { x: Math.max(0, fx * newCell - px), y: Math.max(0, fy * newCell - py) };
}

/** The cell reached from `cell` by a navigation key, or null for keys that do not move. */
export function moveCell(cell: Cell, key: string, n: number, page: number, ctrl: boolean): Cell | null {
  const clamp = (v: number) => Math.max(0, Math.min(n - 1, v));
  const { query, key: k } = cell;
  switch (key) {
    case 'ArrowUp':
      return { query: clamp(query - 1), key: k };
    case 'ArrowDown':
      return { query: clamp(query + 1), key: k };
    case 'ArrowLeft':
      return { query, key: clamp(k - 1) };
    case 'ArrowRight':
      return { query, key: clamp(k + 1) };
    case 'Home':
      return ctrl ? { query: 0, key: 0 } : { query, key: 0 };
    case 'End':
      return ctrl ? { query: n - 1, key: n - 1 } : { query, key: n - 1 };
    case 'PageUp':
      return { query: clamp(query - page), key: k };
    case 'PageDown':
      return { query: clamp(query + page), key: k };
    default:
      return null;
  }
}
