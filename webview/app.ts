// Builds the page once and keeps it in step with the controller's state. The panel shows everything; the
// side view (data-view="side") shows the heatmap with its pickers and readout only.
import type { StepId } from '../src/engine/attention';
import type { InspectionSummary, WebviewCommand } from '../src/protocol';
import { colorLut, SCALE_LABELS } from './colorScales';
import type { Controller } from './controller';
import { codicon, custom, h, replaceChildren, scrollBehavior, setHidden } from './dom';
import { ExplainView } from './explainView';
import { isEncoder, maskGuide } from '../src/present/family';
import { formatDuration, shortModelName } from './format';
import { HeatmapView } from './heatmap';
import { LegendView } from './legend';
import { MetricsView, NextTokenView } from './metricsView';
import { currentMatrix, currentTrace, effectiveLayer, readoutFor } from './selectors';
import type { AppState } from './store';
import { readTheme, watchTheme, type Theme } from './theme';
import { ThumbnailGrid } from './thumbnails';
import { explanationFor } from './traceModel';
import { TraceView } from './traceView';
import type { HeadChoice, Section } from './viewState';

interface SelectElement extends HTMLElement {
  value: string;
  disabled: boolean;
}

const HINT = 'Hover a cell to read it; click (or press Enter) to see its arithmetic.';

export class App {
  theme: Theme;
  private readonly compact: boolean;
  private readonly toolbar: HTMLElement;
  private readonly toolbarStatus: HTMLElement;
  private statusFor: InspectionSummary | null = null;
  private readonly progress: HTMLElement;
  private readonly busyText: HTMLElement;
  private readonly banners: HTMLElement;
  private readonly emptyState: HTMLElement;
  private readonly emptyMessage: HTMLElement;
  private readonly loading: HTMLElement;
  private readonly result: HTMLElement;
  private readonly layerSelect: SelectElement;
  private readonly headSelect: SelectElement;
  private readonly zoomLabel: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly layerStatus: HTMLElement;
  private readonly heatmap: HeatmapView;
  private readonly readout: HTMLElement;
  private readonly legend: LegendView;
  private readonly aside: HTMLElement;
  private readonly guide: HTMLElement;
  private readonly maskGuide: HTMLElement;
  private readonly explain: ExplainView;
  private readonly thumbs: ThumbnailGrid;
  private readonly metrics: MetricsView;
  private readonly nextTokens: NextTokenView;
  private readonly trace: TraceView;
  private readonly sections: Partial<Record<Section | 'next', HTMLDetailsElement>> = {};
  private readonly nextSection: HTMLDetailsElement;
  private optionsFor: InspectionSummary | null = null;
  private state: AppState;
  private bannerKey = '';
  /** Where the explanation shows: beside the heatmap, or below the trace table it was opened from. */
  private explainFrom: StepId | null = null;

