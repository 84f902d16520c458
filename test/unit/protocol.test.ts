import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_PNG_DATA_URL, MAX_REPLY_ERROR, parseWebviewMessage } from '../../src/protocol';
import { DEFAULTS, readSettings } from '../../src/settings';

describe('protocol: messages from webviews are untrusted', () => {
  const accept = (raw: unknown) => {
    const r = parseWebviewMessage(raw);
    assert.ok(r.ok, `refused: ${!r.ok && r.reason}`);
    return r.message;
  };
  const refuse = (raw: unknown, reason: RegExp) => {
    const r = parseWebviewMessage(raw);
    if (r.ok) assert.fail(`accepted ${JSON.stringify(r.message)}`);
    if (!r.ok) assert.match(r.reason, reason);
  };

  it('accepts every well-formed message and copies only known fields', () => {
    assert.deepEqual(accept({ type: 'ready', extra: 'dropped' }), { type: 'ready' });
    assert.deepEqual(accept({ type: 'request', id: 1, method: 'layer', params: { resultId: 3, layer: 11, head: 9, extra: 1 } }), { type: 'request', id: 1, method: 'layer', params: { resultId: 3, layer: 11 } });
    assert.deepEqual(accept({ type: 'request', id: 2, method: 'trace', params: { resultId: 3, layer: 0, head: 2 } }), { type: 'request', id: 2, method: 'trace', params: { resultId: 3, layer: 0, head: 2 } });
    const weights = Float32Array.from([0.25, 0.75]);
    assert.equal((accept({ type: 'highlight', resultId: 1, query: 1, weights }) as { weights: Float32Array }).weights, weights);
    assert.deepEqual(accept({ type: 'command', command: 'export' }), { type: 'command', command: 'export' });
    assert.deepEqual(accept({ type: 'reply', id: 4, method: 'png', value: 'data:image/png;base64,iVBOR' }), { type: 'reply', id: 4, method: 'png', value: 'data:image/png;base64,iVBOR' });
    assert.deepEqual(accept({ type: 'reply', id: 4, method: 'png', error: { kind: 'failed', message: 'x'.repeat(900), stack: 'dropped' } }), {
      type: 'reply',
      id: 4,
      method: 'png',
      error: { kind: 'failed', message: 'x'.repeat(MAX_REPLY_ERROR) },
    });
    assert.deepEqual(accept({ type: 'reply', id: 5, method: 'png', error: { kind: 'cancelled', message: '' } }), { type: 'reply', id: 5, method: 'png', error: { kind: 'cancelled', message: '' } });
    assert.deepEqual(accept({ type: 'reply', id: 6, method: 'png', sameAs: 4 }), { type: 'reply', id: 6, method: 'png', sameAs: 4 });
  });

  it('refuses hostile or malformed messages with a reason', () => {
    refuse(null, /not an object/);
    refuse([1, 2], /not an object/);
    refuse('ready', /not an object/);
    refuse({ type: 'eval', code: 'process.exit()' }, /unknown message type "eval"/);
    refuse({ type: 'x'.repeat(1e6) }, /unknown message type "x{40}…"$/);
    refuse({ type: 10n }, /unknown message type bigint/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    refuse({ type: cyclic }, /unknown message type object/);
    refuse({ type: 'command', command: cyclic }, /unknown command object/);
    // The old fire-and-forget messages are gone: every answer now travels as a reply.
    refuse({ type: 'requestLayer', resultId: 1, layer: 0 }, /unknown message type "requestLayer"/);
    refuse({ type: 'png', requestId: 1, dataUrl: 'data:image/png;base64,AAAA' }, /unknown message type "png"/);
  });

  it('refuses malformed requests: ids, methods, parameters', () => {
    const layer = (params: unknown, extra: object = {}) => ({ type: 'request', id: 1, method: 'layer', params, ...extra });
    refuse(layer({ resultId: -1, layer: 0 }), /layer request needs integer resultId and layer/);
    refuse(layer({ resultId: 1, layer: 1.5 }), /integer/);
    refuse(layer({ resultId: 1, layer: NaN }), /integer/);
    refuse(layer({ resultId: 1, layer: Infinity }), /integer/);
    refuse(layer({ resultId: 1, layer: 1e9 }), /integer/);
    refuse(layer({ resultId: 1, layer: 4097 }), /integer/);
    refuse(layer({ resultId: Number.MAX_SAFE_INTEGER + 2, layer: 0 }), /integer/);
    refuse(layer({ resultId: '1', layer: 0 }), /integer/);
    refuse({ type: 'request', id: 1, method: 'trace', params: { resultId: 1, layer: 0, head: '0' } }, /trace request needs integer resultId, layer and head/);
    refuse({ type: 'request', id: 1, method: 'trace', params: { resultId: 1, layer: 0 } }, /trace request/);
    refuse(layer({ resultId: 1, layer: 0 }, { id: -1 }), /integer id/);
    refuse(layer({ resultId: 1, layer: 0 }, { id: 0.5 }), /integer id/);
    refuse(layer({ resultId: 1, layer: 0 }, { id: '1' }), /integer id/);
    refuse({ type: 'request', method: 'layer', params: { resultId: 1, layer: 0 } }, /integer id/);
    refuse(layer(null), /params must be an object/);
    refuse(layer([1, 0]), /params must be an object/);
    refuse(layer(Float32Array.from([1, 0])), /params must be an object/);
    refuse(layer('resultId=1'), /params must be an object/);
    refuse({ type: 'request', id: 1, method: 'png', params: {} }, /unknown request method "png"/);
    refuse({ type: 'request', id: 1, method: 'constructor', params: {} }, /unknown request method "constructor"/);
    refuse({ type: 'request', id: 1, method: '__proto__', params: {} }, /unknown request method "__proto__"/);
    refuse({ type: 'request', id: 1, method: 'l'.repeat(1e6), params: {} }, /unknown request method "l{40}…"$/);
    // Keys that only an inherited prototype would supply are not read.
    refuse(JSON.parse('{"type": "request", "id": 1, "method": "layer", "params": {"__proto__": {"resultId": 1, "layer": 0}}}'), /integer resultId and layer/);
    refuse({ type: 'request', id: 1, method: 'layer', params: Object.create({ resultId: 1, layer: 0 }) }, /integer resultId and layer/);
    const inheritedId = Object.assign(Object.create({ id: 1 }), { type: 'request', method: 'layer', params: { resultId: 1, layer: 0 } });
    refuse(inheritedId, /integer id/);
    // What is accepted is a fresh object: nothing of the sender's object comes along.
    const sent = JSON.parse('{"type": "request", "id": 1, "method": "layer", "params": {"resultId": 1, "layer": 0, "__proto__": {"polluted": true}}}');
    const parsed = accept(sent) as { params: object };
    assert.notEqual(parsed.params, sent.params);
    assert.equal(Object.getPrototypeOf(parsed.params), Object.prototype);
    assert.equal((parsed.params as { polluted?: boolean }).polluted, undefined);
  });

  it('refuses malformed replies: exactly one of value, error and sameAs, a PNG data URL as the value', () => {
    const reply = (extra: object) => ({ type: 'reply', id: 1, method: 'png', ...extra });
    refuse(reply({ value: 'javascript:alert(1)' }), /data:image\/png/);
    refuse(reply({ value: 'data:image/png;base64,' + 'A'.repeat(MAX_PNG_DATA_URL) }), /data:image\/png/);
    refuse(reply({ value: 42 }), /data:image\/png/);
    refuse(reply({}), /exactly one of value, error and sameAs/);
    refuse(reply({ value: 'data:image/png;base64,AAAA', error: { kind: 'failed', message: 'x' } }), /exactly one/);
    refuse(reply({ error: 'it broke' }), /kind and a message/);
    refuse(reply({ error: { kind: 'internal', message: 'x' } }), /kind and a message/);
    refuse(reply({ error: { kind: 'failed', message: 7 } }), /kind and a message/);
    refuse(reply({ error: JSON.parse('{"__proto__": {"kind": "failed", "message": "x"}}') }), /kind and a message/);
    refuse(reply({ sameAs: -3 }), /sameAs must be a request id/);
    refuse(reply({ sameAs: NaN }), /sameAs must be a request id/);
    refuse({ type: 'reply', id: 1, method: 'layer', value: {} }, /unknown reply method "layer"/);
    refuse({ type: 'reply', id: 'one', method: 'png', value: 'data:image/png;base64,AAAA' }, /integer id/);
    refuse({ type: 'highlight', resultId: 1, query: 0, weights: [0.5, 0.5] }, /Float32Array/);
    refuse({ type: 'highlight', resultId: 1, query: 0, weights: Float32Array.from([NaN]) }, /\[0, 1\]/);
    refuse({ type: 'highlight', resultId: 1, query: 0, weights: Float32Array.from([2]) }, /\[0, 1\]/);
    refuse({ type: 'command', command: 'workbench.action.terminal.new' }, /unknown command/);
  });

  it('never throws, whatever arrives', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        const r = parseWebviewMessage(raw);
        assert.equal(typeof r.ok, 'boolean');
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.record({ type: fc.constantFrom('highlight', 'revealToken', 'command'), resultId: fc.anything(), query: fc.anything(), weights: fc.anything(), index: fc.anything(), command: fc.anything() }), (raw) => {
        parseWebviewMessage(raw);
      }),
    );
    const params = fc.oneof(fc.anything(), fc.record({ resultId: fc.anything(), layer: fc.anything(), head: fc.anything() }, { requiredKeys: [] }));
    fc.assert(
      fc.property(fc.record({ type: fc.constant('request'), id: fc.anything(), method: fc.oneof(fc.constantFrom('layer', 'trace'), fc.anything()), params }, { requiredKeys: ['type'] }), (raw) => {
        const r = parseWebviewMessage(raw);
        if (r.ok) assert.deepEqual(Object.keys(r.message), ['type', 'id', 'method', 'params']);
      }),
    );
    const error = fc.oneof(fc.anything(), fc.record({ kind: fc.oneof(fc.constantFrom('cancelled', 'failed'), fc.anything()), message: fc.anything() }, { requiredKeys: [] }));
    fc.assert(
      fc.property(fc.record({ type: fc.constant('reply'), id: fc.anything(), method: fc.oneof(fc.constant('png'), fc.anything()), value: fc.anything(), error, sameAs: fc.anything() }, { requiredKeys: ['type'] }), (raw) => {
        const r = parseWebviewMessage(raw);
        if (r.ok && r.message.type === 'reply' && 'error' in r.message) assert.ok(r.message.error.message.length <= MAX_REPLY_ERROR);
      }),
    );
  });
});

