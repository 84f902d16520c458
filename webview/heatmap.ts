// The live heatmap: a scroll box whose sticky <canvas> shows only the visible cells (the whole matrix is one
// n × n image drawn scaled), frozen token-label bands, hover/focus outlines, ctrl/cmd-wheel zoom and keys.
import type { TokenView } from '../src/protocol';
import { SPECIAL_TOKEN } from '../src/present/family';
import { focusableCanvas, frameScheduler, h } from './dom';
import { effectiveCell, fitCell, hitTest, MAX_CELL, moveCell, scrollToReveal, zoomAround, contentSize, type Geometry } from './geometry';
import { tokenTitle } from './format';
import { buildCellImage, drawHeatmap, makeHatch, MAX_LABEL_CHARS, measureLabels } from './heatmapDraw';
import type { HeatmapMatrix } from './matrix';
import type { Cell } from './viewState';
import type { Theme } from './theme';

export interface HeatmapCallbacks {
  /** Pointer over a cell. */
  hover(cell: Cell): void;
  /** Pointer left, or focus left the canvas. */
  leave(): void;
  /** Keyboard moved the focus cell (or the canvas got focus). */
  focusCell(cell: Cell): void;
  /** Click or Enter on a cell: explain it. */
  activate(cell: Cell): void;
  /** Click on a token label. */
  reveal(index: number): void;
  /** New zoom (CSS px per cell), or null to fit. */
  zoom(cell: number | null): void;
}

export interface HeatmapInput {
  readonly matrix: HeatmapMatrix | null;
  readonly tokens: readonly TokenView[];
  readonly lut: Uint8ClampedArray;
  readonly theme: Theme;
  readonly zoom: number | null;
  readonly hover: Cell | null;
  readonly selected: Cell | null;
  readonly ariaLabel: string;
  readonly compact: boolean;
}

const ZOOM_STEP = 1.5;

/** Longest token list read out as the heatmap's description; beyond it the arrow keys and readout help. */
const MAX_DESCRIBED_TOKENS = 300;
let descriptionCounter = 0;

export class HeatmapView {
  readonly element: HTMLDivElement;
  private readonly scroller: HTMLDivElement;
  private readonly inner: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  /** The token labels as text for screen readers: the canvas only draws them. */
  private readonly description: HTMLParagraphElement;
  private describedTokens: readonly TokenView[] | null = null;
  private readonly ctx: CanvasRenderingContext2D;
  private input: HeatmapInput | null = null;
  private image: HTMLCanvasElement | null = null;
  private imageFor: { matrix: HeatmapMatrix; lut: Uint8ClampedArray } | null = null;
  private labels: { tokens: readonly TokenView[]; theme: Theme; rowLabelW: number; colLabelH: number } | null = null;
  private hatch: { theme: Theme; dpr: number; pattern: CanvasPattern | null } | null = null;
  private g: Geometry | null = null;
  private fit = 1;
  private readonly schedule = frameScheduler(() => this.draw());
  private anchor: { x: number; y: number } | null = null;
  private focused = false;
  private pointerFocus = false;
  private pointer: { x: number; y: number } | null = null;
  private pointerFrame = 0;
  /** True while a dimmed previous layer stands in for one that is loading. */
  private stale = false;
  private readonly resizeObserver: ResizeObserver;
  private lastWidth = -1;

  constructor(private readonly cb: HeatmapCallbacks) {
    ({ canvas: this.canvas, ctx: this.ctx } = focusableCanvas('hm-canvas', 'attention heatmap'));
    this.inner = h('div', { class: 'hm-inner' }, [this.canvas]);
    this.scroller = h('div', { class: 'hm-scroll', attrs: { tabindex: -1 } }, [this.inner]);
    const descriptionId = `hm-tokens-${++descriptionCounter}`;
    this.description = h('p', { class: 'visually-hidden', attrs: { id: descriptionId } });
    this.canvas.setAttribute('aria-describedby', descriptionId);
    this.element = h('div', { class: 'hm' }, [this.scroller, this.description]);

    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.canvas.addEventListener('mousemove', (e) => this.onPointer(e));
    this.canvas.addEventListener('mouseleave', () => {
      this.pointer = null;
      this.canvas.classList.remove('hm-clickable');
      this.cb.leave();
    });
    this.canvas.addEventListener('click', (e) => this.onClick(e));
    this.canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    // A click focuses the canvas too; then the click itself picks the cell, not the focus handler.
    this.canvas.addEventListener('pointerdown', () => (this.pointerFocus = true));
    this.canvas.addEventListener('focus', () => {
      this.focused = true;
      const n = this.input?.matrix?.n ?? 0;
      if (n > 0 && !this.pointerFocus) this.cb.focusCell(this.input?.selected ?? { query: 0, key: 0 });
      this.pointerFocus = false;
      this.schedule();
    });
    this.canvas.addEventListener('blur', () => {
      this.focused = false;
      this.cb.leave();
      this.schedule();
    });
    this.resizeObserver = new ResizeObserver(() => {
      const w = this.element.clientWidth;
      if (w !== this.lastWidth) {
        this.lastWidth = w;
        this.layout();
      }
    });
    this.resizeObserver.observe(this.element);
    addEventListener('resize', () => this.layout());
  }