  constructor(
    root: HTMLElement,
    private readonly controller: Controller,
    options: { compact: boolean },
  ) {
    this.compact = options.compact;
    this.theme = readTheme();
    this.state = controller.state;
    const c = controller;

    // ---- toolbar ----
    const button = (label: string, icon: string, command: WebviewCommand, primary = false, iconOnly = false) =>
      custom(
        'vscode-button',
        {
          attrs: { secondary: !primary, 'icon-only': iconOnly, 'aria-label': label, title: label },
          on: { click: () => c.runCommand(command) },
        },
        iconOnly ? [codicon(icon)] : [codicon(icon), h('span', { class: 'btn-label', text: label })],
      );
    const actions = h('div', { class: 'toolbar-actions', attrs: { role: 'toolbar', 'aria-label': 'Attention Inspector actions' } }, [
      button('Inspect Selection', 'inspect', 'inspectSelection', true, false),
      button('Choose Model', 'chip', 'chooseModel', false, this.compact),
      button('Export', 'export', 'export', false, this.compact),
      button('Settings', 'settings-gear', 'openSettings', false, true),
    ]);
    this.toolbarStatus = h('div', { class: 'status muted' });
    const toolbar = h('header', { class: 'toolbar' }, [actions, this.toolbarStatus]);
    this.toolbar = toolbar;
    // Scrolled-to explanations and trace cards land below the sticky toolbar, however many lines it wraps to.
    new ResizeObserver(() => {
      document.documentElement.style.scrollPaddingTop = `${Math.ceil(toolbar.getBoundingClientRect().height) + 12}px`;
    }).observe(toolbar);

    this.progress = custom('vscode-progress-bar', { class: 'progress', attrs: { 'aria-label': 'Working' } });
    this.busyText = h('div', { class: 'busy-text', attrs: { role: 'status' } });
    this.banners = h('div', { class: 'banners' });

    // ---- empty and loading states ----
    this.emptyMessage = h('p', { class: 'empty-reason' });
    this.emptyState = h('section', { class: 'empty-state', attrs: { 'aria-labelledby': 'empty-title' } }, [
      h('div', { class: 'empty-icon' }, [codicon('telescope')]),
      h('h2', { text: 'See what attention does with your text', attrs: { id: 'empty-title' } }),
      this.emptyMessage,
      h('ol', { class: 'empty-steps' }, [
        h('li', { text: 'Select some text in an editor (or leave the cursor on a line).' }),
        h('li', {}, ['Run ', h('strong', { text: 'Inspect Selection' }), ' from the Command Palette, or press the button below.']),
        h('li', { text: 'Hover the heatmap to read each weight; click a cell to see the arithmetic behind it.' }),
      ]),
      custom('vscode-button', { on: { click: () => c.runCommand('inspectSelection') } }, [codicon('inspect'), h('span', { class: 'btn-label', text: 'Inspect Selection' })]),
    ]);
    this.loading = h('p', { class: 'loading muted', text: 'Starting Attention Inspector…' });

    // ---- result: pickers ----
    this.layerSelect = custom<SelectElement>('vscode-single-select', { class: 'layer-select', attrs: { 'aria-label': 'Layer' } });
    this.headSelect = custom<SelectElement>('vscode-single-select', { class: 'head-select', attrs: { 'aria-label': 'Head' } });
    this.layerSelect.addEventListener('change', () => {
      const v = Number(this.layerSelect.value);
      if (Number.isInteger(v) && v !== effectiveLayer(this.state)) c.selectLayer(v);
    });
    this.headSelect.addEventListener('change', () => {
      const v = this.headSelect.value;
      const head: HeadChoice = v === 'mean' ? 'mean' : Number(v);
      if (head !== this.state.view.head && (head === 'mean' || Number.isInteger(head))) c.selectHead(head);
    });
    const zoomBtn = (label: string, icon: string, action: () => void) =>
      custom('vscode-button', { attrs: { secondary: true, 'icon-only': true, 'aria-label': label, title: label }, on: { click: action } }, [codicon(icon)]);
    this.zoomLabel = h('span', { class: 'zoom-label muted', attrs: { 'aria-live': 'off' } });
    const zoom = h('div', { class: 'zoom', attrs: { role: 'group', 'aria-label': 'Zoom' } }, [
      zoomBtn('Zoom out (Ctrl/Cmd + wheel, or −)', 'zoom-out', () => this.heatmap.zoomBy(-1)),
      zoomBtn('Fit to view (0)', 'screen-normal', () => c.setZoom(null)),
      zoomBtn('Zoom in (Ctrl/Cmd + wheel, or +)', 'zoom-in', () => this.heatmap.zoomBy(1)),
      this.zoomLabel,
    ]);
    const picker = (label: string, el: HTMLElement) => h('label', { class: 'picker' }, [h('span', { class: 'picker-label', text: label }), el]);
    const controls = h('div', { class: 'controls' }, [picker('Layer', this.layerSelect), picker('Head', this.headSelect), zoom]);

    // ---- result: heatmap column ----
    this.heading = h('h2', { class: 'heatmap-title' });
    this.layerStatus = h('span', { class: 'layer-status muted' });
    this.heatmap = new HeatmapView({
      hover: (cell) => c.hoverCell(cell),
      leave: () => c.leave(),
      focusCell: (cell) => {
        c.selectCell(cell);
        c.hoverCell(cell);
      },
      activate: (cell) => {
        this.explainFrom = null;
        if (this.compact) c.selectCell(cell);
        else {
          c.explainCell(cell);
          this.revealExplanation();
        }
      },
      reveal: (i) => c.revealToken(i),
      zoom: (z) => c.setZoom(z),
    });
    this.readout = h('div', { class: 'readout', attrs: { 'aria-live': 'polite', 'aria-atomic': 'true' }, text: HINT });
    this.legend = new LegendView();
    const caption = h('p', { class: 'axis-caption' }, [
      h('strong', { text: 'query (row)' }),
      ' attends to → ',
      h('strong', { text: 'key (column)' }),
      h('span', { class: 'muted' }, [this.compact ? '' : ' · each row’s weights sum to 1 · click a token label to find it in the editor']),
    ]);
    const heatmapCol = h('section', { class: 'heatmap-col', attrs: { 'aria-label': 'Attention heatmap' } }, [
      h('div', { class: 'heatmap-head' }, [this.heading, this.layerStatus]),
      caption,
      this.heatmap.element,
      this.readout,
      this.legend.element,
    ]);

    // ---- result: explanation column ----
    this.explain = new ExplainView({ close: () => c.closeExplain(), reveal: (i) => c.revealToken(i) });
    this.maskGuide = h('p', { text: maskGuide(true, null) });
    this.guide = h('div', { class: 'guide' }, [
      h('h3', {}, [codicon('lightbulb'), ' How to read the heatmap']),
      h('p', {}, ['Each ', h('strong', { text: 'row' }), ' is a query token. Its colours show how that token splits its attention — 100% in total — over the ', h('strong', { text: 'key' }), ' tokens in the columns.']),
      this.maskGuide,
      h('p', {}, [h('strong', { text: 'Click any cell' }), ' to see the arithmetic: the dot product of query and key, the scaling by √d_k and the softmax.']),
      h('p', { class: 'muted small', text: 'Keyboard: Tab to the heatmap, arrows move, Enter explains, + / − zoom.' }),
    ]);
    this.aside = h('aside', { class: 'side-col', attrs: { 'aria-label': 'Explanation' } }, [this.guide, this.explain.element]);

    // ---- result: sections ----
    const section = (key: Section | 'next', title: string, icon: string, content: HTMLElement, extra?: HTMLElement) => {
      const d = h('details', { class: `section section-${key}` }, [h('summary', {}, [codicon(icon), ` ${title}`, extra ?? null]), content]);
      if (key !== 'next') {
        d.addEventListener('toggle', () => {
          if (d.open !== this.state.view.open[key]) c.setSectionOpen(key, d.open);
        });
      }
      this.sections[key] = d;
      return d;
    };
    this.thumbs = new ThumbnailGrid((layer, head) => c.select(layer, head));
    this.metrics = new MetricsView((head) => c.selectHead(head));
    this.nextTokens = new NextTokenView();
    this.trace = new TraceView((cell, step) => {
      this.explainFrom = step;
      c.explainCell(cell);
      this.revealExplanation();
    });
    this.nextSection = section('next', 'Next-token prediction', 'sparkle', this.nextTokens.element);
    this.nextSection.open = true;

    const mainGrid = h('div', { class: 'main-grid' }, [heatmapCol, this.compact ? null : this.aside]);
    this.result = h('div', { class: 'result' }, [
      controls,
      mainGrid,
      this.compact ? null : section('heads', 'All heads', 'layers', this.thumbs.element),
      this.compact ? null : h('div', { class: 'two-col' }, [section('metrics', 'Head metrics', 'table', this.metrics.element), this.nextSection]),
      this.compact ? null : section('trace', 'Step trace', 'list-ordered', this.trace.element),
    ]);

    // (The host's #app is already the page's main landmark.)
    const main = h('div', { class: 'content' }, [this.loading, this.emptyState, this.result]);
    replaceChildren(root, [toolbar, this.progress, this.busyText, this.banners, main]);
    root.classList.add('app');
    root.classList.toggle('compact', this.compact);

    watchTheme(() => {
      this.theme = readTheme();
      this.heatmap.redraw();
      this.render(this.state);
    });
    controller.subscribe((s) => this.render(s));
    this.render(this.state);
  }

