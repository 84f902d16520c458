import assert from 'node:assert/strict';
import type { HostRequests, ReplyMessage, RequestMessage, WebviewRequests } from '../../../src/protocol';
import { RequestChannel, RequestError, type RequestChannelOptions } from '../../../webview/requestChannel';
import { engineResult } from './helpers';

type HostSide = RequestChannel<HostRequests, WebviewRequests>;
type WebviewSide = RequestChannel<WebviewRequests, HostRequests>;
type ToWebview = RequestMessage<HostRequests> | ReplyMessage<WebviewRequests>;
type ToHost = RequestMessage<WebviewRequests> | ReplyMessage<HostRequests>;

const r = engineResult({ layers: 2 });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A host channel and a webview channel wired back to back, as the extension and a webview are. Messages
 * are delivered in order, on a later task, and logged.
 */
function pair(host: Partial<RequestChannelOptions<HostRequests, WebviewRequests>> = {}, webview: Partial<RequestChannelOptions<WebviewRequests, HostRequests>> = {}) {
  const toWebview: ToWebview[] = [];
  const toHost: ToHost[] = [];
  const calls = { layer: 0, trace: 0, png: 0 };
  // The channels post to each other (only once both exist).
  const h: HostSide = new RequestChannel<HostRequests, WebviewRequests>({
    post: (m) => {
      toWebview.push(m);
      setTimeout(() => w.receive(m), 0);
      return Promise.resolve(true);
    },
    peer: 'the heatmap view',
    timeoutMs: 1000,
    handlers: {
      layer: async ({ resultId, layer }) => {
        calls.layer++;
        await tick();
        if (resultId !== 1) throw new Error('That inspection is no longer available.');
        return r.layers[layer];
      },
      trace: ({ layer, head }) => {
        calls.trace++;
        return r.trace(layer, head);
      },
    },
    sameRequest: (method, p) => `${method}:${p.resultId}:${p.layer}:${'head' in p ? p.head : ''}`,
    ...host,
  });
  const w: WebviewSide = new RequestChannel<WebviewRequests, HostRequests>({
    post: (m) => {
      toHost.push(m);
      setTimeout(() => h.receive(m), 0);
    },
    peer: 'The extension host',
    timeoutMs: 1000,
    handlers: {
      png: () => {
        calls.png++;
        return 'data:image/png;base64,AAAA';
      },
    },
    ...webview,
  });
  return { h, w, toWebview, toHost, calls };
}

const failure = async (promise: Promise<unknown>): Promise<RequestError> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RequestError, String(error));
    return error;
  }
  assert.fail('the request should have failed');
};

