import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_PNG_DATA_URL, parseWebviewMessage } from '../../src/protocol';
import { DEFAULTS, readSettings } from '../../src/settings';

describe('protocol: messages from webviews are untrusted', () => {
  const accept = (raw: unknown) => {
    const r = parseWebviewMessage(raw);
    assert.ok(r.ok, `refused: ${!r.ok && r.reason}`);
    return r.message;
  };
  const refuse = (raw: unknown, reason: RegExp) => {
    const r = parseWebviewMessage(raw);
    assert.equal(r.ok, false, `accepted ${JSON.stringify(raw)}`);
    if (!r.ok) assert.match(r.reason, reason);
  };

  it('accepts every well-formed message and copies only known fields', () => {
    assert.deepEqual(accept({ type: 'ready', extra: 'dropped' }), { type: 'ready' });
    assert.deepEqual(accept({ type: 'requestLayer', resultId: 3, layer: 11 }), { type: 'requestLayer', resultId: 3, layer: 11 });
    assert.deepEqual(accept({ type: 'requestTrace', resultId: 3, layer: 0, head: 2 }), { type: 'requestTrace', resultId: 3, layer: 0, head: 2 });
    const weights = Float32Array.from([0.25, 0.75]);
    assert.equal((accept({ type: 'highlight', resultId: 1, query: 1, weights }) as { weights: Float32Array }).weights, weights);
    assert.deepEqual(accept({ type: 'command', command: 'export' }), { type: 'command', command: 'export' });
    assert.deepEqual(accept({ type: 'png', requestId: 4, dataUrl: 'data:image/png;base64,iVBOR' }), { type: 'png', requestId: 4, dataUrl: 'data:image/png;base64,iVBOR' });
    assert.deepEqual(accept({ type: 'png', requestId: 4, error: 'x'.repeat(900) }), { type: 'png', requestId: 4, error: 'x'.repeat(500) });
  });

  it('refuses hostile or malformed messages with a reason', () => {
    refuse(null, /not an object/);
    refuse([1, 2], /not an object/);
    refuse('ready', /not an object/);
    refuse({ type: 'eval', code: 'process.exit()' }, /unknown message type "eval"/);
    refuse({ type: 'requestLayer', resultId: -1, layer: 0 }, /integer resultId and layer/);
    refuse({ type: 'requestLayer', resultId: 1, layer: 1.5 }, /integer/);
    refuse({ type: 'requestLayer', resultId: 1, layer: 1e9 }, /integer/);
    refuse({ type: 'requestTrace', resultId: 1, layer: 0, head: '0' }, /integer/);
    refuse({ type: 'highlight', resultId: 1, query: 0, weights: [0.5, 0.5] }, /Float32Array/);
    refuse({ type: 'highlight', resultId: 1, query: 0, weights: Float32Array.from([NaN]) }, /\[0, 1\]/);
    refuse({ type: 'highlight', resultId: 1, query: 0, weights: Float32Array.from([2]) }, /\[0, 1\]/);
    refuse({ type: 'command', command: 'workbench.action.terminal.new' }, /unknown command/);
    refuse({ type: 'png', requestId: 1, dataUrl: 'javascript:alert(1)' }, /data:image\/png/);
    refuse({ type: 'png', requestId: 1, dataUrl: 'data:image/png;base64,' + 'A'.repeat(MAX_PNG_DATA_URL) }, /data:image\/png/);
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
      fc.property(fc.record({ type: fc.constantFrom('requestLayer', 'requestTrace', 'highlight', 'revealToken', 'png', 'command'), resultId: fc.anything(), layer: fc.anything(), head: fc.anything(), query: fc.anything(), weights: fc.anything(), index: fc.anything(), requestId: fc.anything(), command: fc.anything() }), (raw) => {
        parseWebviewMessage(raw);
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
    const { settings, problems } = read({ model: 'gpt2Folder', 'random.heads': 8, 'random.dModel': 128, tokenizer: 'char', maxTokens: 4096, colorScale: 'magma' });
    assert.deepEqual(problems, []);
    assert.equal(settings.model, 'gpt2Folder');
    assert.equal(settings.random.heads, 8);
    assert.equal(settings.tokenizer, 'char');
    assert.equal(settings.colorScale, 'magma');
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