  private render(s: AppState): void {
    this.state = s;
    const summary = s.summary;

    // Busy: a progress bar (a static line when motion is reduced); the previous result stays.
    setHidden(this.progress, s.busy === null);
    setHidden(this.busyText, s.busy === null);
    this.busyText.textContent = s.busy ?? '';

    this.renderBanners(s);

    setHidden(this.loading, s.phase !== 'loading');
    setHidden(this.emptyState, s.phase !== 'empty');
    setHidden(this.result, s.phase !== 'result' || !summary);
    if (s.phase === 'empty') this.emptyMessage.textContent = s.emptyMessage;

    this.renderStatus(summary);
    if (!summary || s.phase !== 'result') return;

    const layer = effectiveLayer(s) ?? 0;
    const head = s.view.head;
    const { model } = summary;
    this.syncOptions(summary);
    if (this.layerSelect.value !== String(layer)) this.layerSelect.value = String(layer);
    if (this.headSelect.value !== String(head)) this.headSelect.value = String(head);

    const matrix = currentMatrix(s);
    const lut = colorLut(s.settings.colorScale);
    const headName = head === 'mean' ? `mean over ${model.heads} heads` : `head ${head}`;
    this.heading.textContent = model.layers > 1 ? `Layer ${layer} · ${headName}` : headName.charAt(0).toUpperCase() + headName.slice(1);
    const loadingLayer = !matrix && s.pendingLayers.has(layer);
    this.layerStatus.replaceChildren(...(loadingLayer ? [codicon('loading', 'codicon-modifier-spin'), ` Loading layer ${layer}…`] : []));

    this.heatmap.update({
      matrix,
      tokens: summary.tokens,
      lut,
      theme: this.theme,
      zoom: s.view.zoom,
      hover: s.hover,
      selected: s.view.selected,
      ariaLabel: `Attention heatmap, layer ${layer}, ${headName}: ${summary.tokens.length} query rows by ${summary.tokens.length} key columns. Arrow keys move between cells, Enter explains the cell, plus and minus zoom.`,
      compact: this.compact,
    });
    const fit = this.heatmap.fitSize;
    this.zoomLabel.textContent = s.view.zoom === null ? 'fit' : `${Math.round((this.heatmap.cellSize / fit) * 100)}%`;

    const readout = readoutFor(s, s.hover ?? s.view.selected);
    const text = readout ?? HINT;
    if (this.readout.textContent !== text) this.readout.textContent = text;
    this.readout.classList.toggle('muted', readout === null);

    if (matrix) {
      this.legend.update({ theme: this.theme, lut, top: matrix.top, max: matrix.max, scaleLabel: SCALE_LABELS[s.settings.colorScale], mean: head === 'mean', causal: model.causal, window: matrix.window });
      const guide = maskGuide(model.causal, matrix.window);
      if (this.maskGuide.textContent !== guide) this.maskGuide.textContent = guide;
    }

    if (this.compact) return;

    // Sections follow the stored open state.
    for (const key of ['heads', 'metrics', 'trace'] as const) {
      const d = this.sections[key];
      if (d && d.open !== s.view.open[key]) d.open = s.view.open[key];
    }
    // Encoders say why they predict nothing; the random model (no LM head) has no section.
    setHidden(this.nextSection, summary.topNext.length === 0 && summary.perplexity === null && !isEncoder(model));

    if (s.view.open.heads) this.thumbs.update({ summary, lut, theme: this.theme, layer, head });
    if (s.view.open.metrics) this.metrics.update(summary, layer, head);
    this.nextTokens.update(summary);
    if (s.view.open.trace) {
      this.trace.update({
        trace: currentTrace(s),
        tokens: summary.tokens,
        layer,
        head,
        pending: s.pendingTrace !== null,
        selected: s.view.selected,
        heads: model.heads,
      });
    }

    const explaining = s.view.open.explain && s.view.selected !== null;
    const slot = explaining && this.explainFrom && s.view.open.trace ? this.trace.slot(this.explainFrom) : null;
    const host = slot ?? this.aside;
    if (this.explain.element.parentElement !== host) host.append(this.explain.element);
    setHidden(this.guide, explaining && !slot);
    setHidden(this.explain.element, !explaining);
    if (explaining) {
      const ex = explanationFor(s, s.view.selected);
      this.explain.update(ex, summary.tokens, s.pendingTrace !== null);
    } else this.explainFrom = null;
  }

