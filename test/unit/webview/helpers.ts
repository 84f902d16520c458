// Shared by the webview tests: a fake transport and host messages built from the real engine.
import { multiHeadAttention, type StepId } from '../../../src/engine/attention';
import { headMetrics } from '../../../src/engine/metrics';
import { randomMhaWeights, randomModelInput, type RandomModelConfig } from '../../../src/engine/random';
import { THUMBNAIL_SIZE, type HostMessage, type InspectionSummary, type LayerData, type TraceData, type WebviewMessage } from '../../../src/protocol';
import { thumbnail } from '../../../src/engine/downsample';
import type { Disposable, Transport } from '../../../webview/transport';

/** Requests the webview makes, as it posts them. */
export type WebviewRequest = Extract<WebviewMessage, { type: 'request' }>;

/** The host's answer to a layer or trace request, without the envelope: it answers the matching request waiting. */
export type Answer = { readonly type: 'layer'; readonly layer: LayerData } | { readonly type: 'trace'; readonly trace: TraceData };

export class FakeTransport implements Transport {
  readonly posted: WebviewMessage[] = [];
  state: unknown;
  private handler: ((m: HostMessage) => void) | null = null;
  private readonly answered = new Set<number>();
  private hostRequestId = 0;
  setStateCalls = 0;

  constructor(initialState?: unknown) {
    this.state = initialState;
  }

  post(message: WebviewMessage): void {
    this.posted.push(message);
  }

  onMessage(handler: (m: HostMessage) => void): Disposable {
    this.handler = handler;
    return { dispose: () => (this.handler = null) };
  }

  getState(): unknown {
    return this.state;
  }

  setState(state: unknown): void {
    this.setStateCalls++;
    // What VS Code keeps is a JSON copy.
    this.state = JSON.parse(JSON.stringify(state));
  }

  /**
   * The host sends a message. An `Answer` replies to the newest unanswered request for the same layer
   * (and head), like the host does; with no such request waiting it is dropped.
   */
  send(message: HostMessage | Answer): void {
    if (!this.handler) throw new Error('the controller is not listening (start() not called?)');
    if (message.type !== 'layer' && message.type !== 'trace') return this.handler(message);
    const value = message.type === 'layer' ? message.layer : message.trace;
    const asked = this.waiting(message.type).filter((r) => r.params.resultId === value.resultId && r.params.layer === value.layer && (!('head' in r.params) || ('head' in value && r.params.head === value.head)));
    const request = asked.at(-1);
    if (request) this.reply(request, value);
  }

  /** The host answers `request` with its value. */
  reply(request: WebviewRequest, value: LayerData | TraceData): void {
    this.answered.add(request.id);
    this.send({ type: 'reply', id: request.id, method: request.method, value } as HostMessage);
  }

  /** The host answers `request` with an error. */
  fail(request: WebviewRequest, kind: 'cancelled' | 'failed', message: string = kind): void {
    this.answered.add(request.id);
    this.send({ type: 'reply', id: request.id, method: request.method, error: { kind, message } } as HostMessage);
  }

  /** The host asks the webview for something; returns the request's id (its reply is among `posted`). */
  ask(method: 'png'): number {
    const id = ++this.hostRequestId;
    this.send({ type: 'request', id, method, params: {} });
    return id;
  }

  /** Requests the webview posted for `method`, in order. */
  requests(method: WebviewRequest['method']): WebviewRequest[] {
    return this.ofType('request').filter((r) => r.method === method);
  }

  /** Requests for `method` the fake host has not answered yet. */
  waiting(method: WebviewRequest['method']): WebviewRequest[] {
    return this.requests(method).filter((r) => !this.answered.has(r.id));
  }

  ofType<T extends WebviewMessage['type']>(type: T): Extract<WebviewMessage, { type: T }>[] {
    return this.posted.filter((m): m is Extract<WebviewMessage, { type: T }> => m.type === type);
  }

  clear(): void {
    this.posted.length = 0;
  }
}

export interface EngineResult {
  readonly summary: InspectionSummary;
  /** Every layer (the random model has one; `layers` copies it with a different seed per layer). */
  readonly layers: LayerData[];
  trace(layer: number, head: number): TraceData;
  readonly n: number;
  readonly heads: number;
  readonly headDim: number;
}

/**
 * A multi-layer "model" for the controller tests: each layer is a seeded random MHA layer over the same
 * tokens, computed by the real engine (with its step trace).
 */
export function engineResult(opts: { n?: number; layers?: number; dModel?: number; heads?: number; resultId?: number; causal?: boolean } = {}): EngineResult {
  const n = opts.n ?? 6;
  const layerCount = opts.layers ?? 3;
  const dModel = opts.dModel ?? 16;
  const heads = opts.heads ?? 4;
  const resultId = opts.resultId ?? 1;
  const causal = opts.causal ?? true;
  const ids = Array.from({ length: n }, (_, i) => 100 + i * 7);
  const words = ['The', '·cat', '·sat', '·on', '·the', '·mat', '·and', '·slept', '.', '·It'];
  const results = Array.from({ length: layerCount }, (_, l) => {
    const config: RandomModelConfig = { dModel, heads, seed: 42 + l, causal };
    return multiHeadAttention(randomModelInput(ids, config), randomMhaWeights(config), { causal, trace: true });
  });
  const side = Math.min(THUMBNAIL_SIZE, n);
  const thumbs = new Float32Array(layerCount * heads * side * side);
  results.forEach((r, l) => thumbs.set(thumbnail(r.attnWeights.data, heads, n, side), l * heads * side * side));
  const summary: InspectionSummary = {
    resultId,
    source: { uri: 'file:///a.md', fileName: 'a.md', startOffset: 0, endOffset: 10, startLine: 0 },
    tokens: ids.map((id, i) => ({ id, text: words[i % words.length], start: i, end: i + 1 })),
    notes: [],
    model: { kind: 'random', label: 'test', layers: layerCount, heads, dModel, headDim: dModel / heads, causal, tokenizer: 'word' },
    truncation: null,
    metrics: results.map((r) => headMetrics(r.attnWeights)),
    topNext: [],
    perplexity: null,
    thumbnails: { side, data: thumbs },
    elapsedMs: 1,
    backend: 'js',
  };
  const layers = results.map((r, l) => ({ resultId, layer: l, weights: r.attnWeights.data, scores: r.attnScores.data }));
  return {
    summary,
    layers,
    n,
    heads,
    headDim: dModel / heads,
    trace(layer, head) {
      const steps = results[layer].trace ?? [];
      return {
        resultId,
        layer,
        head,
        steps: steps.map((s) => {
          const [first, ...rest] = s.tensor.shape;
          const size = rest.reduce((a, b) => a * b, 1);
          const shape = s.perHead ? rest : [first, ...rest];
          const data = s.perHead ? s.tensor.data.slice(head * size, (head + 1) * size) : s.tensor.data;
          return { id: s.id as StepId, perHead: s.perHead, source: s.source, params: s.params, shape, data };
        }),
      };
    },
  };
}
