// The webview's state: one immutable AppState, replaced on every change, with listeners that render it.
// The view part of it is persisted with VS Code's setState whenever it changes.
import type { InspectionSummary, LayerData, TraceData, ViewSettings } from '../src/protocol';
import type { Transport } from './transport';
import { parseViewState, type Cell, type ViewState } from './viewState';

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

export const DEFAULT_SETTINGS: ViewSettings = { colorScale: 'cividis', compact: false };

type Listener = (state: AppState, previous: AppState) => void;

export class Store {
  private current: AppState;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly transport: Pick<Transport, 'getState' | 'setState'>,
    compact: boolean,
  ) {
    this.current = {
      phase: 'loading',
      settings: { ...DEFAULT_SETTINGS, compact },
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

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clearListeners(): void {
    this.listeners.clear();
  }

  update(patch: Partial<AppState>): void {
    const previous = this.current;
    this.current = { ...previous, ...patch };
    for (const l of [...this.listeners]) l(this.current, previous);
  }

  /** Changes the view state and saves it for a reload. */
  updateView(patch: Partial<ViewState>): void {
    const view = { ...this.current.view, ...patch };
    this.update({ view });
    this.transport.setState(view);
  }

  /** Changes the state without telling the listeners (for bookkeeping nobody draws, like LRU order). */
  replaceQuietly(patch: Partial<AppState>): void {
    this.current = { ...this.current, ...patch };
  }
}