  /**
   * After the user opened an explanation (click or Enter on a cell, or a trace cell): brings it into view
   * unless its top already shows in the upper part of the page. Called once per opening, not on re-renders.
   * Keyboard focus stays where it was (on the heatmap, so the arrows keep moving the explained cell).
   */
  private revealExplanation(): void {
    const el = this.explain.element;
    if (el.hidden || !el.isConnected) return;
    // A new explanation starts at its title, also in the scrolling side column of a wide panel.
    const column = el.parentElement === this.aside ? this.aside : null;
    if (column && column.scrollTop > 0) column.scrollTop = 0;
    const top = this.toolbar.getBoundingClientRect().bottom;
    const bottom = window.innerHeight;
    const r = el.getBoundingClientRect();
    const shown = r.top >= top && (r.bottom <= bottom || r.top <= top + (bottom - top) * 0.4);
    if (!shown) el.scrollIntoView({ block: 'start', behavior: scrollBehavior() });
  }

  /**
   * The status line: the model and the run's facts, wrapping between them (a long model description
   * wraps inside itself); the side view shows only the model's short name. The tooltip holds the full
   * text and the file's URI.
   */
  private renderStatus(summary: InspectionSummary | null): void {
    if (summary === this.statusFor) return;
    this.statusFor = summary;
    if (!summary) {
      replaceChildren(this.toolbarStatus, []);
      this.toolbarStatus.title = '';
      return;
    }
    const { model, source, tokens } = summary;
    const facts = [`${tokens.length} token${tokens.length === 1 ? '' : 's'}`, `${source.fileName}:${source.startLine + 1}`, formatDuration(summary.elapsedMs), summary.backend].filter(Boolean);
    const name = shortModelName(model.label);
    const description = model.label.trim().slice(name.length);
    const children: (HTMLElement | string)[] = [
      h('span', { class: 'status-model' }, [h('span', { class: 'status-name', text: name }), description ? h('span', { class: 'status-description', text: description }) : null]),
    ];
    for (const f of facts) children.push(' · ', h('span', { class: 'status-part', text: f }));
    replaceChildren(this.toolbarStatus, children);
    this.toolbarStatus.title = [[model.label, ...facts].join(' · '), source.uri].join('\n');
  }

