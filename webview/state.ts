// The webview's brain, with no DOM: host messages and user actions in, state and host requests out.
// The view layer (app.ts) renders `state` and calls the action methods; tests drive it with a fake transport.
import { COLOR_SCALES, type HostMessage, type HostRequests, type InspectionSummary, type LayerData, type TraceData, type ViewSettings, type WebviewCommand, type WebviewRequests } from '../src/protocol';
import { readoutText } from './format';
import { colorTop, headSlice, maxFinite, meanMask, meanOverHeads, type HeatmapMatrix } from './matrix';
import { RequestChannel, type RequestError } from './requestChannel';
import type { Disposable, Transport } from './transport';

export type HeadChoice = number | 'mean';
export type Section = 'heads' | 'metrics' | 'trace' | 'explain';
export const SECTIONS: readonly Section[] = ['heads', 'metrics', 'trace', 'explain'];

export interface Cell {
  readonly query: number;
  readonly key: number;
}

/** What a reloaded panel restores (kept with the webview's setState). */
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

export const DEFAULT_SETTINGS: ViewSettings = { colorScale: 'cividis', compact: false };

export type Phase = 'loading' | 'empty' | 'result';

export interface AppState {
  readonly phase: Phase;
  readonly settings: ViewSettings;
  /** Progress message while the host works (the last result stays visible). */
  readonly busy: string | null;
  /** The host's last error, shown as a banner. */
  readonly error: string | null;
  /** An `empty` message that arrived while a result is showing (shown as a banner instead). */
  readonly notice: string | null;
  readonly emptyMessage: string;
  readonly summary: InspectionSummary | null;
  /** Layers of `summary` that have arrived (least recently used first). */
  readonly layers: ReadonlyMap<number, LayerData>;
  readonly pendingLayers: ReadonlySet<number>;
  /** Traces of `summary`, by `${layer}:${head}` (least recently used first). */
  readonly traces: ReadonlyMap<string, TraceData>;
  readonly pendingTrace: { readonly layer: number; readonly head: number } | null;
  readonly view: ViewState;
  /** Cell under the pointer or keyboard focus (not persisted). */
  readonly hover: Cell | null;
}

export interface ControllerOptions {
  /** The side view: compact layout, never asks for traces. */
  readonly compact?: boolean;
  /** Layer matrices kept in memory (the current layer always stays). Default 256 MiB. */
  readonly maxCacheBytes?: number;
  /** Traces kept in memory. Default 6. */
  readonly maxTraces?: number;
}

/** Renders the current heatmap as a PNG data URL (throws when it cannot). Supplied by the view layer. */
export type PngRenderer = (state: AppState) => string;

type Listener = (state: AppState, previous: AppState) => void;

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Validates a stored view state (it may come from an older version of the extension): anything odd falls back to the default. */
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

const traceKey = (layer: number, head: number) => `${layer}:${head}`;

/** How long a layer or trace may take to arrive: longer than any one request the engine runs. */
const ANSWER_TIMEOUT_MS = 5 * 60_000;

function without<T>(set: ReadonlySet<T>, item: T): Set<T> {
  const s = new Set(set);
  s.delete(item);
  return s;
}

export class Controller {
  private current: AppState;
  private readonly listeners = new Set<Listener>();
  private subscription: Disposable | undefined;
  /** Layers and traces are asked of the host through it; it answers the host's PNG request. */
  private readonly channel: RequestChannel<WebviewRequests, HostRequests>;
  private pngRenderer: PngRenderer | undefined;
  /** The row last sent as `highlight`, to send each row once and `clearHighlight` only after one. */
  private highlighted: string | null = null;
  private readonly maxCacheBytes: number;
  private readonly maxTraces: number;

  constructor(
    private readonly transport: Transport,
    private readonly options: ControllerOptions = {},
  ) {
    this.maxCacheBytes = options.maxCacheBytes ?? 256 * 1024 * 1024;
    this.maxTraces = options.maxTraces ?? 6;
    this.channel = new RequestChannel<WebviewRequests, HostRequests>({
      post: (message) => transport.post(message),
      peer: 'The extension host',
      timeoutMs: ANSWER_TIMEOUT_MS,
      handlers: { png: () => this.drawPng() },
    });
    this.current = {
      phase: 'loading',
      settings: { ...DEFAULT_SETTINGS, compact: options.compact ?? false },
      busy: null,
      error: null,
      notice: null,
      emptyMessage: '',
      summary: null,
      layers: new Map(),
      pendingLayers: new Set(),
      traces: new Map(),
      pendingTrace: null,
      view: parseViewState(transport.getState()),
      hover: null,
    };
  }

