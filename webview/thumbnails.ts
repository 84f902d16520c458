// The layers × heads overview: every head of every layer as a small heatmap (from summary.thumbnails), plus
// a mean-over-heads column, on one canvas with hit-testing. Click or Enter picks that layer and head.
import type { InspectionSummary } from '../src/protocol';
import { focusableCanvas, frameScheduler, h } from './dom';
import { formatNumber } from './format';
import { makeHatch } from './heatmapDraw';
import { colorize, maskedLayerBlocks, maxFinite } from './matrix';
import type { HeadChoice } from './viewState';
import type { Theme } from './theme';

export interface ThumbnailInput {
  readonly summary: InspectionSummary;
  readonly lut: Uint8ClampedArray;
  readonly theme: Theme;
  readonly layer: number;
  readonly head: HeadChoice;
}

const GAP = 6;
const HEADER_H = 18;
const ROW_LABEL_W = 36;

interface Layout {
  readonly thumb: number;
  readonly cols: number;
  readonly rows: number;
}

export class ThumbnailGrid {
  readonly element: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private input: ThumbnailInput | null = null;
  private sheet: HTMLCanvasElement | null = null;
  private sheetFor: { summary: InspectionSummary; lut: Uint8ClampedArray } | null = null;
  private layout: Layout | null = null;
  private cursor: { layer: number; col: number } | null = null;
  private hover: { layer: number; col: number } | null = null;
  private readonly schedule = frameScheduler(() => this.draw());

  constructor(private readonly onSelect: (layer: number, head: HeadChoice) => void) {
    ({ canvas: this.canvas, ctx: this.ctx } = focusableCanvas('thumbs-canvas', 'head overview'));
    this.element = h('div', { class: 'thumbs' }, [this.canvas]);
    this.watchPixelDensity();
    this.canvas.addEventListener('mousemove', (e) => {
      const hit = this.hitAt(e);
      const changed = hit?.layer !== this.hover?.layer || hit?.col !== this.hover?.col;
      this.hover = hit;
      this.canvas.classList.toggle('hm-clickable', hit !== null);
      this.canvas.title = hit ? this.describe(hit.layer, hit.col) : '';
      if (changed) this.schedule();
    });
    this.canvas.addEventListener('mouseleave', () => {
      this.hover = null;
      this.schedule();
    });
    this.canvas.addEventListener('click', (e) => {
      const hit = this.hitAt(e);
      if (hit) this.pick(hit.layer, hit.col);
    });
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    this.canvas.addEventListener('blur', () => {
      this.cursor = null;
      this.schedule();
    });
    new ResizeObserver(() => this.relayout()).observe(this.element);
  }

  update(input: ThumbnailInput): void {
    const prev = this.input;
    if (prev && prev.summary === input.summary && prev.lut === input.lut && prev.theme === input.theme && prev.layer === input.layer && prev.head === input.head) return;
    this.input = input;
    const { layers, heads } = input.summary.model;
    this.canvas.setAttribute(
      'aria-label',
      `Overview of ${layers} layer${layers === 1 ? '' : 's'} × ${heads} heads plus the mean; showing layer ${input.layer}, ${input.head === 'mean' ? 'mean over heads' : `head ${input.head}`}. Arrow keys move, Enter shows the head.`,
    );
    if (!prev || prev.summary !== input.summary || prev.theme !== input.theme) this.relayout();
    else this.schedule();
  }

  private relayoutDpr = 0;

