/**
 * The fetch handed to @huggingface/hub. The library has no signal, progress, timeout or token-scope options
 * of its own, so they live here: every request and body read is tied to the caller's AbortSignal and a stall
 * timer, the token goes only to the endpoint's origin (redirects are followed here, one hop at a time, so a
 * CDN never sees it), and the bytes of file bodies are reported as they arrive.
 */
import { HubAbortError, HubError } from './errors';

export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
export const MAX_REDIRECTS = 5;

export interface HubFetchContext {
  readonly endpoint: URL;
  readonly token?: string;
  readonly signal?: AbortSignal;
  readonly stallMs: number;
  /** The repo, for messages. */
  readonly repo: string;
  /** Called with each chunk of a file body (a GET outside /api/ without a Range). */
  onBody?: (chunk: Uint8Array) => void;
  /**
   * The first failure seen here (network, stall, redirect). The library sometimes passes errors on as bare
   * strings (WebBlob.stream), so the caller reports this one instead of what reaches it.
   */
  failure?: Error;
  /** The last non-2xx answer: the library's errors keep the status but drop X-Error-Code. */
  lastFailure?: { readonly status: number; readonly errorCode: string | undefined; readonly fromEndpoint: boolean; readonly path: string };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([101, 204, 205, 304]);

export function createHubFetch(ctx: HubFetchContext): typeof fetch {
  const hubFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const start = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init.headers);
    headers.delete('authorization');
    // Xet's chunk protocol would fetch compressed chunks (no byte count to show against the file size); without
    // it the Hub redirects to a CDN that serves the file itself.
    if (headers.get('accept')?.includes('xet')) headers.set('accept', '*/*');
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    // A file body: the library's full GET (its size probe asks for a Range), on /resolve/ or the CDN it redirects to.
    const isFileBody = method === 'GET' && !start.pathname.includes('/api/') && !headers.has('range');

    const request = new AbortController();
    const onAbort = () => request.abort(fail(ctx, new HubAbortError(`the download of ${ctx.repo} was cancelled`)));
    if (ctx.signal?.aborted) throw fail(ctx, new HubAbortError(`the download of ${ctx.repo} was cancelled`));
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const arm = (what: string) => {
      timer = setTimeout(() => {
        const stall = new HubError(
          'timeout',
          `the Hugging Face Hub at ${ctx.endpoint.host} sent nothing for ${formatSeconds(ctx.stallMs)} (${what}); check your connection or proxy and try again, or pick a local model folder instead`,
        );
        request.abort(fail(ctx, stall));
      }, ctx.stallMs);
    };
    const disarm = () => clearTimeout(timer);
    const done = () => {
      disarm();
      ctx.signal?.removeEventListener('abort', onAbort);
    };

    try {
      let url = start;
      const linked = new Map<string, string>();
      for (let hop = 0; ; hop++) {
        const hopHeaders = new Headers(headers);
        if (ctx.token !== undefined && url.origin === ctx.endpoint.origin) hopHeaders.set('authorization', `Bearer ${ctx.token}`);
        arm(`waiting for ${url.pathname}`);
        let res: Response;
        try {
          res = await fetch(url, { method, headers: hopHeaders, body, redirect: 'manual', signal: request.signal });
        } catch (error) {
          throw request.signal.aborted ? request.signal.reason : fail(ctx, networkError(ctx, error));
        } finally {
          disarm();
        }
        // The Hub puts an LFS file's hash and size on its redirect, not on the CDN's answer.
        for (const name of ['x-linked-etag', 'x-linked-size']) {
          const value = res.headers.get(name);
          if (value !== null && !linked.has(name)) linked.set(name, value);
        }
        if (!REDIRECTS.has(res.status)) {
          if (!res.ok) {
            const errorCode = res.headers.get('x-error-code') ?? undefined;
            ctx.lastFailure = { status: res.status, errorCode, fromEndpoint: url.origin === ctx.endpoint.origin, path: url.pathname };
          }
          return wrapBody(ctx, res, url, linked, isFileBody && res.ok, { arm, disarm, done });
        }
        await res.body?.cancel();
        const location = res.headers.get('location');
        if (location === null || hop >= MAX_REDIRECTS) {
          throw fail(ctx, new HubError('http', `the Hub at ${ctx.endpoint.host} redirected ${start.pathname} ${location === null ? 'without a Location' : `more than ${MAX_REDIRECTS} times`}`, { status: res.status }));
        }
        const next = new URL(location, url);
        if (next.protocol !== 'https:' && next.protocol !== 'http:') throw fail(ctx, new HubError('http', `the Hub redirected ${start.pathname} to a non-HTTP address`, { status: res.status }));
        if (url.protocol === 'https:' && next.protocol === 'http:') throw fail(ctx, new HubError('http', `the Hub redirected ${start.pathname} from HTTPS to plain HTTP; refusing`, { status: res.status }));
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          headers.delete('content-type');
        }
        url = next;
      }
    } catch (error) {
      done();
      throw error;
    }
  };
  return hubFetch as typeof fetch;
}

interface Timers {
  arm(what: string): void;
  disarm(): void;
  done(): void;
}

/** The response with its body read through the stall timer (armed only while a read waits) and the byte counter. */
function wrapBody(ctx: HubFetchContext, res: Response, url: URL, linked: Map<string, string>, count: boolean, timers: Timers): Response {
  const headers = new Headers(res.headers);
  for (const [name, value] of linked) if (!headers.has(name)) headers.set(name, value);
  if (res.body === null || NULL_BODY.has(res.status)) {
    timers.done();
    return withUrl(new Response(null, { status: res.status, statusText: res.statusText, headers }), url);
  }
  const reader = res.body.getReader();
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        timers.arm(`reading ${url.pathname}`);
        try {
          const { done, value } = await reader.read();
          timers.disarm();
          if (done) {
            timers.done();
            controller.close();
            return;
          }
          if (count) ctx.onBody?.(value);
          controller.enqueue(value);
        } catch (error) {
          timers.done();
          controller.error(ctx.failure ?? fail(ctx, networkError(ctx, error)));
        }
      },
      cancel(reason) {
        timers.done();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return withUrl(new Response(stream, { status: res.status, statusText: res.statusText, headers }), url);
}

/** A constructed Response has an empty url; the library compares it with the endpoint. */
function withUrl(res: Response, url: URL): Response {
  Object.defineProperty(res, 'url', { value: url.href });
  return res;
}

function fail<T extends Error>(ctx: HubFetchContext, error: T): T {
  ctx.failure ??= error;
  return error;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  ECONNABORTED: 'connection aborted',
  UND_ERR_SOCKET: 'connection closed',
};

/** fetch's "fetch failed" hides the reason in `cause.code`; name it, and what to do. */
export function networkError(ctx: HubFetchContext, error: unknown): HubError {
  if (error instanceof HubError) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  const code = (cause as { code?: unknown } | null)?.code ?? (error as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  const reason = typeof code === 'string' ? (NETWORK_CODES[code] ? `${NETWORK_CODES[code]}, ${code}` : code) : message;
  const tls = typeof code === 'string' && /CERT|SSL|TLS/.test(code) ? ' (a proxy or firewall may be intercepting HTTPS)' : '';
  return new HubError('network', `could not reach the Hugging Face Hub at ${ctx.endpoint.host} (${reason})${tls}; check your connection or proxy, or pick a local model folder instead`, {
    cause: error,
  });
}

export function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
