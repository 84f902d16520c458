import assert from 'node:assert/strict';
import fc from 'fast-check';
import { byteLabel, displayText, replaceLoneSurrogates, visibleControls, visibleWhitespace } from '../../../src/tokenize/display';
import { byteStringToBytes, displayUtf8Bytes, utf8ByteString } from '../../../src/tokenize/utf8';

describe('token display', () => {
  it('makes space, newline, carriage return and tab visible and keeps everything else', () => {
    assert.equal(visibleWhitespace('a b\r\n\tc'), 'a·b␍↵→c');
    assert.equal(visibleWhitespace('\u00a0\u3000x'), '\u00a0\u3000x');
    assert.equal(visibleWhitespace(''), '');
  });

  it('keeps the length, so display offsets line up with the raw text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        assert.equal(visibleWhitespace(text).length, text.length);
      }),
    );
  });

  it('replaces lone surrogates only', () => {
    assert.equal(replaceLoneSurrogates('a\uD800b\uDC00c🍵'), 'a\uFFFDb\uFFFDc🍵');
    assert.equal(replaceLoneSurrogates('\uDC00\uD800'), '\uFFFD\uFFFD');
    assert.equal(displayText(' \uD83D\n'), '·\uFFFD↵');
  });

  it('labels bytes as <0xNN>', () => {
    assert.equal(byteLabel(0xf0), '<0xF0>');
    assert.equal(byteLabel(0x0a), '<0x0A>');
  });

  it('decodes complete UTF-8 characters and shows the bytes of incomplete ones', () => {
    assert.equal(displayUtf8Bytes(utf8ByteString(' 🍵 注\n')), '·🍵·注↵');
    assert.equal(displayUtf8Bytes('\x20\xF0\x9F'), '·<0xF0><0x9F>');
    assert.equal(displayUtf8Bytes('\x8D\xB5x'), '<0x8D><0xB5>x');
    // Overlong and surrogate encodings are not characters either.
    assert.equal(displayUtf8Bytes('\xC0\xAF'), '<0xC0><0xAF>');
    assert.equal(displayUtf8Bytes('\xED\xA0\x80'), '<0xED><0xA0><0x80>');
  });

  it('utf8ByteString agrees with TextEncoder, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }), fc.string({ unit: 'binary' }), (units, codePoints) => {
        for (const text of [units, codePoints]) {
          assert.deepEqual(byteStringToBytes(utf8ByteString(text)), new TextEncoder().encode(text));
        }
      }),
    );
  });

  it('displayUtf8Bytes of a well-formed encoding is the text with visible whitespace and controls', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        assert.equal(displayUtf8Bytes(utf8ByteString(text)), visibleControls(visibleWhitespace(text)));
      }),
    );
  });
});

describe('display: invisible and direction-changing characters', () => {
  it('shows bidi overrides, zero-width and control characters as code points, so labels cannot reorder numbers', () => {
    assert.equal(displayText('a\u202Eb'), 'a<U+202E>b');
    assert.equal(displayText('x\u200By'), 'x<U+200B>y');
    assert.equal(displayText('\u0007'), '<U+0007>');
    assert.equal(displayText('\uFEFFhi'), '<U+FEFF>hi');
    assert.equal(displayText(' \t\n'), '·→↵', 'whitespace keeps its own symbols');
    assert.equal(displayText('é 日本'), 'é·日本', 'ordinary text is untouched');
  });
});

describe('display: token labels', () => {
  it('a right-to-left override in the text is shown, not obeyed, by every tokenizer', async () => {
    const { createTokenizer } = await import('../../../src/tokenize');
    for (const name of ['gpt2', 'word', 'char'] as const) {
      const labels = createTokenizer(name).encode('x\u202Ey 0.412').map((t) => t.text).join('');
      assert.ok(!labels.includes('\u202E'), `${name}: ${labels}`);
    }
    assert.ok(createTokenizer('char').encode('\u202E')[0].text === '<U+202E>');
  });
});