  private syncOptions(summary: InspectionSummary): void {
    if (this.optionsFor === summary) return;
    const prev = this.optionsFor;
    this.optionsFor = summary;
    const { layers, heads } = summary.model;
    if (!prev || prev.model.layers !== layers) {
      replaceChildren(
        this.layerSelect,
        Array.from({ length: layers }, (_, l) => custom('vscode-option', { attrs: { value: String(l) }, text: `Layer ${l}` })),
      );
    }
    this.layerSelect.disabled = layers <= 1;
    if (!prev || prev.model.heads !== heads) {
      replaceChildren(this.headSelect, [
        custom('vscode-option', { attrs: { value: 'mean' }, text: `Mean over ${heads} heads` }),
        ...Array.from({ length: heads }, (_, hd) => custom('vscode-option', { attrs: { value: String(hd) }, text: `Head ${hd}` })),
      ]);
    }
  }

  private renderBanners(s: AppState): void {
    const notes = s.phase === 'result' ? (s.summary?.notes ?? []) : [];
    const key = JSON.stringify([notes, s.notice, s.error]);
    if (key === this.bannerKey) return;
    this.bannerKey = key;
    const banner = (kind: 'info' | 'error', text: string, dismiss?: () => void) =>
      h('div', { class: `banner banner-${kind}`, attrs: { role: kind === 'error' ? 'alert' : 'status' } }, [
        codicon(kind === 'error' ? 'error' : 'info'),
        h('span', { class: 'banner-text', text }),
        dismiss
          ? custom('vscode-button', { attrs: { secondary: true, 'icon-only': true, 'aria-label': 'Dismiss', title: 'Dismiss' }, on: { click: dismiss } }, [codicon('close')])
          : null,
      ]);
    replaceChildren(this.banners, [
      ...notes.map((n) => banner('info', n)),
      s.notice ? banner('info', s.notice, () => this.controller.dismissNotice()) : null,
      s.error ? banner('error', s.error, () => this.controller.dismissError()) : null,
    ]);
  }
}
