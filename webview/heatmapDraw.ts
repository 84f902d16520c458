// Canvas drawing shared by the live heatmap and the PNG export: the cell image (one pixel per cell,
// scaled), the masked-cell hatch, token labels on both axes, outlines, and the colour legend.
import type { TokenView } from '../src/protocol';
import { LUT_SIZE, textColorOn } from './colorScales';
import { maskLegend, NO_MASK_LEGEND } from '../src/present/family';
import { formatNumber, labelIndices, labelStep, tokenText } from './format';
import { visibleRange, type Geometry } from './geometry';
import { colorize, type HeatmapMatrix } from './matrix';
import type { Cell } from './viewState';
import { withAlpha, type Theme } from './theme';

/** Token label size in CSS px, and the room one label needs across its axis. */
export const LABEL_PX = 12;
export const LABEL_PITCH = 15;
const LABEL_GAP = 6;
export const MAX_LABEL_CHARS = 14;
const CORNER_KEY = 'key (column) →';
const CORNER_QUERY = 'query (row) ↓';
const CORNER_GAP = 12;
/** Cells at least this big show their weight as text. */
export const VALUE_TEXT_CELL = 34;
/** Cells at least this big get thin separators. */
const GRID_LINE_CELL = 12;

export const labelFont = (theme: Theme, bold = false, italic = false) => `${italic ? 'italic ' : ''}${bold ? '600 ' : ''}${LABEL_PX}px ${theme.monoFont}`;
const uiFont = (theme: Theme, px = 11, weight = '') => `${weight ? `${weight} ` : ''}${px}px ${theme.uiFont}`;

/** Label bands wide enough for the longest (cut) token label plus its index. */
export function measureLabels(ctx: CanvasRenderingContext2D, tokens: readonly TokenView[], theme: Theme, maxChars = MAX_LABEL_CHARS): { rowLabelW: number; colLabelH: number } {
  ctx.save();
  ctx.font = labelFont(theme, true);
  let widest = 0;
  const seen = new Set<string>();
  for (const t of tokens) {
    const label = tokenText(t, maxChars);
    if (seen.has(label)) continue;
    seen.add(label);
    widest = Math.max(widest, ctx.measureText(label).width);
  }
  ctx.font = labelFont(theme);
  const indexW = ctx.measureText(`${Math.max(0, tokens.length - 1)} `).width;
  ctx.font = uiFont(theme);
  const cornerW = Math.max(ctx.measureText(CORNER_KEY).width, ctx.measureText(CORNER_QUERY).width);
  ctx.restore();
  const band = Math.ceil(widest + indexW + 2 * LABEL_GAP + 4);
  return { rowLabelW: Math.min(200, Math.max(band, cornerW + CORNER_GAP + 4)), colLabelH: Math.min(170, Math.max(band, 48)) };
}

