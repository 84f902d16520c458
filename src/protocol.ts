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
  /** Answer to `requestLayer`. */
  | { readonly type: 'layer'; readonly layer: LayerData }
  /** Answer to `requestTrace`. */
  | { readonly type: 'trace'; readonly trace: TraceData }
  /** Nothing to show yet, with the reason (no editor, empty selection, …). */
  | { readonly type: 'empty'; readonly message: string }
  /** The inspection failed; the message is for people. */
  | { readonly type: 'error'; readonly message: string }
  /** Export asks the webview for the visible heatmap as PNG; answered with `png`. */
  | { readonly type: 'requestPng'; readonly requestId: number };

/** Webview → host. Everything here is validated by `parseWebviewMessage` before use. */
export type WebviewMessage =
  /** The webview's script has loaded and listens; the host answers with settings and the last result. */
  | { readonly type: 'ready' }
  /** Full matrices of a layer. */
  | { readonly type: 'requestLayer'; readonly resultId: number; readonly layer: number }
  /** The step trace of one head. */
  | { readonly type: 'requestTrace'; readonly resultId: number; readonly layer: number; readonly head: number }
  /** Shade the source text by one query's attention row (weights over the keys, length n). */
  | { readonly type: 'highlight'; readonly resultId: number; readonly query: number; readonly weights: Float32Array }
  /** Remove editor highlights. */
  | { readonly type: 'clearHighlight' }
  /** Select a token's source range in the editor. */
  | { readonly type: 'revealToken'; readonly resultId: number; readonly index: number }
  /** Answer to `requestPng`: a data: URL of a PNG image, or an error. */
  | { readonly type: 'png'; readonly requestId: number; readonly dataUrl?: string; readonly error?: string }
  /** Buttons in the webview that run extension commands. */
  | { readonly type: 'command'; readonly command: WebviewCommand };

export type WebviewCommand = 'inspectSelection' | 'chooseModel' | 'export' | 'openSettings';
const WEBVIEW_COMMANDS: readonly WebviewCommand[] = ['inspectSelection', 'chooseModel', 'export', 'openSettings'];

/** Largest PNG data URL accepted from a webview (a 8192² heatmap compresses far below this). */
export const MAX_PNG_DATA_URL = 64 * 1024 * 1024;
/** Largest attention row accepted in a highlight message. */
export const MAX_ROW_LENGTH = 1 << 20;

function isIndex(v: unknown, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/**
 * Checks an untrusted message from a webview. Returns the message, or a reason it was refused; a
 * refused message is never acted on.
 */
export function parseWebviewMessage(raw: unknown): { ok: true; message: WebviewMessage } | { ok: false; reason: string } {
  const refuse = (reason: string) => ({ ok: false as const, reason });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return refuse('not an object');
  const m = raw as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'clearHighlight':
      return { ok: true, message: { type: m.type } };
    case 'requestLayer':
      if (!isIndex(m.resultId) || !isIndex(m.layer, 4096)) return refuse('requestLayer needs integer resultId and layer');
      return { ok: true, message: { type: 'requestLayer', resultId: m.resultId, layer: m.layer } };
    case 'requestTrace':
      if (!isIndex(m.resultId) || !isIndex(m.layer, 4096) || !isIndex(m.head, 4096)) return refuse('requestTrace needs integer resultId, layer and head');
      return { ok: true, message: { type: 'requestTrace', resultId: m.resultId, layer: m.layer, head: m.head } };
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
    case 'png': {
      if (!isIndex(m.requestId)) return refuse('png needs an integer requestId');
      if (m.error !== undefined) return { ok: true, message: { type: 'png', requestId: m.requestId, error: String(m.error).slice(0, 500) } };
      if (typeof m.dataUrl !== 'string' || !m.dataUrl.startsWith('data:image/png;base64,') || m.dataUrl.length > MAX_PNG_DATA_URL) {
        return refuse('png needs a data:image/png;base64 URL');
      }
      return { ok: true, message: { type: 'png', requestId: m.requestId, dataUrl: m.dataUrl } };
    }
    case 'command':
      if (!WEBVIEW_COMMANDS.includes(m.command as WebviewCommand)) return refuse(`unknown command ${JSON.stringify(m.command)}`);
      return { ok: true, message: { type: 'command', command: m.command as WebviewCommand } };
    default:
      return refuse(`unknown message type ${JSON.stringify(m.type)}`);
  }
}