  get state(): AppState {
    return this.current;
  }

  /** Listens to the host and tells it the webview is ready. */
  start(): void {
    this.subscription ??= this.transport.onMessage((m) => this.handle(m));
    this.transport.post({ type: 'ready' });
  }

  dispose(): void {
    this.subscription?.dispose();
    this.subscription = undefined;
    this.listeners.clear();
    this.channel.dispose();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setPngRenderer(renderer: PngRenderer | undefined): void {
    this.pngRenderer = renderer;
  }

  get compact(): boolean {
    return this.options.compact === true || this.current.settings.compact;
  }

  // ---- host messages ----

  handle(message: HostMessage): void {
    switch (message.type) {
      case 'settings': {
        const s = message.settings;
        const colorScale = COLOR_SCALES.includes(s.colorScale) ? s.colorScale : DEFAULT_SETTINGS.colorScale;
        this.update({ settings: { colorScale, compact: s.compact === true } });
        return;
      }
      case 'busy':
        this.update({ busy: message.message || 'Working…' });
        return;
      case 'idle':
        // Requests about the shown result that the cancelled run dropped were answered `cancelled`: ask again.
        this.update({ busy: null });
        this.ensureData();
        return;
      case 'result':
        this.onResult(message.summary, message.layer);
        return;
      case 'empty':
        if (this.current.summary) this.update({ busy: null, notice: message.message });
        else this.update({ busy: null, phase: 'empty', emptyMessage: message.message });
        return;
      case 'error':
        this.update({ busy: null, error: message.message });
        return;
      case 'request':
      case 'reply':
        this.channel.receive(message);
        return;
      default:
        return;
    }
  }

  private onResult(summary: InspectionSummary, layer: LayerData): void {
    const n = summary.tokens.length;
    const { layers: layerCount, heads } = summary.model;
    const layers = new Map<number, LayerData>();
    if (layer.resultId === summary.resultId && this.layerShapeOk(layer, heads, n)) layers.set(layer.layer, layer);
    const prev = this.current.view;
    const sameResult = prev.resultId === summary.resultId;
    const sel = prev.selected;
    const selected = sameResult && sel && sel.query < n && sel.key < n ? sel : null;
    const view: ViewState = {
      ...prev,
      resultId: summary.resultId,
      layer: prev.layer !== null && prev.layer < layerCount ? prev.layer : layer.layer,
      head: prev.head === 'mean' || prev.head < heads ? prev.head : 0,
      zoom: sameResult ? prev.zoom : null,
      selected,
      open: { ...prev.open, explain: prev.open.explain && selected !== null },
    };
    this.highlighted = null;
    this.update({
      phase: 'result',
      summary,
      layers,
      pendingLayers: new Set(),
      traces: new Map(),
      pendingTrace: null,
      busy: null,
      error: null,
      notice: null,
      hover: null,
      view,
    });
    this.ensureData();
  }

  private layerShapeOk(layer: LayerData, heads: number, n: number): boolean {
    const size = heads * n * n;
    return layer.weights instanceof Float32Array && layer.scores instanceof Float32Array && layer.weights.length === size && layer.scores.length === size;
  }

  /** Whether answers about `resultId` still matter: a newer inspection makes them stale. */
  private isCurrent(resultId: number): boolean {
    return this.current.summary?.resultId === resultId;
  }

  private onLayer(resultId: number, index: number, layer: LayerData): void {
    const { summary } = this.current;
    if (!summary || !this.isCurrent(resultId)) return; // an answer about an older inspection
    const pendingLayers = without(this.current.pendingLayers, index);
    if (layer.resultId !== resultId || layer.layer !== index || !this.layerShapeOk(layer, summary.model.heads, summary.tokens.length)) {
      this.update({ pendingLayers, error: `Layer ${index} arrived with the wrong size; try inspecting again.` });
      return;
    }
    const layers = new Map(this.current.layers);
    layers.delete(layer.layer);
    layers.set(layer.layer, layer);
    this.evict(layers);
    this.update({ layers, pendingLayers });
  }

  /** A request ended without a value: it is no longer pending; unless cancelled (asked again after `idle` or `result`), the banner says why. */
  private onFailure(resultId: number, error: RequestError, settle: (s: AppState) => Partial<AppState>): void {
    if (!this.isCurrent(resultId)) return;
    this.update({ ...settle(this.current), ...(error.kind === 'cancelled' ? {} : { error: error.message }) });
  }

  /** Drops least recently used layers beyond the memory budget; the shown layer always stays. */
  private evict(layers: Map<number, LayerData>): void {
    const keep = effectiveLayer(this.current);
    let bytes = 0;
    for (const l of layers.values()) bytes += l.weights.byteLength + l.scores.byteLength;
    for (const [index, l] of layers) {
      if (bytes <= this.maxCacheBytes) break;
      if (index === keep) continue;
      layers.delete(index);
      bytes -= l.weights.byteLength + l.scores.byteLength;
    }
  }

  private onTrace(resultId: number, trace: TraceData): void {
    const { pendingTrace } = this.current;
    if (!this.isCurrent(resultId) || trace.resultId !== resultId) return;
    const traces = new Map(this.current.traces);
    const key = traceKey(trace.layer, trace.head);
    traces.delete(key);
    traces.set(key, trace);
    // Bounded by count and by bytes: one GPT-2 XL trace at n=1024 is ~75 MB; the newest always stays.
    const traceBytes = (t: TraceData) => t.steps.reduce((sum, s) => sum + s.data.byteLength, 0);
    let bytes = [...traces.values()].reduce((sum, t) => sum + traceBytes(t), 0);
    while (traces.size > 1 && (traces.size > this.maxTraces || bytes > this.maxCacheBytes / 2)) {
      const oldest = traces.keys().next().value as string;
      bytes -= traceBytes(traces.get(oldest)!);
      traces.delete(oldest);
    }
    const done = pendingTrace && pendingTrace.layer === trace.layer && pendingTrace.head === trace.head;
    this.update({ traces, pendingTrace: done ? null : pendingTrace });
  }

  /** The host's PNG request: the heatmap on show, drawn by the view layer. */
  private drawPng(): string {
    if (!this.current.summary || !currentMatrix(this.current)) throw new Error('There is no heatmap to export yet: inspect some text first.');
    if (!this.pngRenderer) throw new Error('This view cannot draw images.');
    try {
      return this.pngRenderer(this.current);
    } catch (e) {
      throw new Error(`Could not draw the heatmap: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  // ---- user actions ----

  selectLayer(layer: number): void {
    this.select(layer, this.current.view.head);
  }

  selectHead(head: HeadChoice): void {
    const layer = effectiveLayer(this.current);
    if (layer === null) this.updateView({ head });
    else this.select(layer, head);
  }

  /** Chooses a layer and head together (the thumbnail grid). */
  select(layer: number, head: HeadChoice): void {
    const { summary } = this.current;
    if (summary) {
      if (!isIndex(layer) || layer >= summary.model.layers) return;
      if (head !== 'mean' && (!isIndex(head) || head >= summary.model.heads)) return;
    }
    const layers = this.current.layers.get(layer);
    if (layers) {
      // Mark as recently used.
      const m = new Map(this.current.layers);
      m.delete(layer);
      m.set(layer, layers);
      this.current = { ...this.current, layers: m };
    }
    this.updateView({ layer, head });
    this.highlighted = null;
    this.ensureData();
  }

  setZoom(zoom: number | null): void {
    if (zoom !== null && !(Number.isFinite(zoom) && zoom > 0)) return;
    this.updateView({ zoom });
  }

  /** Moves the selection (click or keyboard); the explanation, when open, follows it. */
  selectCell(cell: Cell | null): void {
    const c = this.validCell(cell);
    this.updateView({ selected: c, open: c ? this.current.view.open : { ...this.current.view.open, explain: false } });
    if (c) this.highlightRow(c.query);
    this.ensureData();
  }

  /** Opens the arithmetic of one cell (click, Enter, or a trace cell). */
  explainCell(cell: Cell): void {
    const c = this.validCell(cell);
    if (!c) return;
    this.updateView({ selected: c, open: { ...this.current.view.open, explain: true } });
    this.ensureData();
  }

  closeExplain(): void {
    this.setSectionOpen('explain', false);
  }

  setSectionOpen(section: Section, open: boolean): void {
    if (this.current.view.open[section] === open) return;
    this.updateView({ open: { ...this.current.view.open, [section]: open } });
    this.ensureData();
  }

  /** Pointer or keyboard focus on a cell: updates the readout and shades the query's row in the editor. */
  hoverCell(cell: Cell | null): void {
    if (cell === null) {
      this.leave();
      return;
    }
    const c = this.validCell(cell);
    if (!c) return;
    const h = this.current.hover;
    if (!h || h.query !== c.query || h.key !== c.key) this.update({ hover: c });
    this.highlightRow(c.query);
  }

  /** The pointer or focus left the heatmap. */
  leave(): void {
    if (this.current.hover) this.update({ hover: null });
    if (this.highlighted !== null) {
      this.highlighted = null;
      this.transport.post({ type: 'clearHighlight' });
    }
  }

  revealToken(index: number): void {
    const { summary } = this.current;
    if (!summary || !isIndex(index) || index >= summary.tokens.length) return;
    this.transport.post({ type: 'revealToken', resultId: summary.resultId, index });
  }

  runCommand(command: WebviewCommand): void {
    this.transport.post({ type: 'command', command });
  }

  dismissError(): void {
    this.update({ error: null });
  }

  dismissNotice(): void {
    this.update({ notice: null });
  }

  // ---- internals ----

  private validCell(cell: Cell | null): Cell | null {
    const n = this.current.summary?.tokens.length ?? 0;
    if (!cell || !isIndex(cell.query) || !isIndex(cell.key) || cell.query >= n || cell.key >= n) return null;
    return { query: cell.query, key: cell.key };
  }

  private highlightRow(query: number): void {
    const s = this.current;
    const m = currentMatrix(s);
    if (!s.summary || !m) return;
    const id = `${s.summary.resultId}:${effectiveLayer(s)}:${s.view.head}:${query}`;
    if (id === this.highlighted) return;
    this.highlighted = id;
    const n = m.n;
    const weights = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      const w = m.weights[query * n + j];
      weights[j] = w > 0 ? (w < 1 ? w : 1) : 0;
    }
    this.transport.post({ type: 'highlight', resultId: s.summary.resultId, query, weights });
  }

  /** Asks the host for the shown layer and, where a view needs it, the chosen head's trace. */
  private ensureData(): void {
    const s = this.current;
    if (!s.summary) return;
    const layer = effectiveLayer(s);
    if (layer === null) return;
    const { resultId } = s.summary;
    if (!s.layers.has(layer) && !s.pendingLayers.has(layer)) {
      this.update({ pendingLayers: new Set(s.pendingLayers).add(layer) });
      this.channel.ask(
        'layer',
        { resultId, layer },
        {
          resolve: (data) => this.onLayer(resultId, layer, data),
          reject: (error) => this.onFailure(resultId, error, (st) => ({ pendingLayers: without(st.pendingLayers, layer) })),
        },
      );
    }
    const head = s.view.head;
    const wantsTrace = !this.compact && (s.view.open.trace || (s.view.open.explain && s.view.selected !== null));
    if (!wantsTrace || head === 'mean') return;
    if (this.current.traces.has(traceKey(layer, head))) return;
    const p = this.current.pendingTrace;
    if (p && p.layer === layer && p.head === head) return;
    this.update({ pendingTrace: { layer, head } });
    const settled = (st: AppState) => (st.pendingTrace && st.pendingTrace.layer === layer && st.pendingTrace.head === head ? null : st.pendingTrace);
    this.channel.ask(
      'trace',
      { resultId, layer, head },
      {
        resolve: (trace) => this.onTrace(resultId, trace),
        reject: (error) => this.onFailure(resultId, error, (st) => ({ pendingTrace: settled(st) })),
      },
    );
  }

  private updateView(patch: Partial<ViewState>): void {
    const view = { ...this.current.view, ...patch };
    this.update({ view });
    this.transport.setState(view);
  }

  private update(patch: Partial<AppState>): void {
    const previous = this.current;
    this.current = { ...previous, ...patch };
    for (const l of [...this.listeners]) l(this.current, previous);
  }
}

// ---- selectors: derived data for the views (memoised on the immutable inputs) ----

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
      m = { n, weights, scores: null, mask, max, top: colorTop(weights, mask, max) };
    } else {
      const weights = headSlice(data.weights, head, n);
      const scores = headSlice(data.scores, head, n);
      const mask = new Uint8Array(n * n);
      for (let i = 0; i < mask.length; i++) if (scores[i] === -Infinity) mask[i] = 1;
      const max = maxFinite(weights);
      m = { n, weights, scores, mask, max, top: colorTop(weights, mask, max) };
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
    meanOf: summary.model.heads,
  });
}