/** The n × n image of coloured cells (masked cells transparent). */
export function buildCellImage(matrix: HeatmapMatrix, lut: Uint8ClampedArray): HTMLCanvasElement {
  const n = Math.max(1, matrix.n);
  const canvas = document.createElement('canvas');
  canvas.width = n;
  canvas.height = n;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2-D canvas context');
  const image = ctx.createImageData(n, n);
  colorize(image.data, matrix.weights, matrix.mask, lut, matrix.top);
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/** Diagonal hatch for masked cells, drawn at device resolution so it stays crisp. */
export function makeHatch(ctx: CanvasRenderingContext2D, theme: Theme, dpr: number): CanvasPattern | null {
  const size = Math.max(4, Math.round(7 * dpr));
  const tile = document.createElement('canvas');
  tile.width = size;
  tile.height = size;
  const t = tile.getContext('2d');
  if (!t) return null;
  t.fillStyle = theme.background;
  t.fillRect(0, 0, size, size);
  t.strokeStyle = withAlpha(t, theme.hatch, theme.kind.startsWith('high-contrast') ? 0.7 : 0.32);
  t.lineWidth = Math.max(1, dpr);
  t.beginPath();
  // One diagonal plus the two corner pieces, so tiles join into continuous lines.
  t.moveTo(0, size);
  t.lineTo(size, 0);
  t.moveTo(-size / 2, size / 2);
  t.lineTo(size / 2, -size / 2);
  t.moveTo(size / 2, size * 1.5);
  t.lineTo(size * 1.5, size / 2);
  t.stroke();
  const pattern = ctx.createPattern(tile, 'repeat');
  pattern?.setTransform(new DOMMatrix().scaleSelf(1 / dpr, 1 / dpr));
  return pattern;
}

export interface HeatmapScene {
  readonly g: Geometry;
  /** Viewport size in CSS px. */
  readonly width: number;
  readonly height: number;
  readonly scrollX: number;
  readonly scrollY: number;
  readonly image: CanvasImageSource;
  readonly matrix: HeatmapMatrix;
  readonly tokens: readonly TokenView[];
  readonly theme: Theme;
  readonly hatch: CanvasPattern | null;
  readonly lut: Uint8ClampedArray;
  readonly hover: Cell | null;
  readonly selected: Cell | null;
  /** The canvas has keyboard focus: the selected cell gets the focus colour. */
  readonly focused: boolean;
  readonly dpr: number;
  /** Longest token label in characters. */
  readonly maxChars?: number;
}

/** Draws the visible part of the heatmap with its frozen label bands. */
export function drawHeatmap(ctx: CanvasRenderingContext2D, s: HeatmapScene): void {
  const { g, theme, width, height } = s;
  const x0 = g.rowLabelW;
  const y0 = g.colLabelH;
  const gridX = x0 - s.scrollX;
  const gridY = y0 - s.scrollY;
  const cell = g.cell;
  const [k0, k1] = visibleRange(g, s.scrollX, width, x0);
  const [q0, q1] = visibleRange(g, s.scrollY, height, y0);

  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, width, height);

  // ---- cells ----
  ctx.save();
  ctx.beginPath();
  ctx.rect(x0, y0, Math.max(0, width - x0), Math.max(0, height - y0));
  ctx.clip();
  if (k1 >= k0 && q1 >= q0) {
    const dx = gridX + k0 * cell;
    const dy = gridY + q0 * cell;
    const dw = (k1 - k0 + 1) * cell;
    const dh = (q1 - q0 + 1) * cell;
    if (s.hatch) {
      ctx.fillStyle = s.hatch;
      ctx.fillRect(dx, dy, dw, dh);
    }
    ctx.imageSmoothingEnabled = cell * s.dpr < 1;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(s.image, k0, q0, k1 - k0 + 1, q1 - q0 + 1, dx, dy, dw, dh);

    if (cell >= GRID_LINE_CELL) {
      ctx.strokeStyle = theme.background;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let k = k0; k <= k1 + 1; k++) {
        const x = Math.round(gridX + k * cell) + 0.5;
        ctx.moveTo(x, dy);
        ctx.lineTo(x, dy + dh);
      }
      for (let q = q0; q <= q1 + 1; q++) {
        const y = Math.round(gridY + q * cell) + 0.5;
        ctx.moveTo(dx, y);
        ctx.lineTo(dx + dw, y);
      }
      ctx.stroke();
    }
    if (cell >= VALUE_TEXT_CELL) drawCellValues(ctx, s, k0, k1, q0, q1, gridX, gridY);
  }
  drawOutlines(ctx, s, gridX, gridY);
  ctx.restore();

  // ---- labels ----
  const rowStep = labelStep(cell, LABEL_PITCH);
  const colStep = rowStep;
  const hotRows = new Map<number, 'hover' | 'selected'>();
  const hotCols = new Map<number, 'hover' | 'selected'>();
  if (s.selected) {
    hotRows.set(s.selected.query, 'selected');
    hotCols.set(s.selected.key, 'selected');
  }
  if (s.hover) {
    hotRows.set(s.hover.query, 'hover');
    hotCols.set(s.hover.key, 'hover');
  }
  const thinned = rowStep > 1;

  // Row labels (queries), right-aligned against the grid.
  ctx.save();
  ctx.beginPath();
  // Labels of the first visible row may reach up into the corner (its text sits higher, out of the way).
  ctx.rect(0, y0 - LABEL_PITCH / 2, x0, Math.max(0, height - y0 + LABEL_PITCH / 2));
  ctx.clip();
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const rowIdx = q1 >= q0 ? labelIndices(q0, q1, rowStep) : [];
  for (const i of rowIdx) {
    const y = gridY + (i + 0.5) * cell;
    if (y < y0 - 1) continue;
    if ([...hotRows.keys()].some((h) => h !== i && Math.abs(h - i) * cell < LABEL_PITCH)) continue;
    if (!hotRows.has(i)) drawRowLabel(ctx, s, i, y, thinned, null);
    if (thinned) tick(ctx, theme, x0 - 3, y, x0, y);
  }
  for (const [i, kind] of hotRows) {
    const y = gridY + (i + 0.5) * cell;
    if (y >= y0 - 1 && y <= height) drawRowLabel(ctx, s, i, y, true, kind);
  }
  ctx.restore();

  // Column labels (keys), rotated to read bottom-up, ending at the grid.
  ctx.save();
  ctx.beginPath();
  ctx.rect(x0 - LABEL_PITCH / 2, 0, Math.max(0, width - x0 + LABEL_PITCH / 2), y0);
  ctx.clip();
  const colIdx = k1 >= k0 ? labelIndices(k0, k1, colStep) : [];
  for (const j of colIdx) {
    const x = gridX + (j + 0.5) * cell;
    if (x < x0 - 1) continue;
    if ([...hotCols.keys()].some((h) => h !== j && Math.abs(h - j) * cell < LABEL_PITCH)) continue;
    if (!hotCols.has(j)) drawColLabel(ctx, s, j, x, thinned, null);
    if (thinned) tick(ctx, theme, x, y0 - 3, x, y0);
  }
  for (const [j, kind] of hotCols) {
    const x = gridX + (j + 0.5) * cell;
    if (x >= x0 - 1 && x <= width) drawColLabel(ctx, s, j, x, true, kind);
  }
  ctx.restore();

  // Corner: which axis is which.
  ctx.save();
  ctx.fillStyle = theme.muted;
  ctx.font = uiFont(theme);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'alphabetic';
  // Kept clear of the first row's and first column's labels, which may reach into the corner.
  ctx.fillText(CORNER_KEY, x0 - CORNER_GAP, y0 - 28);
  ctx.fillText(CORNER_QUERY, x0 - CORNER_GAP, y0 - 13);
  ctx.restore();
}

