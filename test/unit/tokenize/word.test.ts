import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fnv1a32, WordTokenizer } from '../../../src/tokenize/word';
import { spans } from './helpers';

const tokenizer = new WordTokenizer();

describe('word tokenizer', () => {
  it('gives no tokens for the empty string', () => {
    assert.deepEqual(tokenizer.encode(''), []);
  });

  it('"Hello world": whitespace leads the next word', () => {
    assert.deepEqual(spans(tokenizer.encode('Hello world')), [
      ['Hello', 0, 5],
      ['·world', 5, 11],
    ]);
  });

  it('leading whitespace joins the first word; trailing whitespace is its own token', () => {
    assert.deepEqual(spans(tokenizer.encode('  hi  ')), [
      ['··hi', 0, 4],
      ['··', 4, 6],
    ]);
    assert.deepEqual(spans(tokenizer.encode(' \n\t')), [['·↵→', 0, 3]]);
  });

  it('CRLF line endings and tabs', () => {
    assert.deepEqual(spans(tokenizer.encode('line one\r\nline two\r\n')), [
      ['line', 0, 4],
      ['·one', 4, 8],
      ['␍↵line', 8, 14],
      ['·two', 14, 18],
      ['␍↵', 18, 20],
    ]);
    assert.deepEqual(spans(tokenizer.encode('\tif x:\n\t\treturn y')), [
      ['→if', 0, 3],
      ['·x', 3, 5],
      [':', 5, 6],
      ['↵→→return', 6, 15],
      ['·y', 15, 17],
    ]);
  });

  it('punctuation and symbols are single-character tokens; emoji keep both surrogates', () => {
    assert.deepEqual(spans(tokenizer.encode('I love 🍵 and 🐍!')), [
      ['I', 0, 1],
      ['·love', 1, 6],
      ['·🍵', 6, 9],
      ['·and', 9, 13],
      ['·🐍', 13, 16],
      ['!', 16, 17],
    ]);
    assert.deepEqual(spans(tokenizer.encode("don't...")), [
      ['don', 0, 3],
      ["'", 3, 4],
      ['t', 4, 5],
      ['.', 5, 6],
      ['.', 6, 7],
      ['.', 7, 8],
    ]);
  });

  it('letters of any script, digits and underscores form words', () => {
    assert.deepEqual(spans(tokenizer.encode('注意力机制很有用。')), [
      ['注意力机制很有用', 0, 8],
      ['。', 8, 9],
    ]);
    assert.deepEqual(spans(tokenizer.encode('snake_case42 x2 ١٢٣')), [
      ['snake_case42', 0, 12],
      ['·x2', 12, 15],
      ['·١٢٣', 15, 19],
    ]);
  });

  it('combining marks stay with their word or symbol', () => {
    assert.deepEqual(spans(tokenizer.encode('cafe\u0301 ❤️')), [
      ['cafe\u0301', 0, 5],
      ['·❤️', 5, 8],
    ]);
  });

  it('lone surrogates are single tokens displayed as U+FFFD', () => {
    assert.deepEqual(spans(tokenizer.encode('a\uD83D b\uDC00')), [
      ['a', 0, 1],
      ['\uFFFD', 1, 2],
      ['·b', 2, 4],
      ['\uFFFD', 4, 5],
    ]);
  });

  describe('ids', () => {
    it('are FNV-1a over the raw text (matches the published 32-bit test vectors for ASCII)', () => {
      assert.equal(fnv1a32(''), 0x811c9dc5);
      assert.equal(fnv1a32('a'), 0xe40c292c);
      assert.equal(fnv1a32('foobar'), 0xbf9cf968);
      const [hello, world] = tokenizer.encode('hello world');
      assert.equal(hello.id, fnv1a32('hello'));
      assert.equal(world.id, fnv1a32(' world'));
    });

    it('the same raw text always gets the same id, wherever it occurs and across instances', () => {
      const tokens = tokenizer.encode('the cat saw the cat. the');
      const ids = new Map<string, Set<number>>();
      for (const t of tokens) ids.set(t.text, (ids.get(t.text) ?? new Set()).add(t.id));
      for (const [text, set] of ids) assert.equal(set.size, 1, `"${text}" has one id`);
      assert.deepEqual(
        new WordTokenizer().encode('the cat saw the cat. the').map((t) => t.id),
        tokens.map((t) => t.id),
      );
      // With and without the leading space are different tokens, as in GPT-2.
      assert.notEqual(ids.get('the')?.values().next().value, ids.get('·the')?.values().next().value);
    });

    it('are unsigned 32-bit integers and depend only on the token text', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 30 }), (prefix, text) => {
          const alone = tokenizer.encode(text);
          for (const t of tokenizer.encode(prefix + ' ' + text)) {
            assert.ok(Number.isInteger(t.id) && t.id >= 0 && t.id <= 0xffffffff);
          }
          for (const t of alone) assert.equal(t.id, fnv1a32(text.slice(t.start, t.end)));
        }),
      );
    });
  });
});
