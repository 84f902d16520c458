/**
 * Every message between the extension host and the webviews (panel and side view). The webview never
 * imports `vscode`; both sides import only these types and the validators below. Tensors travel as
 * Float32Array (structured clone), never as JSON number lists.
 */
import type { StepId, StepParams } from './engine/attention';
import type { Truncation } from './engine/limits';
import type { HeadMetrics } from './engine/metrics';
import type { ModelInfo } from './pipeline/model';

export const PROTOCOL_VERSION = 1;

/** Longest thumbnail side: every head of every layer is sent at most this many cells across. */
export const THUMBNAIL_SIZE = 48;

export type ColorScaleName = 'cividis' | 'viridis' | 'magma' | 'blues' | 'greys';
export const COLOR_SCALES: readonly ColorScaleName[] = ['cividis', 'viridis', 'magma', 'blues', 'greys'];

/** One token as shown: offsets are UTF-16, relative to the inspected text (add `source.startOffset` for the document). */
export interface TokenView {
  readonly id: number;
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Added by the tokenizer (BOS, [CLS], [SEP]), not typed: its range is empty (start === end). */
  readonly special?: boolean;
}

/** The model that ran, as the views name it (the same record exports write). */
export type ModelView = ModelInfo;

export interface SourceView {
  readonly uri: string;
  readonly fileName: string;
  /** Document offset of the inspected text's first character. */
  readonly startOffset: number;
  readonly endOffset: number;
  /** Zero-based line of the first inspected character. */
  readonly startLine: number;
}

export interface NextTokenView {
  readonly id: number;
  readonly text: string;
  readonly prob: number;
}

/** What the webview needs for an inspection before any layer's full matrices arrive. */
export interface InspectionSummary {
  /** Increases with every inspection; stale layer/trace answers carry an older id and are ignored. */
  readonly resultId: number;
  readonly source: SourceView;
  readonly tokens: readonly TokenView[];
  /** User-facing notes, e.g. that the current line was used or that the selection was cut. */
  readonly notes: readonly string[];
  readonly model: ModelView;
  /** Set when the input was cut to a limit (the notes say so in words). */
  readonly truncation: Truncation | null;
  readonly metrics: readonly (readonly HeadMetrics[])[]; // [layer][head]
  readonly topNext: readonly NextTokenView[];
  readonly perplexity: number | null;
  /** Every layer's heads, downsampled (block mean) to side × side: [layers, heads, side, side]. */
  readonly thumbnails: { readonly side: number; readonly data: Float32Array };
  readonly elapsedMs: number;
  /** Which matrix kernel ran (e.g. "wasm-simd"), for the status line. */
  readonly backend: string;
}

/** Full matrices of one layer: [heads, n, n] each; masked scores are -Infinity. */
export interface LayerData {
  readonly resultId: number;
  readonly layer: number;
  readonly weights: Float32Array;
  readonly scores: Float32Array;
}