function tick(ctx: CanvasRenderingContext2D, theme: Theme, xa: number, ya: number, xb: number, yb: number): void {
  ctx.strokeStyle = theme.muted;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(Math.round(xa) + 0.5, Math.round(ya) + 0.5);
  ctx.lineTo(Math.round(xb) + 0.5, Math.round(yb) + 0.5);
  ctx.stroke();
}

/** A label's index, text, and whether the token is special (drawn in italics, in the focus colour). */
function labelParts(s: HeatmapScene, i: number, withIndex: boolean): { index: string; text: string; special: boolean } {
  return { index: withIndex ? `${i}` : '', text: tokenText(s.tokens[i], s.maxChars ?? MAX_LABEL_CHARS), special: s.tokens[i]?.special === true };
}

function labelColor(theme: Theme, hot: 'hover' | 'selected' | null, special: boolean): string {
  return hot === 'selected' ? theme.selectionForeground : special ? theme.focus : theme.foreground;
}

function drawRowLabel(ctx: CanvasRenderingContext2D, s: HeatmapScene, i: number, y: number, withIndex: boolean, hot: 'hover' | 'selected' | null): void {
  const { theme } = s;
  const right = s.g.rowLabelW - LABEL_GAP;
  const { index, text, special } = labelParts(s, i, withIndex);
  ctx.font = labelFont(theme, hot !== null, special);
  const textW = ctx.measureText(text).width;
  ctx.font = labelFont(theme);
  const indexW = index ? ctx.measureText(`${index} `).width : 0;
  if (hot) {
    ctx.fillStyle = hot === 'hover' ? theme.hoverBackground : theme.selectionBackground;
    ctx.fillRect(right - textW - indexW - 4, y - LABEL_PITCH / 2, textW + indexW + 8, LABEL_PITCH);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  ctx.font = labelFont(theme, hot !== null, special);
  ctx.fillStyle = labelColor(theme, hot, special);
  ctx.fillText(text, right, y);
  if (index) {
    ctx.font = labelFont(theme);
    ctx.fillStyle = theme.muted;
    ctx.fillText(`${index} `, right - textW, y);
  }
}

function drawColLabel(ctx: CanvasRenderingContext2D, s: HeatmapScene, j: number, x: number, withIndex: boolean, hot: 'hover' | 'selected' | null): void {
  ctx.save();
  ctx.translate(x, s.g.colLabelH - LABEL_GAP);
  ctx.rotate(-Math.PI / 2);
  // In the rotated frame the label runs along +x from the grid edge upwards.
  const { theme } = s;
  const { index, text, special } = labelParts(s, j, withIndex);
  ctx.font = labelFont(theme);
  const indexW = index ? ctx.measureText(`${index} `).width : 0;
  ctx.font = labelFont(theme, hot !== null, special);
  const textW = ctx.measureText(text).width;
  if (hot) {
    ctx.fillStyle = hot === 'hover' ? theme.hoverBackground : theme.selectionBackground;
    ctx.fillRect(-4, -LABEL_PITCH / 2, textW + indexW + 8, LABEL_PITCH);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  if (index) {
    ctx.font = labelFont(theme);
    ctx.fillStyle = theme.muted;
    ctx.fillText(`${index} `, 0, 0);
  }
  ctx.font = labelFont(theme, hot !== null, special);
  ctx.fillStyle = labelColor(theme, hot, special);
  ctx.fillText(text, indexW, 0);
  ctx.restore();
}

function drawCellValues(ctx: CanvasRenderingContext2D, s: HeatmapScene, k0: number, k1: number, q0: number, q1: number, gridX: number, gridY: number): void {
  const { matrix, lut, g } = s;
  const n = matrix.n;
  const scale = matrix.top > 0 ? 1 / matrix.top : 0;
  ctx.font = `${Math.min(12, Math.floor(g.cell / 3.2))}px ${s.theme.monoFont}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  for (let q = q0; q <= q1; q++) {
    for (let k = k0; k <= k1; k++) {
      const idx = q * n + k;
      if (matrix.mask[idx]) continue;
      const w = matrix.weights[idx];
      const li = Math.max(0, Math.min(LUT_SIZE - 1, Math.floor(w * scale * LUT_SIZE)));
      ctx.fillStyle = textColorOn(lut[li * 3], lut[li * 3 + 1], lut[li * 3 + 2]);
      ctx.fillText(w < 0.995 ? w.toFixed(2).replace(/^0/, '') : w.toFixed(2), gridX + (k + 0.5) * g.cell, gridY + (q + 0.5) * g.cell);
    }
  }
}

function drawOutlines(ctx: CanvasRenderingContext2D, s: HeatmapScene, gridX: number, gridY: number): void {
  const { g, theme } = s;
  const cell = g.cell;
  const span = g.n * cell;
  if (s.hover) {
    const { query, key } = s.hover;
    ctx.lineWidth = 1;
    ctx.strokeStyle = withAlpha(ctx, theme.foreground, 0.55);
    // The query's row and the key's column, so the eye can follow both to their labels.
    ctx.strokeRect(gridX + 0.5, gridY + query * cell + 0.5, span - 1, Math.max(1, cell - 1));
    ctx.strokeRect(gridX + key * cell + 0.5, gridY + 0.5, Math.max(1, cell - 1), span - 1);
  }
  const box = (c: Cell, color: string, width: number) => {
    // Tiny cells (long inputs) still get a visible box, centred on the cell, with a halo for contrast.
    const half = Math.max(cell, 7) / 2 + width / 2;
    const cx = gridX + (c.key + 0.5) * cell;
    const cy = gridY + (c.query + 0.5) * cell;
    ctx.lineWidth = width + 2;
    ctx.strokeStyle = theme.background;
    ctx.strokeRect(cx - half, cy - half, 2 * half, 2 * half);
    ctx.lineWidth = width;
    ctx.strokeStyle = color;
    ctx.strokeRect(cx - half, cy - half, 2 * half, 2 * half);
  };
  if (s.selected) box(s.selected, s.focused ? theme.focus : theme.foreground, 2);
  if (s.hover && (!s.selected || s.hover.query !== s.selected.query || s.hover.key !== s.selected.key)) box(s.hover, theme.foreground, 1.5);
}

export interface LegendSpec {
  readonly theme: Theme;
  readonly lut: Uint8ClampedArray;
  /** Where the colour scale ends. */
  readonly top: number;
  /** The largest weight (above `top` when the scale is clipped). */
  readonly max: number;
  readonly scaleLabel: string;
  readonly mean: boolean;
  readonly hatch: CanvasPattern | null;
  /** Whether the model masks (causal): explains the hatch. */
  readonly causal: boolean;
  /** The sliding window the mask shows, if any (the swatch says so). */
  readonly window?: number | null;
}

/** What the legend measures its words with (a canvas context, or a fake in tests). */
export type TextMeasurer = Pick<CanvasRenderingContext2D, 'font' | 'measureText' | 'save' | 'restore'>;

/** Words in lines no wider than `maxWidth` (a word wider than that gets a line of its own). */
export function wrapText(ctx: Pick<CanvasRenderingContext2D, 'measureText'>, text: string, maxWidth: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > maxWidth) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** Where the legend's parts go at a given width: the swatch beside the bar when both fit, else below it, its words wrapped. */
export interface LegendLayout {
  readonly width: number;
  readonly height: number;
  readonly barW: number;
  /** The scale's name on its own line under the title (when both do not fit on one). */
  readonly scaleBelow: boolean;
  /** Top of the gradient bar. */
  readonly barY: number;
  /** "scale ends at the 99.5th percentile; …", wrapped (empty when the scale is not clipped). */
  readonly clipLines: readonly string[];
  readonly swatchX: number;
  readonly swatchY: number;
  readonly labelLines: readonly string[];
  readonly detailLines: readonly string[];
}

const BAR_H = 12;
const BAR_MIN = 160;
const BAR_MAX = 320;
const SWATCH_TEXT_X = 22;
const LABEL_LINE = 15;
const DETAIL_LINE = 14;

function clipNote(spec: Pick<LegendSpec, 'top' | 'max'>): string | null {
  return spec.top < spec.max ? `scale ends at the 99.5th percentile; max ${formatNumber(spec.max, 3)}` : null;
}

/** Lays the legend out for `width` CSS px, measuring its words in the theme's fonts; nothing is drawn past `width`. */
export function legendLayout(ctx: TextMeasurer, width: number, spec: Pick<LegendSpec, 'theme' | 'top' | 'max' | 'mean' | 'scaleLabel' | 'causal' | 'window'>): LegendLayout {
  const { theme } = spec;
  ctx.save();
  const words = spec.causal ? maskLegend(spec.window ?? null) : NO_MASK_LEGEND;
  const textX = spec.causal ? SWATCH_TEXT_X : 0;
  ctx.font = uiFont(theme, 12);
  const titleW = ctx.measureText(spec.mean ? 'Mean attention weight' : 'Attention weight').width;
  const labelW = ctx.measureText(words.label).width;
  ctx.font = uiFont(theme, 11);
  const scaleW = ctx.measureText(`  ${spec.scaleLabel}`).width;
  const detailW = ctx.measureText(words.detail).width;
  const swatchW = textX + Math.max(labelW, detailW);
  const wide = width - swatchW - 24 >= BAR_MIN;
  const barW = wide ? Math.min(BAR_MAX, width - swatchW - 24) : Math.max(80, Math.min(BAR_MAX, width - 8));
  const scaleBelow = titleW + scaleW > width;
  const barY = scaleBelow ? 32 : 18;
  const note = clipNote(spec);
  const clipLines = note ? wrapText(ctx, note, width) : [];
  // Ticks end 27 px below the bar's top; the note's lines follow.
  const ticksEnd = barY + BAR_H + 15;
  const clipEnd = clipLines.length ? ticksEnd + 4 + clipLines.length * 13 : ticksEnd;
  let swatchX: number, swatchY: number, labelLines: string[], detailLines: string[];
  ctx.font = uiFont(theme, 12);
  if (wide) {
    swatchX = barW + 24;
    swatchY = barY - 2;
    labelLines = [words.label];
    detailLines = [words.detail];
  } else {
    swatchX = 0;
    swatchY = clipEnd + 10;
    labelLines = wrapText(ctx, words.label, width - textX);
    ctx.font = uiFont(theme, 11);
    detailLines = wrapText(ctx, words.detail, width - textX);
  }
  ctx.restore();
  // The label's baseline is 8 px below the swatch's top, then one line per wrapped line.
  const textEnd = swatchY + 8 + (labelLines.length - 1) * LABEL_LINE + detailLines.length * DETAIL_LINE + 4;
  const height = Math.ceil(Math.max(clipEnd, swatchY + 16, textEnd) + 4);
  return { width, height, barW, scaleBelow, barY, clipLines, swatchX, swatchY, labelLines, detailLines };
}

/** Height the legend needs at a given width. */
export function legendHeight(ctx: TextMeasurer, width: number, spec: Parameters<typeof legendLayout>[2]): number {
  return legendLayout(ctx, width, spec).height;
}

/** The colour legend: the gradient with 0 … max, the scale's name, and the masked-cell swatch. */
export function drawLegend(ctx: CanvasRenderingContext2D, x: number, y: number, width: number, spec: LegendSpec): void {
  const { theme } = spec;
  const L = legendLayout(ctx, width, spec);
  const barW = L.barW;
  const barH = BAR_H;
  ctx.save();
  ctx.font = uiFont(theme, 12);
  ctx.fillStyle = theme.foreground;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  const title = spec.mean ? 'Mean attention weight' : 'Attention weight';
  ctx.fillText(title, x, y + 12);
  const titleW = ctx.measureText(title).width;
  ctx.fillStyle = theme.muted;
  ctx.font = uiFont(theme, 11);
  if (L.scaleBelow) ctx.fillText(spec.scaleLabel, x, y + 26);
  else ctx.fillText(`  ${spec.scaleLabel}`, x + titleW, y + 12);

  const by = y + L.barY;
  for (let i = 0; i < barW; i++) {
    const li = Math.min(LUT_SIZE - 1, Math.floor((i / Math.max(1, barW - 1)) * (LUT_SIZE - 1)));
    ctx.fillStyle = `rgb(${spec.lut[li * 3]}, ${spec.lut[li * 3 + 1]}, ${spec.lut[li * 3 + 2]})`;
    ctx.fillRect(x + i, by, 1.5, barH);
  }
  ctx.strokeStyle = withAlpha(ctx, theme.foreground, 0.35);
  ctx.lineWidth = 1;
  ctx.strokeRect(x + 0.5, by + 0.5, barW - 1, barH - 1);

  // Ticks: 0, half, max.
  ctx.fillStyle = theme.muted;
  ctx.font = `11px ${theme.monoFont}`;
  ctx.textBaseline = 'top';
  const clipped = spec.top < spec.max;
  // Both ticks with the same number of decimals (0.50 and 1.00, not 0.500 and 1.00).
  const decimals = spec.top > 0 ? Math.min(6, Math.max(0, 2 - Math.floor(Math.log10(spec.top)))) : 2;
  const ticks: [number, string, CanvasTextAlign][] = [
    [0, '0', 'left'],
    [0.5, (spec.top / 2).toFixed(decimals), 'center'],
    [1, `${clipped ? '≥ ' : ''}${spec.top.toFixed(decimals)}`, 'right'],
  ];
  for (const [f, label, align] of ticks) {
    const tx = x + f * (barW - 1);
    ctx.fillRect(Math.round(tx), by + barH, 1, 3);
    ctx.textAlign = align;
    ctx.fillText(label, tx, by + barH + 4);
  }
  ctx.textAlign = 'left';
  ctx.font = uiFont(theme, 11);
  L.clipLines.forEach((line, i) => ctx.fillText(line, x, by + barH + 19 + i * 13));

  // Masked swatch; a model without a mask (an encoder) says so instead.
  const sx = x + L.swatchX;
  const sy = y + L.swatchY;
  const textX = spec.causal ? sx + SWATCH_TEXT_X : sx;
  if (spec.causal) {
    if (spec.hatch) {
      ctx.fillStyle = spec.hatch;
      ctx.fillRect(sx, sy, 16, 16);
    }
    ctx.strokeStyle = withAlpha(ctx, theme.foreground, 0.35);
    ctx.strokeRect(sx + 0.5, sy + 0.5, 15, 15);
  }
  ctx.textAlign = 'left';
  ctx.textBaseline = 'alphabetic';
  ctx.font = uiFont(theme, 12);
  ctx.fillStyle = theme.foreground;
  let baseline = sy + 8;
  L.labelLines.forEach((line, i) => {
    if (i > 0) baseline += LABEL_LINE;
    ctx.fillText(line, textX, baseline);
  });
  ctx.font = uiFont(theme, 11);
  ctx.fillStyle = theme.muted;
  for (const line of L.detailLines) {
    baseline += DETAIL_LINE;
    ctx.fillText(line, textX, baseline);
  }
  ctx.restore();
}
