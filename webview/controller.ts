// The webview's controller, with no DOM: host messages and user actions in, state and host messages out.
// The view layer (app.ts) renders `state` and calls the action methods; tests drive it with a fake transport.
import { COLOR_SCALES, type HostMessage, type HostRequests, type InspectionSummary, type LayerData, type WebviewCommand, type WebviewRequests } from '../src/protocol';
import { layerShapeOk, touched } from './dataCache';
import { HostData, type HostChannel } from './hostData';
import { RequestChannel } from './requestChannel';
import { currentMatrix, effectiveLayer } from './selectors';
import { DEFAULT_SETTINGS, Store, type AppState } from './store';
import type { Disposable, Transport } from './transport';
import { isIndex, viewForResult, type Cell, type HeadChoice, type Section } from './viewState';

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

/** How long a layer or trace may take to arrive: longer than any one request the engine runs. */
const ANSWER_TIMEOUT_MS = 5 * 60_000;

export class Controller {
  private readonly store: Store;
  private readonly channel: HostChannel;
  private readonly data: HostData;
  private subscription: Disposable | undefined;
  private pngRenderer: PngRenderer | undefined;
  /** The row last sent as `highlight`, to send each row once and `clearHighlight` only after one. */
  private highlighted: string | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly options: ControllerOptions = {},
  ) {
    this.store = new Store(transport, options.compact ?? false);
    this.channel = new RequestChannel<WebviewRequests, HostRequests>({
      post: (message) => transport.post(message),
      peer: 'The extension host',
      timeoutMs: ANSWER_TIMEOUT_MS,
      handlers: { png: () => this.drawPng() },
    });
    const budget = { maxCacheBytes: options.maxCacheBytes ?? 256 * 1024 * 1024, maxTraces: options.maxTraces ?? 6 };
    this.data = new HostData(this.store, this.channel, budget, () => !this.compact);
  }

  get state(): AppState {
    return this.store.state;
  }

  /** Listens to the host and tells it the webview is ready. */
  start(): void {
    this.subscription ??= this.transport.onMessage((m) => this.handle(m));
    this.transport.post({ type: 'ready' });
  }

  dispose(): void {
    this.subscription?.dispose();
    this.subscription = undefined;
    this.store.clearListeners();
    this.channel.dispose();
  }

  subscribe(listener: (state: AppState, previous: AppState) => void): () => void {
    return this.store.subscribe(listener);
  }

  setPngRenderer(renderer: PngRenderer | undefined): void {
    this.pngRenderer = renderer;
  }

  get compact(): boolean {
    return this.options.compact === true || this.state.settings.compact;
  }

  // ---- host messages ----

  handle(message: HostMessage): void {
    switch (message.type) {
      case 'settings': {
        const s = message.settings;
        const colorScale = COLOR_SCALES.includes(s.colorScale) ? s.colorScale : DEFAULT_SETTINGS.colorScale;
        this.store.update({ settings: { colorScale, compact: s.compact === true } });
        return;
      }
      case 'busy':
        this.store.update({ busy: message.message || 'Working…' });
        return;
      case 'idle':
        // Requests about the shown result that the cancelled run dropped were answered `cancelled`: ask again.
        this.store.update({ busy: null });
        this.data.ensure();
        return;
      case 'result':
        this.onResult(message.summary, message.layer);
        return;
      case 'empty':
        if (this.state.summary) this.store.update({ busy: null, notice: message.message });
        else this.store.update({ busy: null, phase: 'empty', emptyMessage: message.message });
        return;
      case 'error':
        this.store.update({ busy: null, error: message.message });
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
    const layers = new Map<number, LayerData>();
    if (layer.resultId === summary.resultId && layerShapeOk(layer, summary.model.heads, summary.tokens.length)) layers.set(layer.layer, layer);
    this.highlighted = null;
    this.store.update({
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
      view: viewForResult(this.state.view, summary, layer.layer),
    });
    this.data.ensure();
  }

  /** The host's PNG request: the heatmap on show, drawn by the view layer. */
  private drawPng(): string {
    if (!this.state.summary || !currentMatrix(this.state)) throw new Error('There is no heatmap to export yet: inspect some text first.');
    if (!this.pngRenderer) throw new Error('This view cannot draw images.');
    try {
      return this.pngRenderer(this.state);
    } catch (e) {
      throw new Error(`Could not draw the heatmap: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  // ---- user actions ----

  selectLayer(layer: number): void {
    this.select(layer, this.state.view.head);
  }

  selectHead(head: HeadChoice): void {
    const layer = effectiveLayer(this.state);
    if (layer === null) this.store.updateView({ head });
    else this.select(layer, head);
  }

  /** Chooses a layer and head together (the thumbnail grid). */
  select(layer: number, head: HeadChoice): void {
    const { summary } = this.state;
    if (summary) {
      if (!isIndex(layer) || layer >= summary.model.layers) return;
      if (head !== 'mean' && (!isIndex(head) || head >= summary.model.heads)) return;
    }
    // Mark the layer as recently used.
    this.store.replaceQuietly({ layers: touched(this.state.layers, layer) });
    this.store.updateView({ layer, head });
    this.highlighted = null;
    this.data.ensure();
  }

  setZoom(zoom: number | null): void {
    if (zoom !== null && !(Number.isFinite(zoom) && zoom > 0)) return;
    this.store.updateView({ zoom });
  }

  /** Moves the selection (click or keyboard); the explanation, when open, follows it. */
  selectCell(cell: Cell | null): void {
    const c = this.validCell(cell);
    this.store.updateView({ selected: c, open: c ? this.state.view.open : { ...this.state.view.open, explain: false } });
    if (c) this.highlightRow(c.query);
    this.data.ensure();
  }

  /** Opens the arithmetic of one cell (click, Enter, or a trace cell). */
  explainCell(cell: Cell): void {
    const c = this.validCell(cell);
    if (!c) return;
    this.store.updateView({ selected: c, open: { ...this.state.view.open, explain: true } });
    this.data.ensure();
  }

  closeExplain(): void {
    this.setSectionOpen('explain', false);
  }

  setSectionOpen(section: Section, open: boolean): void {
    if (this.state.view.open[section] === open) return;
    this.store.updateView({ open: { ...this.state.view.open, [section]: open } });
    this.data.ensure();
  }

  /** Pointer or keyboard focus on a cell: updates the readout and shades the query's row in the editor. */
  hoverCell(cell: Cell | null): void {
    if (cell === null) {
      this.leave();
      return;
    }
    const c = this.validCell(cell);
    if (!c) return;
    const h = this.state.hover;
    if (!h || h.query !== c.query || h.key !== c.key) this.store.update({ hover: c });
    this.highlightRow(c.query);
  }

  /** The pointer or focus left the heatmap. */
  leave(): void {
    if (this.state.hover) this.store.update({ hover: null });
    if (this.highlighted !== null) {
      this.highlighted = null;
      this.transport.post({ type: 'clearHighlight' });
    }
  }

  revealToken(index: number): void {
    const { summary } = this.state;
    // A special token (BOS, [CLS], [SEP]) has no text to reveal: its range is empty.
    if (!summary || !isIndex(index) || index >= summary.tokens.length || summary.tokens[index].special) return;
    this.transport.post({ type: 'revealToken', resultId: summary.resultId, index });
  }

  runCommand(command: WebviewCommand): void {
    this.transport.post({ type: 'command', command });
  }

  dismissError(): void {
    this.store.update({ error: null });
  }

  dismissNotice(): void {
    this.store.update({ notice: null });
  }

  // ---- internals ----

  private validCell(cell: Cell | null): Cell | null {
    const n = this.state.summary?.tokens.length ?? 0;
    if (!cell || !isIndex(cell.query) || !isIndex(cell.key) || cell.query >= n || cell.key >= n) return null;
    return { query: cell.query, key: cell.key };
  }

  private highlightRow(query: number): void {
    const s = this.state;
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
}