  /** CSS px per cell currently drawn. */
  get cellSize(): number {
    return this.g?.cell ?? this.fit;
  }

  get fitSize(): number {
    return this.fit;
  }

  focus(): void {
    this.canvas.focus();
  }

  update(input: HeatmapInput): void {
    const prev = this.input;
    if (!input.matrix && prev?.matrix && prev.tokens === input.tokens) {
      // Another layer of the same result is loading: keep showing the last one, dimmed and inert.
      this.element.classList.add('hm-stale');
      this.stale = true;
      this.input = { ...prev, theme: input.theme, lut: input.lut };
      return;
    }
    this.stale = false;
    this.element.classList.toggle('hm-stale', false);
    this.input = input;
    this.canvas.setAttribute('aria-label', input.ariaLabel);
    if (this.describedTokens !== input.tokens) {
      this.describedTokens = input.tokens;
      const shown = input.tokens.slice(0, MAX_DESCRIBED_TOKENS).map((t, i) => (t.special ? `${i} ${t.text} (special, ${SPECIAL_TOKEN})` : `${i} ${t.text}`));
      const more = input.tokens.length > MAX_DESCRIBED_TOKENS ? `, and ${input.tokens.length - MAX_DESCRIBED_TOKENS} more` : '';
      this.description.textContent = `Tokens, the same for rows (queries) and columns (keys): ${shown.join(', ')}${more}.`;
    }
    this.element.classList.toggle('hm-compact', input.compact);
    const needsLayout = !prev || prev.matrix?.n !== input.matrix?.n || prev.tokens !== input.tokens || prev.theme !== input.theme || prev.zoom !== input.zoom || prev.compact !== input.compact;
    if (needsLayout) this.layout();
    else this.schedule();
  }

  /** Redraw with freshly read theme colours (the caller passes the new theme through update as well). */
  redraw(): void {
    this.hatch = null;
    this.layout();
  }

  /** Zoom buttons: steps around the view's centre. */
  zoomBy(direction: 1 | -1): void {
    const next = direction > 0 ? this.cellSize * ZOOM_STEP : this.cellSize / ZOOM_STEP;
    this.anchor = { x: this.scroller.clientWidth / 2, y: this.scroller.clientHeight / 2 };
    this.cb.zoom(next <= this.fit * 1.01 ? null : Math.min(MAX_CELL, next));
  }

  private maxChars(): number {
    return this.input?.compact ? 10 : MAX_LABEL_CHARS;
  }

  private maxHeight(): number {
    const vh = window.innerHeight || 800;
    if (this.input?.compact) return Math.max(220, Math.min(vh - 150, 720));
    // Leave room above for the toolbar and pickers and below for the readout and legend.
    return Math.max(300, Math.min(vh - 380, 960));
  }

  private layout(): void {
    const input = this.input;
    const m = input?.matrix;
    if (!input || !m) {
      this.g = null;
      this.schedule();
      return;
    }
    if (!this.labels || this.labels.tokens !== input.tokens || this.labels.theme !== input.theme) {
      this.labels = { tokens: input.tokens, theme: input.theme, ...measureLabels(this.ctx, input.tokens, input.theme, this.maxChars()) };
    }
    const { rowLabelW, colLabelH } = this.labels;
    const availW = Math.max(120, this.element.clientWidth - 2);
    const maxH = this.maxHeight();
    this.fit = fitCell(m.n, availW, maxH, rowLabelW, colLabelH);
    const old = this.g;
    const cell = effectiveCell(input.zoom, this.fit);
    const g: Geometry = { n: m.n, cell, rowLabelW, colLabelH };
    this.g = g;
    const size = contentSize(g);
    this.inner.style.width = `${Math.ceil(size.width)}px`;
    this.inner.style.height = `${Math.ceil(size.height)}px`;
    // Room for a horizontal scrollbar when the grid is wider than the view.
    const scrollbar = size.width > availW ? 12 : 0;
    this.scroller.style.height = `${Math.ceil(Math.min(size.height + scrollbar, maxH))}px`;
    if (this.anchor && old && old.cell !== cell) {
      const next = zoomAround(old, this.scroller.scrollLeft, this.scroller.scrollTop, this.anchor.x, this.anchor.y, cell);
      this.scroller.scrollLeft = next.x;
      this.scroller.scrollTop = next.y;
    }
    this.anchor = null;
    this.schedule();
  }


