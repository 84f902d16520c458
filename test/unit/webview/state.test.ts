import assert from 'node:assert/strict';
import type { WebviewMessage } from '../../../src/protocol';
import { Controller } from '../../../webview/controller';
import { currentMatrix, currentTrace, effectiveLayer, readoutFor } from '../../../webview/selectors';
import { DEFAULT_VIEW, parseViewState } from '../../../webview/viewState';
import { engineResult, FakeTransport } from './helpers';

function started(initialState?: unknown, options: ConstructorParameters<typeof Controller>[1] = {}) {
  const transport = new FakeTransport(initialState);
  const controller = new Controller(transport, options);
  controller.start();
  return { transport, controller };
}

const kinds = (posted: WebviewMessage[]) => posted.map((m) => (m.type === 'request' ? m.method : m.type));
const params = (requests: { params: object }[]) => requests.map((r) => r.params);

describe('webview controller', () => {
  it('says ready on start, and shows nothing until the host answers', () => {
    const { transport, controller } = started();
    assert.deepEqual(transport.posted, [{ type: 'ready' }]);
    assert.equal(controller.state.phase, 'loading');
  });

  it('shows a result with the host’s first layer without asking for anything', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.clear();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    const s = controller.state;
    assert.equal(s.phase, 'result');
    assert.equal(s.summary, r.summary);
    assert.equal(effectiveLayer(s), 0);
    assert.equal(s.view.layer, 0);
    assert.deepEqual(transport.posted, []);
    const m = currentMatrix(s);
    assert.ok(m);
    assert.equal(m.n, r.n);
    // Head 0 of layer 0, row 2 equals the engine's weights.
    assert.deepEqual([...m.weights.subarray(2 * r.n, 3 * r.n)], [...r.layers[0].weights.subarray(2 * r.n, 3 * r.n)]);
  });

  it('requests a layer that is not cached, once, and uses it when it arrives', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    transport.clear();
    controller.selectLayer(2);
    assert.deepEqual(transport.posted, [{ type: 'request', id: 1, method: 'layer', params: { resultId: 1, layer: 2 } }]);
    assert.equal(currentMatrix(controller.state), null, 'layer 2 is still loading');
    controller.selectHead(1);
    controller.selectLayer(2);
    assert.equal(transport.requests('layer').length, 1, 'no second request while one is pending');
    transport.send({ type: 'layer', layer: r.layers[2] });
    assert.ok(controller.state.layers.has(2));
    assert.equal(controller.state.pendingLayers.size, 0);
    const m = currentMatrix(controller.state);
    assert.ok(m);
    assert.deepEqual([...m.weights], [...r.layers[2].weights.subarray(r.n * r.n, 2 * r.n * r.n)], 'layer 2, head 1');
    transport.clear();
    controller.selectLayer(0);
    controller.selectLayer(2);
    assert.deepEqual(transport.requests('layer'), [], 'cached layers are not requested again');
  });

  it('ignores layer and trace answers about an older inspection', () => {
    const old = engineResult({ resultId: 1 });
    const fresh = engineResult({ resultId: 2 }); // same shape: only the resultId tells them apart
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: old.summary, layer: old.layers[0] });
    controller.selectLayer(1);
    transport.send({ type: 'result', summary: fresh.summary, layer: fresh.layers[0] });
    const [oldRequest, freshRequest] = transport.requests('layer');
    assert.deepEqual(params([oldRequest, freshRequest]), [{ resultId: 1, layer: 1 }, { resultId: 2, layer: 1 }]);
    transport.reply(oldRequest, old.layers[1]); // the late answer to the old request
    assert.equal(controller.state.layers.has(1), false);
    assert.ok(controller.state.pendingLayers.has(1), 'the fresh request for the same layer still waits');
    transport.fail(oldRequest, 'failed', 'too late'); // a second answer to the same request is ignored
    assert.equal(controller.state.error, null);
    controller.setSectionOpen('trace', true);
    transport.send({ type: 'trace', trace: old.trace(1, 0) });
    assert.equal(controller.state.traces.size, 0);
    assert.equal(controller.state.summary, fresh.summary);
    transport.send({ type: 'layer', layer: fresh.layers[1] });
    assert.ok(controller.state.layers.has(1));
  });

  it('keeps the chosen layer for a new inspection and asks for it', () => {
    const first = engineResult({ resultId: 1 });
    const second = engineResult({ resultId: 2 });
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: first.summary, layer: first.layers[0] });
    controller.selectLayer(2);
    transport.send({ type: 'layer', layer: first.layers[2] });
    transport.clear();
    transport.send({ type: 'result', summary: second.summary, layer: second.layers[0] });
    assert.equal(effectiveLayer(controller.state), 2);
    assert.deepEqual(params(transport.requests('layer')), [{ resultId: 2, layer: 2 }]);
  });

  it('requests the trace when the trace section opens, and again for another head', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    transport.clear();
    controller.setSectionOpen('trace', true);
    assert.deepEqual(kinds(transport.posted), ['trace']);
    assert.deepEqual(params(transport.requests('trace')), [{ resultId: 1, layer: 0, head: 0 }]);
    controller.setSectionOpen('metrics', false);
    assert.equal(transport.requests('trace').length, 1, 'still pending: not asked twice');
    transport.send({ type: 'trace', trace: r.trace(0, 0) });
    assert.equal(currentTrace(controller.state)?.head, 0);
    assert.equal(controller.state.pendingTrace, null);
    controller.selectHead(3);
    assert.deepEqual(transport.requests('trace').at(-1)?.params, { resultId: 1, layer: 0, head: 3 });
    assert.equal(currentTrace(controller.state), null, 'head 3 has no trace yet');
    controller.selectHead(0);
    assert.equal(currentTrace(controller.state)?.head, 0, 'the head 0 trace is still kept');
  });

  it('does not request a trace for the mean over heads, nor while the trace is closed', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    controller.selectHead(2);
    controller.selectHead('mean');
    controller.setSectionOpen('trace', true);
    assert.deepEqual(transport.requests('trace'), []);
  });

  it('requests the trace when a cell is explained, even with the trace section closed', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    controller.selectHead(1);
    transport.clear();
    controller.explainCell({ query: 3, key: 1 });
    assert.deepEqual(params(transport.requests('trace')), [{ resultId: 1, layer: 0, head: 1 }]);
    assert.equal(controller.state.view.open.explain, true);
    assert.deepEqual(controller.state.view.selected, { query: 3, key: 1 });
    controller.explainCell({ query: 99, key: 0 });
    assert.deepEqual(controller.state.view.selected, { query: 3, key: 1 }, 'cells outside the matrix are refused');
  });

  it('the side view never asks for traces', () => {
    const r = engineResult();
    const { transport, controller } = started(undefined, { compact: true });
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    controller.setSectionOpen('trace', true);
    controller.explainCell({ query: 1, key: 0 });
    assert.deepEqual(transport.requests('trace'), []);
  });

  it('persists the view and a reloaded webview comes back the same', () => {
    const r = engineResult();
    const first = started();
    first.transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    first.controller.select(1, 2);
    first.controller.setZoom(24);
    first.controller.explainCell({ query: 4, key: 2 });
    first.controller.setSectionOpen('trace', true);
    first.controller.setSectionOpen('heads', false);
    const saved = first.transport.state;
    assert.deepEqual(parseViewState(saved), {
      version: 1,
      resultId: 1,
      layer: 1,
      head: 2,
      zoom: 24,
      selected: { query: 4, key: 2 },
      open: { heads: false, metrics: true, trace: true, explain: true },
    });

    // Reload: a new controller over the saved state; the host answers `ready` with the same result.
    const second = started(saved);
    assert.equal(second.controller.state.view.head, 2);
    second.transport.clear();
    second.transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    const s = second.controller.state;
    assert.equal(effectiveLayer(s), 1);
    assert.equal(s.view.zoom, 24);
    assert.deepEqual(s.view.selected, { query: 4, key: 2 });
    assert.equal(s.view.open.explain, true);
    assert.deepEqual(kinds(second.transport.posted), ['layer', 'trace']);
    assert.deepEqual(second.transport.posted[0], { type: 'request', id: 1, method: 'layer', params: { resultId: 1, layer: 1 } });
    assert.deepEqual(second.transport.posted[1], { type: 'request', id: 2, method: 'trace', params: { resultId: 1, layer: 1, head: 2 } });
  });

  it('a different inspection keeps layer, head and sections but drops the selection and zoom', () => {
    const r = engineResult({ resultId: 1 });
    const other = engineResult({ resultId: 9, n: 4 });
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    controller.selectHead(3);
    controller.setZoom(30);
    controller.explainCell({ query: 5, key: 5 });
    transport.send({ type: 'result', summary: other.summary, layer: other.layers[0] });
    const v = controller.state.view;
    assert.equal(v.head, 3);
    assert.equal(v.selected, null);
    assert.equal(v.zoom, null);
    assert.equal(v.open.explain, false);
  });

  it('rejects a stored state it does not understand', () => {
    for (const junk of [null, 42, 'x', { version: 2 }, []]) assert.deepEqual(parseViewState(junk), DEFAULT_VIEW);
    const partial = parseViewState({ version: 1, layer: -1, head: 'x', zoom: -3, selected: { query: 1 }, open: { trace: 'yes', heads: false } });
    assert.equal(partial.layer, null);
    assert.equal(partial.head, 0);
    assert.equal(partial.zoom, null);
    assert.equal(partial.selected, null);
    assert.deepEqual(partial.open, { ...DEFAULT_VIEW.open, heads: false });
  });

  it('hovering sends the query row as a Float32Array once per row; leaving clears', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    transport.clear();
    controller.leave();
    assert.equal(transport.posted.length, 0, 'nothing to clear yet');
    controller.hoverCell({ query: 3, key: 1 });
    controller.hoverCell({ query: 3, key: 2 });
    const hl = transport.ofType('highlight');
    assert.equal(hl.length, 1);
    assert.equal(hl[0].query, 3);
    assert.ok(hl[0].weights instanceof Float32Array);
    assert.deepEqual([...hl[0].weights], [...r.layers[0].weights.subarray(3 * r.n, 4 * r.n)]);
    assert.deepEqual(controller.state.hover, { query: 3, key: 2 });
    controller.hoverCell({ query: 4, key: 0 });
    assert.equal(transport.ofType('highlight').length, 2);
    controller.leave();
    assert.equal(transport.posted.at(-1)?.type, 'clearHighlight');
    assert.equal(controller.state.hover, null);
  });

  it('highlights the mean row in the mean view', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    controller.selectHead('mean');
    controller.hoverCell({ query: 5, key: 0 });
    const w = transport.ofType('highlight')[0].weights;
    for (let j = 0; j < r.n; j++) {
      let sum = 0;
      for (let h = 0; h < r.heads; h++) sum += r.layers[0].weights[(h * r.n + 5) * r.n + j];
      assert.ok(Math.abs(w[j] - sum / r.heads) < 1e-6);
    }
  });

  it('answers the host’s PNG request with the renderer’s data URL, or an error', () => {
    const r = engineResult();
    const { transport, controller } = started();
    const reply = (id: number) => transport.ofType('reply').find((m) => m.id === id);
    const first = transport.ask('png');
    assert.match((reply(first) as { error: { message: string } }).error.message, /no heatmap/);
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    controller.setPngRenderer(() => 'data:image/png;base64,AAAA');
    const second = transport.ask('png');
    assert.deepEqual(reply(second), { type: 'reply', id: second, method: 'png', value: 'data:image/png;base64,AAAA' });
    controller.setPngRenderer(() => {
      throw new Error('canvas too large');
    });
    const third = transport.ask('png');
    assert.deepEqual(reply(third), { type: 'reply', id: third, method: 'png', error: { kind: 'failed', message: 'Could not draw the heatmap: canvas too large' } });
    assert.equal(transport.ofType('reply').length, 3, 'one reply per request');
  });

  it('busy keeps the result; a failed inspection shows a banner; empty without a result is the empty state', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'empty', message: 'Select some text' });
    assert.equal(controller.state.phase, 'empty');
    assert.equal(controller.state.emptyMessage, 'Select some text');
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    transport.send({ type: 'busy', message: 'Running…' });
    assert.equal(controller.state.busy, 'Running…');
    assert.equal(controller.state.phase, 'result');
    transport.send({ type: 'error', message: 'out of memory' });
    assert.equal(controller.state.error, 'out of memory');
    assert.equal(controller.state.busy, null);
    transport.send({ type: 'empty', message: 'No editor' });
    assert.equal(controller.state.phase, 'result', 'a result stays visible');
    assert.equal(controller.state.notice, 'No editor');
  });

  it('a failed layer or trace request shows its error, and may be asked for again', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    controller.selectLayer(1);
    transport.fail(transport.requests('layer')[0], 'failed', 'That inspection is no longer available; run Inspect Selection again.');
    assert.match(controller.state.error ?? '', /no longer available/);
    assert.equal(controller.state.pendingLayers.size, 0);
    transport.clear();
    controller.selectLayer(0);
    controller.selectLayer(1);
    assert.deepEqual(params(transport.requests('layer')), [{ resultId: 1, layer: 1 }], 'the failed layer is asked for again');
    transport.send({ type: 'layer', layer: r.layers[1] });
    controller.setSectionOpen('trace', true);
    transport.fail(transport.requests('trace')[0], 'failed', 'trace failed');
    assert.equal(controller.state.error, 'trace failed');
    assert.equal(controller.state.pendingTrace, null);
    transport.clear();
    controller.selectHead(1);
    controller.selectHead(0);
    assert.deepEqual(params(transport.requests('trace')), [{ resultId: 1, layer: 1, head: 1 }, { resultId: 1, layer: 1, head: 0 }], 'and so is the failed trace');
  });

  it('idle after a cancelled run clears busy and asks again for a layer whose request was cancelled', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    transport.send({ type: 'busy', message: 'Inspecting…' });
    controller.selectLayer(1);
    assert.equal(transport.requests('layer').length, 1);
    controller.selectLayer(1);
    assert.equal(transport.requests('layer').length, 1, 'still pending: not asked twice');
    transport.fail(transport.requests('layer')[0], 'cancelled'); // the new run dropped it
    assert.equal(controller.state.error, null, 'a cancelled request is no error');
    assert.equal(controller.state.pendingLayers.size, 0);
    transport.clear();
    transport.send({ type: 'idle' });
    assert.equal(controller.state.busy, null);
    assert.equal(controller.state.phase, 'result');
    assert.deepEqual(params(transport.requests('layer')), [{ resultId: 1, layer: 1 }], 'the dropped layer request is made again');
    transport.clear();
    transport.send({ type: 'idle' });
    assert.deepEqual(transport.requests('layer'), [], 'a request still waiting for its reply is not made twice');
  });

  it('keeps cached traces within half the byte budget, newest first', () => {
    const r = engineResult({ layers: 2 });
    const one = r.trace(0, 0).steps.reduce((sum, step) => sum + step.data.byteLength, 0);
    const { transport, controller } = started(undefined, { maxCacheBytes: one * 4, maxTraces: 10 });
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    controller.setSectionOpen('trace', true);
    for (const [layer, head] of [[0, 0], [0, 1], [1, 0]] as const) {
      controller.select(layer, head);
      transport.send({ type: 'trace', trace: r.trace(layer, head) });
    }
    const kept = [...controller.state.traces.values()].map((t) => `${t.layer}:${t.head}`);
    assert.deepEqual(kept, ['0:1', '1:0'], 'two traces fit in half of a four-trace budget; the oldest went');
  });

  it('a trace asked for again while the first request is in flight settles with the host’s one answer', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    controller.setSectionOpen('trace', true);
    controller.selectHead(1);
    controller.selectHead(2);
    controller.selectHead(1); // the head 1 request is still in flight: the webview asks again
    const asked = transport.requests('trace').filter((q) => 'head' in q.params && q.params.head === 1);
    assert.equal(asked.length, 2);
    // The host answers the repeat as the same request, then the first with the trace.
    transport.send({ type: 'reply', id: asked[1].id, method: 'trace', sameAs: asked[0].id });
    assert.equal(currentTrace(controller.state), null);
    transport.reply(asked[0], r.trace(0, 1));
    assert.equal(currentTrace(controller.state)?.head, 1);
    assert.equal(controller.state.pendingTrace, null);
    assert.equal(controller.state.error, null);
  });

  it('keeps the layer cache within its budget, never dropping the shown layer', () => {
    const r = engineResult({ layers: 4 });
    const bytes = r.layers[0].weights.byteLength * 2;
    const { transport, controller } = started(undefined, { maxCacheBytes: bytes * 2 });
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    for (const l of [1, 2, 3]) {
      controller.selectLayer(l);
      transport.send({ type: 'layer', layer: r.layers[l] });
    }
    assert.deepEqual([...controller.state.layers.keys()].sort(), [2, 3]);
    assert.ok(currentMatrix(controller.state));
  });

  it('settings pick the colour scale; unknown scales fall back to cividis', () => {
    const { transport, controller } = started();
    transport.send({ type: 'settings', settings: { colorScale: 'magma', compact: false } });
    assert.equal(controller.state.settings.colorScale, 'magma');
    transport.send({ type: 'settings', settings: { colorScale: 'jet' as 'magma', compact: false } });
    assert.equal(controller.state.settings.colorScale, 'cividis');
  });

  it('reads out the hovered cell of the shown matrix', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    const w = r.layers[0].weights[3 * r.n + 1];
    const text = readoutFor(controller.state, { query: 3, key: 1 });
    assert.ok(text?.startsWith('#3 "·on" → #1 "·cat": '), text ?? '');
    assert.ok(text?.includes(w.toPrecision(3)), `${text} should show ${w.toPrecision(3)}`);
    assert.match(readoutFor(controller.state, { query: 1, key: 4 }) ?? '', /masked \(causal\): query 1 cannot see key 4/);
    assert.equal(readoutFor(controller.state, { query: 40, key: 0 }), null);
  });

  it('reveals tokens and runs commands', () => {
    const r = engineResult();
    const { transport, controller } = started();
    transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
    transport.clear();
    controller.revealToken(2);
    controller.revealToken(200);
    controller.runCommand('export');
    assert.deepEqual(transport.posted, [
      { type: 'revealToken', resultId: 1, index: 2 },
      { type: 'command', command: 'export' },
    ]);
  });
});
