import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TokenView } from '../../../src/protocol';
import { exactNumber, formatNumber, labelIndices, labelStep, readoutText, tokenLabel } from '../../../webview/format';

const tokens: TokenView[] = ['The', '·cat', '·sat', '·on', '·the', '·mat'].map((text, i) => ({ id: i, text, start: i, end: i + 1 }));

describe('webview text formatting', () => {
  it('formats numbers with 4 significant digits, a true minus and −∞', () => {
    assert.equal(formatNumber(0.41234567), '0.4123');
    assert.equal(formatNumber(-1.5), '\u22121.500');
    assert.equal(formatNumber(1234.5678), '1235');
    assert.equal(formatNumber(123456), '123500');
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(-Infinity), '\u2212∞');
    assert.equal(formatNumber(Infinity), '∞');
    assert.equal(formatNumber(NaN), 'NaN');
    assert.equal(formatNumber(0.00001234), '1.234e\u22125');
    assert.equal(formatNumber(0.412, 3), '0.412');
  });

  it('keeps the exact value for tooltips', () => {
    const f = Math.fround(0.1);
    assert.equal(exactNumber(f), String(f));
    assert.notEqual(exactNumber(f), formatNumber(f));
    assert.match(exactNumber(-Infinity), /^\u2212∞/);
  });

  it('labels tokens with visible whitespace, ∅ for empty, and cuts long ones', () => {
    assert.equal(tokenLabel(' sat'), '·sat');
    assert.equal(tokenLabel('\n'), '↵');
    assert.equal(tokenLabel('·sat'), '·sat'); // already formatted: unchanged
    assert.equal(tokenLabel(''), '∅');
    assert.equal(tokenLabel('abcdefghijklmnopqrstuvwxyz', 8), 'abcdefg…');
    assert.equal(Array.from(tokenLabel('😀😀😀😀', 3)).length, 3); // cut by code point, not UTF-16 unit
  });

  it('reads out a normal cell: "query" → "key": weight (score …)', () => {
    const text = readoutText({ tokens, query: 2, key: 0, weight: 0.41234, score: 1.0312, masked: false, causal: true });
    assert.equal(text, '#2 "·sat" → #0 "The": 0.412 (score 1.03)');
  });

  it('reads out a masked cell as masked, not as weight 0', () => {
    const text = readoutText({ tokens, query: 2, key: 5, weight: 0, score: -Infinity, masked: true, causal: true });
    assert.match(text, /masked \(causal\): query 2 cannot see key 5/);
    assert.ok(text.startsWith('#2 "·sat" → #5 "·mat"'));
    assert.doesNotMatch(text, /score/);
  });

  it('reads out the mean over heads without a score', () => {
    const text = readoutText({ tokens, query: 3, key: 1, weight: 0.25, score: null, masked: false, causal: true, meanOf: 12 });
    assert.equal(text, '#3 "·on" → #1 "·cat": 0.250 (mean over 12 heads)');
  });

  it('thins labels for long inputs: every token when cells are big, every k-th (1-2-5 steps) when small', () => {
    assert.equal(labelStep(20, 15), 1);
    assert.equal(labelStep(15, 15), 1);
    assert.equal(labelStep(10, 15), 2);
    assert.equal(labelStep(4, 15), 5);
    assert.equal(labelStep(1, 15), 20);
    assert.equal(labelStep(0.7, 15), 50); // n = 1024 fitted into ~700 px
    assert.equal(labelStep(0, 15), Number.MAX_SAFE_INTEGER);
  });

  it('label steps always leave room and are the smallest that do', () => {
    const nice = (s: number) => {
      const d = 10 ** Math.floor(Math.log10(s));
      return [1, 2, 5].includes(s / d);
    };
    const prev = (s: number) => {
      const d = 10 ** Math.floor(Math.log10(s));
      const m = s / d;
      return m === 1 ? d / 2 : m === 2 ? d : 2 * d;
    };
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 200, noNaN: true }), fc.double({ min: 1, max: 60, noNaN: true }), (px, min) => {
        const step = labelStep(px, min);
        assert.ok(nice(step), `step ${step}`);
        assert.ok(step * px >= min, `step ${step} × ${px}px < ${min}`);
        if (step > 1) assert.ok(prev(step) * px < min, `a smaller step than ${step} fits`);
      }),
    );
  });

  it('lists labelled indices in a visible range', () => {
    assert.deepEqual(labelIndices(0, 9, 1), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(labelIndices(3, 27, 10), [10, 20]);
    assert.deepEqual(labelIndices(0, 1023, 200), [0, 200, 400, 600, 800, 1000]);
    assert.deepEqual(labelIndices(5, 4, 1), []);
  });
});