  private draw(): void {
    const input = this.input;
    const g = this.g;
    const w = this.scroller.clientWidth;
    const hgt = this.scroller.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.max(1, Math.round(w * dpr));
    const ch = Math.max(1, Math.round(hgt * dpr));
    if (this.canvas.width !== cw || this.canvas.height !== ch) {
      this.canvas.width = cw;
      this.canvas.height = ch;
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${hgt}px`;
    }
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    if (!input || !input.matrix || !g) {
      ctx.clearRect(0, 0, w, hgt);
      return;
    }
    if (!this.image || !this.imageFor || this.imageFor.matrix !== input.matrix || this.imageFor.lut !== input.lut) {
      this.image = buildCellImage(input.matrix, input.lut);
      this.imageFor = { matrix: input.matrix, lut: input.lut };
    }
    if (!this.hatch || this.hatch.theme !== input.theme || this.hatch.dpr !== dpr) {
      this.hatch = { theme: input.theme, dpr, pattern: makeHatch(ctx, input.theme, dpr) };
    }
    drawHeatmap(ctx, {
      g,
      width: w,
      height: hgt,
      scrollX: this.scroller.scrollLeft,
      scrollY: this.scroller.scrollTop,
      image: this.image,
      matrix: input.matrix,
      tokens: input.tokens,
      theme: input.theme,
      hatch: this.hatch.pattern,
      lut: input.lut,
      hover: input.hover,
      selected: input.selected,
      focused: this.focused,
      dpr,
      maxChars: this.maxChars(),
    });
  }

  private hitAt(e: MouseEvent) {
    // A dimmed layer stands in while the chosen one loads; its cells must not be explained or hovered.
    if (!this.g || this.stale) return null;
    const r = this.canvas.getBoundingClientRect();
    return hitTest(this.g, this.scroller.scrollLeft, this.scroller.scrollTop, e.clientX - r.left, e.clientY - r.top);
  }

  private onPointer(e: MouseEvent): void {
    this.pointer = { x: e.clientX, y: e.clientY };
    if (this.pointerFrame) return;
    this.pointerFrame = requestAnimationFrame(() => {
      this.pointerFrame = 0;
      if (!this.pointer || !this.g || this.stale) return;
      const r = this.canvas.getBoundingClientRect();
      const hit = hitTest(this.g, this.scroller.scrollLeft, this.scroller.scrollTop, this.pointer.x - r.left, this.pointer.y - r.top);
      const tokens = this.input?.tokens ?? [];
      const special = hit !== null && hit.kind !== 'cell' && tokens[hit.index]?.special === true;
      // A special token's label has nothing to reveal in the editor: it says what it is instead.
      this.canvas.classList.toggle('hm-clickable', hit !== null && !special);
      const title = hit && hit.kind !== 'cell' ? tokenTitle(tokens, hit.index) : '';
      if (this.canvas.title !== title) this.canvas.title = title;
      if (hit?.kind === 'cell') this.cb.hover(hit.cell);
    });
  }

  private onClick(e: MouseEvent): void {
    this.pointerFocus = false;
    const hit = this.hitAt(e);
    if (!hit) return;
    if (hit.kind === 'cell') this.cb.activate(hit.cell);
    else this.cb.reveal(hit.index);
  }

  private onWheel(e: WheelEvent): void {
    if (!(e.ctrlKey || e.metaKey) || !this.g) return;
    e.preventDefault();
    const r = this.canvas.getBoundingClientRect();
    const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    const factor = Math.exp(-Math.max(-100, Math.min(100, delta)) * 0.0015);
    const next = this.g.cell * factor;
    this.anchor = { x: e.clientX - r.left, y: e.clientY - r.top };
    this.cb.zoom(next <= this.fit * 1.01 ? null : Math.min(MAX_CELL, next));
  }

  private onKey(e: KeyboardEvent): void {
    const input = this.input;
    const g = this.g;
    if (!input?.matrix || !g || this.stale) return;
    const n = input.matrix.n;
    const from = input.selected ?? { query: 0, key: 0 };
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.cb.activate(from);
      return;
    }
    if (e.key === '+' || e.key === '=') {
      e.preventDefault();
      this.zoomBy(1);
      return;
    }
    if (e.key === '-' || e.key === '_') {
      e.preventDefault();
      this.zoomBy(-1);
      return;
    }
    if (e.key === '0') {
      e.preventDefault();
      this.cb.zoom(null);
      return;
    }
    if (e.key === 'Escape') {
      this.cb.leave();
      return;
    }
    const page = Math.max(1, Math.floor((this.scroller.clientHeight - g.colLabelH) / g.cell) - 1);
    const next = moveCell(from, e.key, n, page, e.ctrlKey || e.metaKey);
    if (!next) return;
    e.preventDefault();
    const s = scrollToReveal(g, this.scroller.scrollLeft, this.scroller.scrollTop, this.scroller.clientWidth, this.scroller.clientHeight, next);
    this.scroller.scrollLeft = s.x;
    this.scroller.scrollTop = s.y;
    this.cb.focusCell(next);
  }
}
