// Export: the whole heatmap (not just the visible part) with axis labels, a title and the legend, drawn
// into an offscreen canvas and returned as a PNG data URL.
import { colorLut, SCALE_LABELS } from './colorScales';
import { contentSize, type Geometry } from './geometry';
import { buildCellImage, drawHeatmap, drawLegend, legendHeight, makeHatch, measureLabels } from './heatmapDraw';
import { currentMatrix, effectiveLayer } from './selectors';
import type { AppState } from './store';
import type { Theme } from './theme';

const PAD = 20;
const TITLE_H = 64;
/** Largest side of the exported image in device pixels. */
const MAX_SIDE = 8192;

export function renderHeatmapPng(state: AppState, theme: Theme): string {
  const m = currentMatrix(state);
  const summary = state.summary;
  if (!m || !summary) throw new Error('no heatmap is showing');
  const n = m.n;
  const probe = document.createElement('canvas').getContext('2d');
  if (!probe) throw new Error('canvas 2-D context unavailable');
  const { rowLabelW, colLabelH } = measureLabels(probe, summary.tokens, theme);
  const cell = Math.max(1, Math.min(32, Math.floor(1400 / Math.max(1, n))));
  const g: Geometry = { n, cell, rowLabelW, colLabelH };
  const size = contentSize(g);
  const legendW = Math.max(440, Math.min(620, size.width - rowLabelW));
  const legend = {
    theme,
    lut: colorLut(state.settings.colorScale),
    top: m.top,
    max: m.max,
    scaleLabel: SCALE_LABELS[state.settings.colorScale],
    mean: state.view.head === 'mean',
    causal: summary.model.causal,
    window: m.window,
  };
  const width = Math.ceil(PAD * 2 + Math.max(size.width, rowLabelW + legendW));
  const height = Math.ceil(TITLE_H + size.height + 16 + legendHeight(probe, legendW, legend) + PAD);
  const scale = Math.max(1, Math.min(2, Math.floor(MAX_SIDE / Math.max(width, height))));

  const canvas = document.createElement('canvas');
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('canvas 2-D context unavailable');
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, width, height);

  const layer = effectiveLayer(state) ?? 0;
  const head = state.view.head === 'mean' ? `mean over ${summary.model.heads} heads` : `head ${state.view.head}`;
  ctx.fillStyle = theme.foreground;
  ctx.font = `600 15px ${theme.uiFont}`;
  ctx.textBaseline = 'alphabetic';
  ctx.fillText(`Attention · ${summary.model.label} · layer ${layer}, ${head}`, PAD, PAD + 8);
  ctx.fillStyle = theme.muted;
  ctx.font = `12px ${theme.uiFont}`;
  ctx.fillText(`${summary.source.fileName}, line ${summary.source.startLine + 1} · ${n} tokens · rows: query tokens, columns: key tokens`, PAD, PAD + 26);

  const lut = legend.lut;
  const hatch = makeHatch(ctx, theme, scale);
  ctx.save();
  ctx.translate(PAD, TITLE_H);
  drawHeatmap(ctx, {
    g,
    width: size.width,
    height: size.height,
    scrollX: 0,
    scrollY: 0,
    image: buildCellImage(m, lut),
    matrix: m,
    tokens: summary.tokens,
    theme,
    hatch,
    lut,
    hover: null,
    selected: null,
    focused: false,
    dpr: scale,
  });
  ctx.restore();
  drawLegend(ctx, PAD + rowLabelW, TITLE_H + size.height + 16, legendW, { ...legend, hatch });
  return canvas.toDataURL('image/png');
}