describe('request channel: one reply per request, both ways', () => {
  it('answers a webview request with its value, and a host request with the webview’s', async () => {
    const { h, w, toWebview, toHost } = pair();
    const layer = await w.request('layer', { resultId: 1, layer: 1 });
    assert.equal(layer, r.layers[1]);
    const trace = await w.request('trace', { resultId: 1, layer: 0, head: 2 });
    assert.equal(trace.head, 2);
    assert.equal(await h.request('png', {}), 'data:image/png;base64,AAAA');
    assert.deepEqual(
      toHost.map((m) => [m.type, m.id, m.method]),
      [
        ['request', 1, 'layer'],
        ['request', 2, 'trace'],
        ['reply', 1, 'png'],
      ],
    );
    assert.deepEqual(
      toWebview.map((m) => [m.type, m.id, m.method]),
      [
        ['reply', 1, 'layer'],
        ['reply', 2, 'trace'],
        ['request', 1, 'png'],
      ],
    );
    assert.equal(w.waiting + h.waiting, 0, 'nothing left waiting');
  });

  it('turns a handler’s error into an error reply (its kind chosen by the answering side)', async () => {
    const { w } = pair({ replyError: (error, _m, p) => (p.resultId === 7 ? { kind: 'cancelled', message: 'cancelled' } : { kind: 'failed', message: (error as Error).message }) });
    const failed = await failure(w.request('layer', { resultId: 2, layer: 0 }));
    assert.equal(failed.kind, 'failed');
    assert.equal(failed.message, 'That inspection is no longer available.');
    const cancelled = await failure(w.request('layer', { resultId: 7, layer: 0 }));
    assert.equal(cancelled.kind, 'cancelled');
  });

  it('answers a repeat that arrives while the first is in flight once: the work runs once, the data travels once', async () => {
    const { w, toWebview, calls } = pair();
    const [a, b] = await Promise.all([w.request('layer', { resultId: 1, layer: 0 }), w.request('layer', { resultId: 1, layer: 0 })]);
    assert.equal(a, r.layers[0]);
    assert.equal(b, r.layers[0]);
    assert.equal(calls.layer, 1);
    const replies = toWebview.filter((m) => m.type === 'reply');
    assert.equal(replies.length, 2, 'each request got its reply');
    assert.deepEqual(replies.map((m) => ('value' in m ? 'value' : 'sameAs' in m ? `sameAs ${m.sameAs}` : 'error')).sort(), ['sameAs 1', 'value']);
    // Once answered, the same request is worked on again.
    await w.request('layer', { resultId: 1, layer: 0 });
    assert.equal(calls.layer, 2);
  });

  it('times out a request nobody answers, and ignores the answer when it comes late', async () => {
    const slow = new RequestChannel<WebviewRequests, HostRequests>({ post: () => {}, peer: 'The extension host', timeoutMs: 20, handlers: { png: () => '' } });
    const timedOut = await failure(slow.request('layer', { resultId: 1, layer: 0 }));
    assert.equal(timedOut.kind, 'timeout');
    assert.equal(timedOut.message, 'The extension host did not answer in time');
    assert.equal(slow.waiting, 0, 'a timed-out request is forgotten');
    slow.receive({ type: 'reply', id: 1, method: 'layer', value: r.layers[0] }); // late: nobody waits for it
    // A per-request timeout overrides the channel's.
    const started = Date.now();
    assert.equal((await failure(slow.request('layer', { resultId: 1, layer: 0 }, 1))).kind, 'timeout');
    assert.ok(Date.now() - started < 20);
  });

  it('fails a request at once when the peer is not there to take it', async () => {
    for (const post of [() => false, () => Promise.resolve(false), () => Promise.reject(new Error('disposed')), () => { throw new Error('disposed'); }]) {
      const c = new RequestChannel<HostRequests, WebviewRequests>({
        post,
        peer: 'the heatmap view',
        timeoutMs: 60_000,
        handlers: { layer: () => r.layers[0], trace: () => r.trace(0, 0) },
      });
      const error = await failure(c.request('png', {}));
      assert.equal(error.message, 'the heatmap view is not open');
      assert.equal(c.waiting, 0);
    }
  });

  it('closing rejects what is waiting and stops answering', async () => {
    const posted: ToWebview[] = [];
    const c = new RequestChannel<HostRequests, WebviewRequests>({
      post: (m) => void posted.push(m),
      peer: 'the heatmap view',
      timeoutMs: 60_000,
      handlers: { layer: () => r.layers[0], trace: () => r.trace(0, 0) },
    });
    const waiting = c.request('png', {});
    c.dispose();
    const error = await failure(waiting);
    assert.equal(error.kind, 'cancelled');
    assert.equal(error.message, 'the heatmap view closed');
    assert.equal((await failure(c.request('png', {}))).kind, 'cancelled');
    c.receive({ type: 'request', id: 1, method: 'layer', params: { resultId: 1, layer: 0 } });
    assert.deepEqual(posted.map((m) => m.type), ['request'], 'no reply after closing');
  });

  it('a restarted peer gets no answers meant for its predecessor, and can still answer what was asked of it', async () => {
    const posted: ToWebview[] = [];
    let finishLayer: (() => void) | undefined;
    const c = new RequestChannel<HostRequests, WebviewRequests>({
      post: (m) => void posted.push(m),
      peer: 'the heatmap view',
      timeoutMs: 60_000,
      handlers: {
        layer: () => new Promise((resolve) => (finishLayer = () => resolve(r.layers[0]))),
        trace: ({ layer, head }) => r.trace(layer, head),
      },
      sameRequest: (method, p) => `${method}:${p.resultId}:${p.layer}`,
    });
    const png = c.request('png', {}); // asked before the page (re)loaded
    c.receive({ type: 'request', id: 1, method: 'layer', params: { resultId: 1, layer: 0 } }); // the old page's request 1
    c.peerRestarted(); // the page said `ready` again: its ids start from 1
    c.receive({ type: 'request', id: 1, method: 'trace', params: { resultId: 1, layer: 0, head: 0 } }); // the new page's request 1
    c.receive({ type: 'request', id: 2, method: 'layer', params: { resultId: 1, layer: 0 } }); // not a repeat of the old page's request
    finishLayer!();
    await tick();
    const replies = posted.filter((m) => m.type === 'reply');
    assert.deepEqual(
      replies.map((m) => [m.id, m.method, 'value' in m ? 'value' : 'other']),
      [
        [1, 'trace', 'value'],
        [2, 'layer', 'value'],
      ],
      'the old page’s layer answer was dropped',
    );
    // The new page answers the PNG request it received.
    c.receive({ type: 'reply', id: 1, method: 'png', value: 'data:image/png;base64,AAAA' });
    assert.equal(await png, 'data:image/png;base64,AAAA');
    c.dispose();
  });

  it('hears a reply in the same task it arrives in (ask), so state never lags behind a message', () => {
    const c = new RequestChannel<WebviewRequests, HostRequests>({ post: () => {}, peer: 'The extension host', timeoutMs: 60_000, handlers: { png: () => '' } });
    let got: unknown;
    c.ask('layer', { resultId: 1, layer: 0 }, { resolve: (v) => (got = v), reject: assert.fail });
    c.receive({ type: 'reply', id: 1, method: 'layer', value: r.layers[0] });
    assert.equal(got, r.layers[0]);
    c.dispose();
  });

  it('refuses confused answers: another method, sameAs a request that is not waiting, an unknown method', async () => {
    const posted: ToHost[] = [];
    const c = new RequestChannel<WebviewRequests, HostRequests>({ post: (m) => void posted.push(m), peer: 'The extension host', timeoutMs: 60_000, handlers: { png: () => 'data:image/png;base64,' } });
    const wrongMethod = c.request('layer', { resultId: 1, layer: 0 });
    c.receive({ type: 'reply', id: 1, method: 'trace', value: r.trace(0, 0) });
    assert.match((await failure(wrongMethod)).message, /answered a layer request as trace/);
    const orphan = c.request('layer', { resultId: 1, layer: 0 });
    c.receive({ type: 'reply', id: 2, method: 'layer', sameAs: 99 });
    assert.match((await failure(orphan)).message, /not waiting/);
    const self = c.request('layer', { resultId: 1, layer: 0 });
    c.receive({ type: 'reply', id: 3, method: 'layer', sameAs: 3 });
    assert.match((await failure(self)).message, /not waiting/);
    // A request for a method this side does not answer (only the trusted host could send one) is refused, never looked up on Object.prototype.
    for (const method of ['constructor', '__proto__', 'toString', 'layer']) c.receive({ type: 'request', id: 5, method, params: {} } as unknown as RequestMessage<HostRequests>);
    assert.deepEqual(
      posted.filter((m) => m.type === 'reply').map((m) => 'error' in m && m.error.message),
      ['unknown request constructor', 'unknown request __proto__', 'unknown request toString', 'unknown request layer'],
    );
    assert.equal(c.waiting, 0);
    c.dispose();
  });
});
