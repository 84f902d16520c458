// The colour legend beside the heatmap (a DPR-aware canvas sized to its container).
import { maskLegend } from '../src/present/family';
import { frameScheduler, h } from './dom';
import { drawLegend, legendHeight, makeHatch, type LegendSpec } from './heatmapDraw';

export class LegendView {
  readonly element: HTMLDivElement;
  private readonly canvas: HTMLCanvasElement;
  private spec: Omit<LegendSpec, 'hatch'> | null = null;
  private readonly schedule = frameScheduler(() => this.draw());

  constructor() {
    this.canvas = h('canvas', { class: 'legend-canvas', attrs: { role: 'img' } });
    this.element = h('div', { class: 'legend' }, [this.canvas]);
    new ResizeObserver(() => this.schedule()).observe(this.element);
  }

  update(spec: Omit<LegendSpec, 'hatch'>): void {
    const prev = this.spec;
    this.spec = spec;
    this.canvas.setAttribute(
      'aria-label',
      `Colour legend: ${spec.mean ? 'mean attention weight' : 'attention weight'} from 0 to ${spec.top.toPrecision(3)}${spec.top < spec.max ? ' (larger weights, up to ' + spec.max.toPrecision(3) + ', share the top colour)' : ''} on the ${spec.scaleLabel} scale${spec.causal ? `; hatched cells are ${maskLegend(spec.window ?? null).label} (score −∞, weight 0)` : '; nothing is masked'}.`,
    );
    if (!prev || prev.theme !== spec.theme || prev.lut !== spec.lut || prev.max !== spec.max || prev.top !== spec.top || prev.mean !== spec.mean || prev.causal !== spec.causal || prev.window !== spec.window || prev.scaleLabel !== spec.scaleLabel) this.schedule();
  }

  private draw(): void {
    const spec = this.spec;
    if (!spec) return;
    // Never wider than the column: the words wrap below the bar instead of running past the edge.
    const width = Math.max(120, Math.min(620, this.element.clientWidth));
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const height = legendHeight(ctx, width, spec);
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    drawLegend(ctx, 0, 0, width, { ...spec, hatch: makeHatch(ctx, spec.theme, dpr) });
  }
}