/** One card of the step trace (worded by src/present/steps.ts). Per-head steps are already sliced to the requested head. */
export interface TraceStepView {
  readonly id: StepId;
  /** The step was computed per head and sliced to `TraceData.head`. */
  readonly perHead: boolean;
  /** The checkpoint tensor the values come from, e.g. "c_attn.weight[:, 0:768]". */
  readonly source?: string;
  readonly params?: StepParams;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface TraceData {
  readonly resultId: number;
  readonly layer: number;
  readonly head: number;
  readonly steps: readonly TraceStepView[];
}

export interface ViewSettings {
  readonly colorScale: ColorScaleName;
  /** The side view shows a compact layout: one heatmap, a head picker, no trace. */
  readonly compact: boolean;
}

/** What requests of one side can ask for: method → the parameters it carries and the value it is answered with. */
export type RequestTable = { readonly [method: string]: { readonly params: object; readonly result: unknown } };

/** Requests a webview makes of the host. */
export type WebviewRequests = {
  /** Full matrices of a layer. */
  readonly layer: { readonly params: { readonly resultId: number; readonly layer: number }; readonly result: LayerData };
  /** The step trace of one head. */
  readonly trace: { readonly params: { readonly resultId: number; readonly layer: number; readonly head: number }; readonly result: TraceData };
};

/** Requests the host makes of a webview. */
export type HostRequests = {
  /** The heatmap on show, drawn for export, as a data: URL of a PNG image. */
  readonly png: { readonly params: Record<string, never>; readonly result: string };
};

/** A request that expects exactly one `reply` with the same `id` (ids count up per sender). */
export type RequestMessage<R extends RequestTable> = {
  [M in keyof R & string]: { readonly type: 'request'; readonly id: number; readonly method: M; readonly params: R[M]['params'] };
}[keyof R & string];

/** Why a request has no value: `cancelled` (a newer inspection replaced it; ask again later) or `failed` (the message is for people). */
export interface ReplyError {
  readonly kind: 'cancelled' | 'failed';
  readonly message: string;
}

/**
 * The answer to request `id`: its value, why there is none, or `sameAs`: the same request is already being
 * answered under that id (repeats are answered once), so it settles with that one.
 */
export type ReplyMessage<R extends RequestTable> = {
  [M in keyof R & string]: { readonly type: 'reply'; readonly id: number; readonly method: M } & (
    | { readonly value: R[M]['result'] }
    | { readonly error: ReplyError }
    | { readonly sameAs: number }
  );
}[keyof R & string];

/** Host → webview. */
export type HostMessage =
  /** Settings that change how things are drawn; sent after `ready` and whenever they change. */
  | { readonly type: 'settings'; readonly settings: ViewSettings }
  /** Work is under way (shown as a progress bar; the previous result stays visible). */
  | { readonly type: 'busy'; readonly message: string }
  /** The work announced by `busy` ended without a new result (cancelled): keep showing what is shown. */
  | { readonly type: 'idle' }
  /** A new inspection, with the first layer to show. */
  | { readonly type: 'result'; readonly summary: InspectionSummary; readonly layer: LayerData }
  /** Nothing to show yet, with the reason (no editor, empty selection, …). */
  | { readonly type: 'empty'; readonly message: string }
  /** The inspection failed; the message is for people. */
  | { readonly type: 'error'; readonly message: string }
  /** The host asks a webview for something (see `HostRequests`); the webview answers with one `reply`. */
  | RequestMessage<HostRequests>
  /** The one answer to a webview's `request`. */
  | ReplyMessage<WebviewRequests>;

/** Webview → host. Everything here is validated by `parseWebviewMessage` before use. */
export type WebviewMessage =
  /** The webview's script has loaded and listens; the host answers with settings and the last result. */
  | { readonly type: 'ready' }
  /** The webview asks the host for something (see `WebviewRequests`); the host answers with one `reply`. */
  | RequestMessage<WebviewRequests>
  /** The one answer to a host's `request`. */
  | ReplyMessage<HostRequests>
  /** Shade the source text by one query's attention row (weights over the keys, length n). */
  | { readonly type: 'highlight'; readonly resultId: number; readonly query: number; readonly weights: Float32Array }
  /** Remove editor highlights. */
  | { readonly type: 'clearHighlight' }
  /** Select a token's source range in the editor. */
  | { readonly type: 'revealToken'; readonly resultId: number; readonly index: number }
  /** Buttons in the webview that run extension commands. */
  | { readonly type: 'command'; readonly command: WebviewCommand };

export type WebviewCommand = 'inspectSelection' | 'chooseModel' | 'export' | 'openSettings';
const WEBVIEW_COMMANDS: readonly WebviewCommand[] = ['inspectSelection', 'chooseModel', 'export', 'openSettings'];

/** Largest PNG data URL accepted from a webview (a 8192² heatmap compresses far below this). */
export const MAX_PNG_DATA_URL = 64 * 1024 * 1024;
/** Largest attention row accepted in a highlight message. */
export const MAX_ROW_LENGTH = 1 << 20;
/** Longest error message accepted in a reply from a webview. */
export const MAX_REPLY_ERROR = 500;
/** Highest layer or head index a webview may ask for. */
const MAX_LAYER_OR_HEAD = 4096;

function isIndex(v: unknown, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/** A plain object's own property (never one inherited through `__proto__`). */
function own(o: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

/** A short, safe rendering of an untrusted value for a refusal reason (never throws, never huge). */
function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : typeof v;
}

function isRecord(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

type Parsed = { ok: true; message: WebviewMessage } | { ok: false; reason: string };

/** A webview's request: a known method with exactly the parameters it needs, copied field by field. */
function parseRequest(m: object): Parsed {
  const refuse = (reason: string) => ({ ok: false as const, reason });
  const id = own(m, 'id');
  const method = own(m, 'method');
  const p = own(m, 'params');
  if (!isIndex(id)) return refuse('request needs an integer id');
  if (!isRecord(p)) return refuse('request params must be an object');
  const resultId = own(p, 'resultId'), layer = own(p, 'layer'), head = own(p, 'head');
  switch (method) {
    case 'layer':
      if (!isIndex(resultId) || !isIndex(layer, MAX_LAYER_OR_HEAD)) return refuse('layer request needs integer resultId and layer');
      return { ok: true, message: { type: 'request', id, method, params: { resultId, layer } } };
    case 'trace':
      if (!isIndex(resultId) || !isIndex(layer, MAX_LAYER_OR_HEAD) || !isIndex(head, MAX_LAYER_OR_HEAD)) return refuse('trace request needs integer resultId, layer and head');
      return { ok: true, message: { type: 'request', id, method, params: { resultId, layer, head } } };
    default:
      return refuse(`unknown request method ${shown(method)}`);
  }
}

/** A webview's answer to a host request: exactly one of value, error or sameAs, the value checked per method. */
function parseReply(m: object): Parsed {
  const refuse = (reason: string) => ({ ok: false as const, reason });
  const id = own(m, 'id');
  const method = own(m, 'method');
  if (!isIndex(id)) return refuse('reply needs an integer id');
  if (method !== 'png') return refuse(`unknown reply method ${shown(method)}`);
  const present = ['value', 'error', 'sameAs'].filter((k) => own(m, k) !== undefined);
  if (present.length !== 1) return refuse('reply needs exactly one of value, error and sameAs');
  const error = own(m, 'error');
  if (error !== undefined) {
    const kind = isRecord(error) ? own(error, 'kind') : undefined;
    const message = isRecord(error) ? own(error, 'message') : undefined;
    if ((kind !== 'cancelled' && kind !== 'failed') || typeof message !== 'string') return refuse('reply error needs a kind and a message');
    return { ok: true, message: { type: 'reply', id, method, error: { kind, message: message.slice(0, MAX_REPLY_ERROR) } } };
  }
  const sameAs = own(m, 'sameAs');
  if (sameAs !== undefined) {
    if (!isIndex(sameAs)) return refuse('reply sameAs must be a request id');
    return { ok: true, message: { type: 'reply', id, method, sameAs } };
  }
  const value = own(m, 'value');
  if (typeof value !== 'string' || !value.startsWith('data:image/png;base64,') || value.length > MAX_PNG_DATA_URL) {
    return refuse('png reply needs a data:image/png;base64 URL');
  }
  return { ok: true, message: { type: 'reply', id, method, value } };
}

/**
 * Checks an untrusted message from a webview. Returns the message, or a reason it was refused; a
 * refused message is never acted on.
 */
export function parseWebviewMessage(raw: unknown): Parsed {
  const refuse = (reason: string) => ({ ok: false as const, reason });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return refuse('not an object');
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'clearHighlight':
      return { ok: true, message: { type: m.type } };
    case 'request':
      return parseRequest(m);
    case 'reply':
      return parseReply(m);
    case 'highlight': {
      if (!isIndex(m.resultId) || !isIndex(m.query, MAX_ROW_LENGTH)) return refuse('highlight needs integer resultId and query');
      const w = m.weights;
      if (!(w instanceof Float32Array) || w.length > MAX_ROW_LENGTH) return refuse('highlight weights must be a Float32Array');
      for (let i = 0; i < w.length; i++) if (!(w[i] >= 0 && w[i] <= 1)) return refuse('highlight weights must lie in [0, 1]');
      return { ok: true, message: { type: 'highlight', resultId: m.resultId, query: m.query, weights: w } };
    }
    case 'revealToken':
      if (!isIndex(m.resultId) || !isIndex(m.index, MAX_ROW_LENGTH)) return refuse('revealToken needs integer resultId and index');
      return { ok: true, message: { type: 'revealToken', resultId: m.resultId, index: m.index } };
    case 'command':
      if (!WEBVIEW_COMMANDS.includes(m.command as WebviewCommand)) return refuse(`unknown command ${shown(m.command)}`);
      return { ok: true, message: { type: 'command', command: m.command as WebviewCommand } };
    default:
      return refuse(`unknown message type ${shown(m.type)}`);
  }
}
