// Requests that expect an answer, between the extension host and a webview, in both directions: every
// request carries an id and gets exactly one reply (a value or an error), or fails locally when the peer
// does not answer in time, cannot be reached or the channel closes. Built after vscode-hexeditor's
// MessageHandler. Both sides use this one class: the host one per webview, each webview one for the
// host. It lives beside the webview code because the webview may import nothing from src/ but the
// protocol, and it needs neither the DOM nor vscode.
import type { ReplyError, ReplyMessage, RequestMessage, RequestTable } from '../src/protocol';

/** Why a request ended without a value: the peer's reason (`cancelled`, `failed`) or no answer in time (`timeout`). */
export class RequestError extends Error {
  constructor(
    readonly kind: ReplyError['kind'] | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** How this side answers each request the peer may make. */
export type RequestHandlers<In extends RequestTable> = {
  readonly [M in keyof In & string]: (params: In[M]['params']) => In[M]['result'] | PromiseLike<In[M]['result']>;
};

type Method<R extends RequestTable> = keyof R & string;

export interface RequestChannelOptions<Out extends RequestTable, In extends RequestTable> {
  /** Sends one message to the peer; `false` (or a promise of it) means it was not delivered. */
  readonly post: (message: RequestMessage<Out> | ReplyMessage<In>) => void | boolean | PromiseLike<boolean>;
  readonly handlers: RequestHandlers<In>;
  /** Names the peer in errors: "the heatmap view did not answer in time". */
  readonly peer: string;
  /** How long a request waits for its reply unless it says otherwise. */
  readonly timeoutMs: number;
  /**
   * What makes two of the peer's requests the same: a repeat that arrives while the first is still being
   * answered does no work of its own and is answered `sameAs` the first. Undefined: never the same.
   */
  readonly sameRequest?: (method: Method<In>, params: In[Method<In>]['params']) => string | undefined;
  /** The reply for an error a handler threw (default: `failed` with the error's message). */
  readonly replyError?: (error: unknown, method: Method<In>, params: In[Method<In>]['params']) => ReplyError;
}

/** Where a request's outcome goes: exactly one of the two is called, once. */
export interface Answer<T> {
  resolve(value: T): void;
  reject(error: RequestError): void;
}

interface Pending extends Answer<unknown> {
  readonly method: string;
  readonly timer: ReturnType<typeof setTimeout>;
  /** Requests the peer answered `sameAs` this one: they settle with it. */
  readonly followers: Answer<unknown>[];
}

type Outcome = { readonly value: unknown } | { readonly error: RequestError };
type ReplyBody = { readonly value: unknown } | { readonly error: ReplyError } | { readonly sameAs: number };

export class RequestChannel<Out extends RequestTable, In extends RequestTable> {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  /** The peer's requests being answered, by `sameRequest` key → the id the answer goes to. */
  private readonly answering = new Map<string, number>();
  /** Counts the peer's restarts: answers begun for an earlier page are not sent to its successor. */
  private peerEpoch = 0;
  private closed = false;

  constructor(private readonly options: RequestChannelOptions<Out, In>) {}

  /** How many of this side's requests still wait for their reply. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Asks the peer; resolves with its value, or rejects with a RequestError. */
  request<M extends Method<Out>>(method: M, params: Out[M]['params'], timeoutMs?: number): Promise<Out[M]['result']> {
    return new Promise((resolve, reject) => this.ask(method, params, { resolve, reject }, timeoutMs));
  }

  /**
   * Asks the peer; `answer` hears the outcome in the same task as the reply arrives (a promise would
   * hear it a microtask later), so state that depends on it is never seen half updated.
   */
  ask<M extends Method<Out>>(method: M, params: Out[M]['params'], answer: Answer<Out[M]['result']>, timeoutMs = this.options.timeoutMs): void {
    const { peer } = this.options;
    if (this.closed) return answer.reject(new RequestError('cancelled', `${peer} closed`));
    const id = ++this.nextId;
    const timer = setTimeout(() => this.settle(id, { error: new RequestError('timeout', `${peer} did not answer in time`) }), timeoutMs);
    // In Node (the host, the tests) a request still waiting must not keep the process alive on its own.
    (timer as { unref?: () => void }).unref?.();
    this.pending.set(id, { method, resolve: answer.resolve as (value: unknown) => void, reject: answer.reject, timer, followers: [] });
    const notDelivered = () => this.settle(id, { error: new RequestError('failed', `${peer} is not open`) });
    try {
      const delivered = this.options.post({ type: 'request', id, method, params } as RequestMessage<Out>);
      if (delivered === false) notDelivered();
      else if (delivered) void Promise.resolve(delivered).then((ok) => ok || notDelivered(), notDelivered);
    } catch {
      notDelivered();
    }
  }

  /** Takes one message from the peer that belongs to this channel: its request, or its reply to ours. */
  receive(message: RequestMessage<In> | ReplyMessage<Out>): void {
    if (this.closed) return;
    if (message.type === 'request') this.answer(message);
    else this.onReply(message);
  }

  /**
   * The peer started afresh (a reloaded page counts its ids from 1 again): answers still being worked
   * out for its earlier requests are dropped, so none reaches a new request under the same id. This
   * side's own requests keep waiting: the new page may well answer them (VS Code delivers messages
   * posted before a page loads once it does), or they time out.
   */
  peerRestarted(): void {
    this.peerEpoch++;
    this.answering.clear();
  }

  /** Rejects every request still waiting and stops answering: the peer is gone. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.settle(id, { error: new RequestError('cancelled', `${this.options.peer} closed`) });
    this.answering.clear();
  }

  private onReply(reply: ReplyMessage<Out>): void {
    const p = this.pending.get(reply.id);
    if (!p) return; // answered already, timed out, or never asked
    const fail = (why: string) => this.settle(reply.id, { error: new RequestError('failed', `${this.options.peer} ${why}`) });
    if (reply.method !== p.method) return fail(`answered a ${p.method} request as ${reply.method}`);
    if ('sameAs' in reply) {
      const first = reply.sameAs === reply.id ? undefined : this.pending.get(reply.sameAs);
      if (!first || first.method !== p.method) return fail('answered with a request that is not waiting');
      clearTimeout(p.timer);
      this.pending.delete(reply.id);
      first.followers.push(p, ...p.followers);
      return;
    }
    if ('error' in reply) return this.settle(reply.id, { error: new RequestError(reply.error.kind, reply.error.message) });
    this.settle(reply.id, { value: reply.value });
  }

  private settle(id: number, outcome: Outcome): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    for (const answer of [p, ...p.followers]) {
      if ('error' in outcome) answer.reject(outcome.error);
      else answer.resolve(outcome.value);
    }
  }

  /** Answers one of the peer's requests: synchronously when its handler is, else when the handler's promise settles. */
  private answer(request: RequestMessage<In>): void {
    const { id, method, params } = request;
    const epoch = this.peerEpoch;
    const reply = (body: ReplyBody) => {
      if (this.closed || epoch !== this.peerEpoch) return;
      try {
        void this.options.post({ type: 'reply', id, method, ...body } as ReplyMessage<In>);
      } catch {
        // The peer is gone; nobody waits for this answer any more.
      }
    };
    const handlers = this.options.handlers as unknown as Record<string, ((params: unknown) => unknown) | undefined>;
    const handler = Object.prototype.hasOwnProperty.call(handlers, method) ? handlers[method] : undefined;
    if (!handler) return reply({ error: { kind: 'failed', message: `unknown request ${method}` } });
    const key = this.options.sameRequest?.(method, params);
    if (key !== undefined) {
      const first = this.answering.get(key);
      if (first !== undefined) return reply({ sameAs: first });
      this.answering.set(key, id);
    }
    const finish = (body: ReplyBody) => {
      if (key !== undefined && epoch === this.peerEpoch && this.answering.get(key) === id) this.answering.delete(key);
      reply(body);
    };
    const toError = (error: unknown): ReplyError =>
      this.options.replyError?.(error, method, params) ?? { kind: 'failed', message: error instanceof Error ? error.message : String(error) };
    let result: unknown;
    try {
      result = handler(params);
    } catch (error) {
      return finish({ error: toError(error) });
    }
    if (!isThenable(result)) return finish({ value: result });
    result.then(
      (value) => finish({ value }),
      (error: unknown) => finish({ error: toError(error) }),
    );
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
