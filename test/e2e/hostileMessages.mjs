// The hostile messages of test/e2e/robustness.e2e.mjs (not a test file: only *.e2e.mjs are run).
// `hostileBurst` runs inside the webview (Playwright sends its source as a locator.evaluate function), so it
// may use only JavaScript built-ins, nothing from this module's scope.

/**
 * Messages a webview could post, for the inspection `resultId` of `n` tokens:
 * - `refused`: malformed or hostile; validation must refuse each one (and the host log it);
 * - `harmless`: well-formed but pointing outside the result; accepted, and must change nothing.
 * Each `refused` message is refused both by the protocol of the 2026-11 HEAD (requestLayer/requestTrace/png)
 * and by its request/reply successor, so the expectations do not depend on which one is built.
 *
 * Without `post`, returns { refused, harmless }. With `post` (inside the webview, once
 * `window.__robustness.relay` holds VS Code's webview host page), posts all of them, the refused ones first,
 * exactly as `acquireVsCodeApi().postMessage(message)` does — `relay.__vscode_post_message__('onmessage',
 * { message, transfer })` — and returns their counts and when posting started.
 */
export function hostileBurst(_element, { resultId, n, post = false }) {
  const refused = [];
  const harmless = [];
  const MB = 1024 * 1024;
  const big = 'x'.repeat(5 * MB);
  const deep = (depth, leaf) => {
    let o = leaf;
    for (let i = 0; i < depth; i++) o = { a: o };
    return o;
  };
  const deepArray = (depth) => {
    let o = [];
    for (let i = 0; i < depth; i++) o = [o];
    return o;
  };
  const row = () => new Float32Array(n).fill(1 / n);
  const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

  // Not objects, or not plain ones. (Not `undefined`: the workbench itself fails to relay it, with
  // 'SyntaxError: "undefined" is not valid JSON', so it never reaches the extension.)
  refused.push(null, 0, 42, NaN, Infinity, -1, '', 'ready', 'command', true, false);
  refused.push([], [{ type: 'command', command: 'openSettings' }], ['command', 'openSettings'], [['ready']], deepArray(2000));
  refused.push(new Float32Array([1, 2, 3]), new Uint8Array(16), new ArrayBuffer(8), new Date(0), new Map([['type', 'command']]), new Set(['command']));
  refused.push({}, { type: undefined }, { type: null }, { command: 'openSettings' });

  // Unknown or wrongly typed message types.
  for (const type of ['Command', 'COMMAND', 'command ', ' command', 'command\u0000', 'exec', 'eval', 'openSettings', 'inspectSelection', 'export', 'chooseModel',
    'requestPng', 'result', 'layer', 'trace', 'settings', 'error', 'busy', 'constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
    big, 1, -1, NaN, true, ['command'], { toString: 'command' }, deep(2000, 'command'), new Float32Array(2)]) {
    refused.push({ type, command: 'openSettings' });
  }

  // Unknown commands, and commands of the wrong type.
  for (const command of ['', 'openSettings ', ' openSettings', 'OpenSettings', 'OPENSETTINGS', 'openSettings\u0000', 'inspectSelection;openSettings',
    'workbench.action.openSettings', 'workbench.action.openGlobalKeybindings', 'workbench.action.terminal.new', 'workbench.action.files.save', 'workbench.action.closeAllEditors',
    'attentionInspector.export', 'attentionInspector.chooseModel', 'attentionInspector.inspectSelection', 'constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf',
    big, null, undefined, 0, 1, true, {}, [], ['openSettings'], { command: 'openSettings' }, deep(2000, 'openSettings'), new Float32Array(1)]) {
    refused.push({ type: 'command', command });
  }

  // Keys that reach for prototypes: as own keys (JSON.parse makes "__proto__" an own property), never inherited.
  refused.push(
    JSON.parse('{"__proto__": {"type": "command", "command": "openSettings"}}'),
    JSON.parse('{"type": "command", "__proto__": {"command": "openSettings"}}'),
    JSON.parse('{"type": "command", "command": "__proto__", "__proto__": {"command": "openSettings"}}'),
    JSON.parse(`{"type": "revealToken", "resultId": ${resultId}, "__proto__": {"index": 0}}`),
    JSON.parse(`{"type": "revealToken", "__proto__": {"resultId": ${resultId}, "index": 0}}`),
    Object.assign(JSON.parse(`{"type": "highlight", "resultId": ${resultId}, "__proto__": {"query": 0}}`), { weights: row() }),
    JSON.parse(`{"type": "requestLayer", "resultId": ${resultId}, "__proto__": {"layer": 0}}`),
    JSON.parse(`{"type": "request", "id": 1, "method": "layer", "params": {"__proto__": {"resultId": ${resultId}, "layer": 0}}}`),
    JSON.parse(`{"type": "request", "id": 1, "method": "layer", "__proto__": {"params": {"resultId": ${resultId}, "layer": 0}}}`),
    JSON.parse('{"type": "reply", "id": 1, "method": "png", "__proto__": {"value": "data:image/png;base64,AAAA"}}'),
    JSON.parse('{"type": "__proto__", "__proto__": {"polluted": true}}'),
    JSON.parse('{"constructor": {"prototype": {"type": "command", "command": "openSettings"}}}'),
    { constructor: { prototype: { type: 'command', command: 'openSettings' } } },
    { type: 'command', constructor: { prototype: { command: 'openSettings' } } },
    { prototype: { type: 'command', command: 'openSettings' } },
    { type: 'constructor', constructor: 'openSettings' },
  );

  // Every index field of every message with an index, set to a bad value while the rest is valid.
  const badIndices = [NaN, Infinity, -Infinity, -1, -0.5, 0.5, 1.5, 2 ** 53, 1e308, -1e308, Number.MIN_VALUE, '0', '', ' 0', null, undefined, true, false, {}, [], [0], { valueOf: 0 }, new Float32Array(1)];
  const bases = [
    [{ type: 'revealToken', resultId, index: 0 }, ['resultId', 'index']],
    [{ type: 'highlight', resultId, query: 0 }, ['resultId', 'query']],
    [{ type: 'requestLayer', resultId, layer: 0 }, ['resultId', 'layer']],
    [{ type: 'requestTrace', resultId, layer: 0, head: 0 }, ['resultId', 'layer', 'head']],
    [{ type: 'png', requestId: 1, dataUrl: PNG }, ['requestId']],
    [{ type: 'request', id: 1, method: 'layer', params: { resultId, layer: 0 } }, ['id', 'params.resultId', 'params.layer']],
    [{ type: 'request', id: 1, method: 'trace', params: { resultId, layer: 0, head: 0 } }, ['id', 'params.resultId', 'params.layer', 'params.head']],
    [{ type: 'reply', id: 1, method: 'png', value: PNG }, ['id']],
    [{ type: 'reply', id: 1, method: 'png', sameAs: 1 }, ['id', 'sameAs']],
  ];
  for (const [base, fields] of bases) {
    for (const field of fields) {
      for (const bad of badIndices) {
        const m = structuredClone(base);
        if (base.type === 'highlight') m.weights = row();
        const [a, b] = field.split('.');
        if (b) m[a][b] = bad;
        else m[a] = bad;
        refused.push(m);
      }
    }
  }

  // Highlight rows: NaN, infinities, values outside [0, 1], the wrong array type, too long.
  const withNaN = row();
  withNaN[n - 1] = NaN;
  const above = row();
  above[0] = 1.0001;
  const negative = row();
  negative[1] = -1e-7;
  for (const weights of [withNaN, new Float32Array(n).fill(NaN), new Float32Array(n).fill(Infinity), new Float32Array(n).fill(-Infinity), above, negative,
    new Float32Array(n).fill(2), new Float32Array(n).fill(1e30), Array.from(row()), new Float64Array(n).fill(1 / n), new Uint8Array(n), new Int32Array(n),
    new Float32Array(row()).buffer, new DataView(new ArrayBuffer(4 * n)), null, undefined, 'weights', 0.5, {}, { length: n }, new Float32Array((1 << 20) + 1)]) {
    refused.push({ type: 'highlight', resultId, query: 0, weights });
  }

  // PNG answers (both the `png` message and a `reply` to a png request) with huge or non-PNG data URLs.
  const notPng = ['data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', 'javascript:alert(1)', 'file:///etc/passwd', 'https://example.com/x.png',
    'data:image/svg+xml;base64,PHN2Zy8+', 'DATA:IMAGE/PNG;BASE64,AAAA', 'data:image/png,raw', ' data:image/png;base64,AAAA', '', `data:text/plain;base64,${big}`, 42, null, {}, ['data:image/png;base64,AAAA']];
  for (const dataUrl of notPng) refused.push({ type: 'png', requestId: 1, dataUrl });
  for (const value of notPng) refused.push({ type: 'reply', id: 1, method: 'png', value });
  const hugePng = `data:image/png;base64,${'A'.repeat(64 * MB)}`; // above the 64 MB limit by the prefix
  refused.push({ type: 'png', requestId: 1, dataUrl: hugePng }, { type: 'reply', id: 2, method: 'png', value: hugePng });
  refused.push(
    { type: 'png' },
    { type: 'reply', id: 1, method: 'png' },
    { type: 'reply', id: 1, method: 'png', value: PNG, error: { kind: 'failed', message: 'x' } },
    { type: 'reply', id: 1, method: 'png', error: { kind: 'bogus', message: 'x' } },
    { type: 'reply', id: 1, method: 'png', error: { kind: 'failed', message: 5 } },
    { type: 'reply', id: 1, method: 'png', error: 'failed' },
    { type: 'reply', id: 1, method: 'layer', value: PNG },
    { type: 'reply', id: 1, method: big, value: PNG },
  );

  // Requests for methods that do not exist, or with parameters that are not an object.
  for (const method of ['png', 'export', 'command', 'openSettings', 'constructor', '__proto__', 'toString', '', big, null, 1, ['layer'], deep(2000, 'layer')]) {
    refused.push({ type: 'request', id: 1, method, params: { resultId, layer: 0, head: 0 } });
  }
  for (const params of [null, undefined, [], [resultId, 0], 'x', 0, new Float32Array([resultId, 0]), deep(2000, 0)]) {
    refused.push({ type: 'request', id: 1, method: 'layer', params });
  }

  // Big and deep objects around an otherwise unknown type.
  refused.push({ type: 'x', payload: big }, { type: 'x', payload: deep(2000, big.slice(0, 1000)) }, Object.fromEntries(Array.from({ length: 20000 }, (_, i) => [`k${i}`, i])));

  // Well-formed, but pointing outside the current result: accepted by validation, and must change nothing.
  harmless.push(
    { type: 'revealToken', resultId, index: n },
    { type: 'revealToken', resultId, index: 1 << 20 },
    { type: 'revealToken', resultId: resultId + 1000, index: 0 },
    { type: 'revealToken', resultId: 0, index: 0 },
    { type: 'highlight', resultId, query: n, weights: row() },
    { type: 'highlight', resultId, query: 1 << 20, weights: row() },
    { type: 'highlight', resultId, query: 0, weights: new Float32Array(3).fill(0.5) },
    { type: 'highlight', resultId, query: 0, weights: new Float32Array(n + 1).fill(0.5) },
    { type: 'highlight', resultId, query: 0, weights: new Float32Array(0) },
    { type: 'highlight', resultId: resultId + 1000, query: 0, weights: row() },
    { type: 'highlight', resultId: 0, query: 0, weights: row() },
  );

  if (!post) return { refused, harmless };
  const relay = window.__robustness?.relay;
  if (!relay) throw new Error('no handle on the webview host page');
  const postedAt = Date.now();
  for (const message of [...refused, ...harmless]) relay.__vscode_post_message__('onmessage', { message, transfer: undefined });
  return { refused: refused.length, harmless: harmless.length, postedAt, postMs: Date.now() - postedAt };
}
