// The layers and traces the views need, asked of the host once each through the request channel; the
// answers go into the caches, failures into the error banner (a cancelled request is asked again later).
import type { HostRequests, LayerData, TraceData, WebviewRequests } from '../src/protocol';
import { layerShapeOk, traceKey, withLayer, withTrace } from './dataCache';
import type { RequestChannel, RequestError } from './requestChannel';
import { effectiveLayer } from './selectors';
import type { AppState, Store } from './store';

/** The webview's end of the request channel: it asks for layers and traces, and answers the PNG request. */
export type HostChannel = RequestChannel<WebviewRequests, HostRequests>;

export interface CacheBudget {
  /** Layer matrices kept in memory (the layer on show always stays); traces get half of it. */
  readonly maxCacheBytes: number;
  /** Traces kept in memory. */
  readonly maxTraces: number;
}

function without<T>(set: ReadonlySet<T>, item: T): Set<T> {
  const s = new Set(set);
  s.delete(item);
  return s;
}

export class HostData {
  constructor(
    private readonly store: Store,
    private readonly channel: HostChannel,
    private readonly budget: CacheBudget,
    /** False in the side view, which never shows traces. */
    private readonly showsTraces: () => boolean,
  ) {}

  /** Asks for the layer on show and, where a view needs it, the chosen head's trace, unless cached or asked for already. */
  ensure(): void {
    const s = this.store.state;
    if (!s.summary) return;
    const layer = effectiveLayer(s);
    if (layer === null) return;
    const { resultId } = s.summary;
    if (!s.layers.has(layer) && !s.pendingLayers.has(layer)) this.loadLayer(resultId, layer);
    const { view } = this.store.state;
    const head = view.head;
    const wantsTrace = this.showsTraces() && (view.open.trace || (view.open.explain && view.selected !== null));
    if (!wantsTrace || head === 'mean') return;
    const { traces, pendingTrace: p } = this.store.state;
    if (traces.has(traceKey(layer, head))) return;
    if (p && p.layer === layer && p.head === head) return;
    this.loadTrace(resultId, layer, head);
  }

  private loadLayer(resultId: number, layer: number): void {
    this.store.update({ pendingLayers: new Set(this.store.state.pendingLayers).add(layer) });
    this.channel.ask(
      'layer',
      { resultId, layer },
      {
        resolve: (data) => this.onLayer(resultId, layer, data),
        reject: (error) => this.onFailure(resultId, error, (s) => ({ pendingLayers: without(s.pendingLayers, layer) })),
      },
    );
  }

  private loadTrace(resultId: number, layer: number, head: number): void {
    this.store.update({ pendingTrace: { layer, head } });
    const settled = (s: AppState) => (s.pendingTrace && s.pendingTrace.layer === layer && s.pendingTrace.head === head ? null : s.pendingTrace);
    this.channel.ask(
      'trace',
      { resultId, layer, head },
      {
        resolve: (trace) => this.onTrace(resultId, trace, settled),
        reject: (error) => this.onFailure(resultId, error, (s) => ({ pendingTrace: settled(s) })),
      },
    );
  }

  /** Whether answers about `resultId` still matter: a newer inspection makes them stale. */
  private isCurrent(resultId: number): boolean {
    return this.store.state.summary?.resultId === resultId;
  }

  private onLayer(resultId: number, layer: number, data: LayerData): void {
    if (!this.isCurrent(resultId)) return;
    const s = this.store.state;
    const { model, tokens } = s.summary!;
    const pendingLayers = without(s.pendingLayers, layer);
    if (data.resultId !== resultId || data.layer !== layer || !layerShapeOk(data, model.heads, tokens.length)) {
      this.store.update({ pendingLayers, error: `Layer ${layer} arrived with the wrong size; try inspecting again.` });
      return;
    }
    this.store.update({ layers: withLayer(s.layers, data, effectiveLayer(s), this.budget.maxCacheBytes), pendingLayers });
  }

  private onTrace(resultId: number, trace: TraceData, settled: (s: AppState) => AppState['pendingTrace']): void {
    if (!this.isCurrent(resultId) || trace.resultId !== resultId) return;
    const s = this.store.state;
    this.store.update({ traces: withTrace(s.traces, trace, this.budget.maxTraces, this.budget.maxCacheBytes / 2), pendingTrace: settled(s) });
  }

  /** A request ended without a value: it is no longer pending; unless cancelled (asked again after `idle` or `result`), the banner says why. */
  private onFailure(resultId: number, error: RequestError, settle: (s: AppState) => Partial<AppState>): void {
    if (!this.isCurrent(resultId)) return;
    this.store.update({ ...settle(this.store.state), ...(error.kind === 'cancelled' ? {} : { error: error.message }) });
  }
}