describe('settings', () => {
  const read = (values: Record<string, unknown>) => readSettings((key) => values[key]);

  it('unset settings take the documented defaults', () => {
    const { settings, problems } = read({});
    assert.deepEqual(settings, DEFAULTS);
    assert.deepEqual(problems, []);
  });

  it('valid values are used as they are', () => {
    const { settings, problems } = read({ model: 'folder', modelFolder: '/m', 'random.heads': 8, 'random.dModel': 128, tokenizer: 'char', maxTokens: 4096, colorScale: 'magma' });
    assert.deepEqual(problems, []);
    assert.equal(settings.model, 'folder');
    assert.equal(settings.modelFolder, '/m');
    assert.equal(settings.random.heads, 8);
    assert.equal(settings.tokenizer, 'char');
    assert.equal(settings.colorScale, 'magma');
  });

  it('the settings of versions before model families still work: "gpt2Folder" means a folder, read from gpt2Folder unless modelFolder is set', () => {
    assert.deepEqual(read({ model: 'gpt2Folder', gpt2Folder: '/old' }), { settings: { ...DEFAULTS, model: 'folder', modelFolder: '/old' }, problems: [] });
    assert.equal(read({ model: 'gpt2Folder', gpt2Folder: '/old', modelFolder: '/new' }).settings.modelFolder, '/new');
  });

  it('invalid values fall back to defaults and name the setting', () => {
    const { settings, problems } = read({ maxTokens: -3, tokenizer: 'sentencepiece', colorScale: 42, 'random.seed': 1.5, liveUpdateDelay: '400', model: 'bert' });
    assert.equal(settings.maxTokens, 512);
    assert.equal(settings.tokenizer, 'word');
    assert.equal(settings.colorScale, 'cividis');
    assert.equal(settings.random.seed, 42);
    assert.equal(settings.liveUpdateDelay, 400);
    assert.equal(settings.model, 'random');
    assert.equal(problems.length, 6);
    assert.ok(problems.some((p) => /attentionInspector\.maxTokens is -3/.test(p)));
    assert.ok(problems.some((p) => /attentionInspector\.tokenizer is "sentencepiece"/.test(p)));
  });

  it('d_model not divisible by heads picks a head count that divides it, and says so', () => {
    const { settings, problems } = read({ 'random.dModel': 30, 'random.heads': 4 });
    assert.equal(settings.random.dModel % settings.random.heads, 0);
    assert.equal(settings.random.heads, 2);
    assert.match(problems[0], /must be divisible by attentionInspector\.random\.heads \(4\); using 2 heads/);
  });
});
