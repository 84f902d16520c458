// The webview's only link to the extension host. The controller talks to this interface, so tests can
// drive it with a fake; the real one wraps acquireVsCodeApi().
import type { HostMessage, WebviewMessage } from '../src/protocol';

export interface Disposable {
  dispose(): void;
}

export interface Transport {
  post(message: WebviewMessage): void;
  onMessage(handler: (message: HostMessage) => void): Disposable;
  /** State VS Code keeps for this webview while it is hidden or reloaded. */
  getState(): unknown;
  setState(state: unknown): void;
}

/** What VS Code injects into webviews (only callable once per page). */
interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** The real transport: postMessage to the host, window 'message' events from it. */
export function createVsCodeTransport(): Transport {
  const api = acquireVsCodeApi();
  return {
    post: (message) => api.postMessage(message),
    onMessage(handler) {
      const listener = (event: MessageEvent) => {
        const data: unknown = event.data;
        if (typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string') handler(data as HostMessage);
      };
      window.addEventListener('message', listener);
      return { dispose: () => window.removeEventListener('message', listener) };
    },
    getState: () => api.getState(),
    setState: (state) => api.setState(state),
  };
}