  /** A pixel-density change (another monitor, browser zoom) fires no resize: redraw on it. */
  private watchPixelDensity(): void {
    const query = window.matchMedia(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
    query.addEventListener('change', () => {
      this.schedule();
      this.watchPixelDensity();
    }, { once: true });
  }

  private relayout(): void {
    const input = this.input;
    if (!input) return;
    this.relayoutDpr = window.devicePixelRatio || 1;
    const { layers, heads } = input.summary.model;
    const cols = heads + 1;
    const avail = Math.max(200, this.element.clientWidth);
    const thumb = Math.max(28, Math.min(64, Math.floor((avail - ROW_LABEL_W) / cols) - GAP));
    this.layout = { thumb, cols, rows: layers };
    const w = ROW_LABEL_W + cols * (thumb + GAP);
    const hgt = HEADER_H + layers * (thumb + GAP);
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(hgt * dpr);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${hgt}px`;
    this.schedule();
  }


  /** All thumbnails, each normalised to its own maximum, tiled [layer][head | mean] into one image. */
  private buildSheet(input: ThumbnailInput): HTMLCanvasElement {
    const { summary, lut } = input;
    const { layers, heads } = summary.model;
    const n = summary.tokens.length;
    const side = summary.thumbnails.side;
    const data = summary.thumbnails.data;
    const cols = heads + 1;
    const sheet = document.createElement('canvas');
    sheet.width = Math.max(1, cols * side);
    sheet.height = Math.max(1, layers * side);
    const ctx = sheet.getContext('2d');
    if (!ctx || side === 0 || data.length < layers * heads * side * side) return sheet;
    const tile = ctx.createImageData(side, side);
    const size = side * side;
    for (let l = 0; l < layers; l++) {
      // Causal models: the later keys, and a sliding window's far past (0 in every head); encoders mask nothing.
      const mask = summary.model.causal ? maskedLayerBlocks(n, side, data.subarray(l * heads * size, (l + 1) * heads * size), heads) : null;
      const mean = new Float32Array(size);
      for (let hd = 0; hd < heads; hd++) {
        const block = data.subarray((l * heads + hd) * size, (l * heads + hd + 1) * size);
        for (let i = 0; i < size; i++) mean[i] += block[i] / heads;
        colorize(tile.data, block, mask, lut, maxFinite(block));
        ctx.putImageData(tile, hd * side, l * side);
      }
      colorize(tile.data, mean, mask, lut, maxFinite(mean));
      ctx.putImageData(tile, heads * side, l * side);
    }
    return sheet;
  }

  private draw(): void {
    const input = this.input;
    const layout = this.layout;
    if (!input || !layout) return;
    // Moved to a screen with another pixel density: size the backing store for it first.
    if ((window.devicePixelRatio || 1) !== this.relayoutDpr) return this.relayout();
    if (!this.sheet || this.sheetFor?.summary !== input.summary || this.sheetFor.lut !== input.lut) {
      this.sheet = this.buildSheet(input);
      this.sheetFor = { summary: input.summary, lut: input.lut };
    }
    const { theme } = input;
    const { thumb, cols, rows } = layout;
    const heads = cols - 1;
    const side = input.summary.thumbnails.side;
    const dpr = window.devicePixelRatio || 1;
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const w = this.canvas.width / dpr;
    const hgt = this.canvas.height / dpr;
    ctx.fillStyle = theme.background;
    ctx.fillRect(0, 0, w, hgt);
    const hatch = input.summary.model.causal ? makeHatch(ctx, theme, dpr) : null;

    ctx.font = `11px ${theme.uiFont}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    for (let c = 0; c < cols; c++) {
      const x = ROW_LABEL_W + c * (thumb + GAP) + thumb / 2;
      const chosen = c === heads ? input.head === 'mean' : input.head === c;
      ctx.fillStyle = chosen ? theme.foreground : theme.muted;
      ctx.font = `${chosen ? '600 ' : ''}11px ${theme.uiFont}`;
      ctx.fillText(c === heads ? 'mean' : `H${c}`, x, HEADER_H / 2);
    }
    ctx.textAlign = 'right';
    for (let l = 0; l < rows; l++) {
      const y = HEADER_H + l * (thumb + GAP) + thumb / 2;
      ctx.fillStyle = l === input.layer ? theme.foreground : theme.muted;
      ctx.font = `${l === input.layer ? '600 ' : ''}11px ${theme.uiFont}`;
      ctx.fillText(`L${l}`, ROW_LABEL_W - 8, y);
    }
    ctx.imageSmoothingEnabled = thumb < side;
    for (let l = 0; l < rows; l++) {
      for (let c = 0; c < cols; c++) {
        const x = ROW_LABEL_W + c * (thumb + GAP);
        const y = HEADER_H + l * (thumb + GAP);
        if (hatch) {
          ctx.fillStyle = hatch;
          ctx.fillRect(x, y, thumb, thumb);
        }
        ctx.drawImage(this.sheet, c * side, l * side, side, side, x, y, thumb, thumb);
        if (c === heads) {
          // The mean column is set apart by a thin rule.
          ctx.fillStyle = theme.border;
          ctx.fillRect(x - GAP / 2 - 0.5, y, 1, thumb);
        }
      }
    }
    const outline = (l: number, c: number, color: string, width: number) => {
      const x = ROW_LABEL_W + c * (thumb + GAP);
      const y = HEADER_H + l * (thumb + GAP);
      ctx.lineWidth = width;
      ctx.strokeStyle = color;
      ctx.strokeRect(x - width / 2 - 1, y - width / 2 - 1, thumb + width + 2, thumb + width + 2);
    };
    if (this.hover) outline(this.hover.layer, this.hover.col, theme.foreground, 1);
    const selCol = input.head === 'mean' ? heads : input.head;
    outline(input.layer, selCol, theme.focus, 2);
    if (this.cursor) outline(this.cursor.layer, this.cursor.col, theme.foreground, 1.5);
  }

  private hitAt(e: MouseEvent): { layer: number; col: number } | null {
    const layout = this.layout;
    if (!layout) return null;
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left - ROW_LABEL_W;
    const y = e.clientY - r.top - HEADER_H;
    if (x < 0 || y < 0) return null;
    const col = Math.floor(x / (layout.thumb + GAP));
    const layer = Math.floor(y / (layout.thumb + GAP));
    if (x - col * (layout.thumb + GAP) > layout.thumb || y - layer * (layout.thumb + GAP) > layout.thumb) return null;
    if (col >= layout.cols || layer >= layout.rows) return null;
    return { layer, col };
  }

  private describe(layer: number, col: number): string {
    const input = this.input;
    if (!input) return '';
    const heads = input.summary.model.heads;
    if (col === heads) return `Layer ${layer} · mean over ${heads} heads — click to show`;
    const m = input.summary.metrics[layer]?.[col];
    const stats = m ? ` — entropy ${formatNumber(m.entropy, 3)}, max ${formatNumber(m.maxWeight, 3)}, previous-token ${formatNumber(m.previousTokenMass, 3)}` : '';
    return `Layer ${layer} · head ${col}${stats} (each thumbnail uses its own colour range)`;
  }

  private pick(layer: number, col: number): void {
    const heads = this.input?.summary.model.heads ?? 0;
    this.onSelect(layer, col === heads ? 'mean' : col);
  }

  private onKey(e: KeyboardEvent): void {
    const input = this.input;
    const layout = this.layout;
    if (!input || !layout) return;
    const heads = layout.cols - 1;
    const cur = this.cursor ?? { layer: input.layer, col: input.head === 'mean' ? heads : input.head };
    let next: { layer: number; col: number };
    switch (e.key) {
      case 'ArrowLeft':
        next = { ...cur, col: Math.max(0, cur.col - 1) };
        break;
      case 'ArrowRight':
        next = { ...cur, col: Math.min(layout.cols - 1, cur.col + 1) };
        break;
      case 'ArrowUp':
        next = { ...cur, layer: Math.max(0, cur.layer - 1) };
        break;
      case 'ArrowDown':
        next = { ...cur, layer: Math.min(layout.rows - 1, cur.layer + 1) };
        break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.pick(cur.layer, cur.col);
        return;
      default:
        return;
    }
    e.preventDefault();
    this.cursor = next;
    this.canvas.title = this.describe(next.layer, next.col);
    this.canvas.setAttribute('aria-label', `${this.describe(next.layer, next.col)}. Press Enter to show it.`);
    this.schedule();
  }
}
