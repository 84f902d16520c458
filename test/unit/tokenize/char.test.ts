import assert from 'node:assert/strict';
import { CharTokenizer } from '../../../src/tokenize/char';
import { spans } from './helpers';

const tokenizer = new CharTokenizer();

describe('char tokenizer', () => {
  it('gives no tokens for the empty string', () => {
    assert.deepEqual(tokenizer.encode(''), []);
  });

  it('one token per code point, id = code point, whitespace visible', () => {
    const tokens = tokenizer.encode('a b\r\n\t');
    assert.deepEqual(spans(tokens), [
      ['a', 0, 1],
      ['·', 1, 2],
      ['b', 2, 3],
      ['␍', 3, 4],
      ['↵', 4, 5],
      ['→', 5, 6],
    ]);
    assert.deepEqual(tokens.map((t) => t.id), [0x61, 0x20, 0x62, 0x0d, 0x0a, 0x09]);
  });

  it('a surrogate pair is one token covering two code units', () => {
    const tokens = tokenizer.encode('I 🍵!');
    assert.deepEqual(spans(tokens), [
      ['I', 0, 1],
      ['·', 1, 2],
      ['🍵', 2, 4],
      ['!', 4, 5],
    ]);
    assert.equal(tokens[2].id, 0x1f375);
  });

  it('CJK characters', () => {
    assert.deepEqual(
      tokenizer.encode('注意力').map((t) => [t.id, t.text, t.start, t.end]),
      [
        [0x6ce8, '注', 0, 1],
        [0x610f, '意', 1, 2],
        [0x529b, '力', 2, 3],
      ],
    );
  });

  it('a lone surrogate is one token with its code unit as id, displayed as U+FFFD', () => {
    assert.deepEqual(
      tokenizer.encode('\uDC00x\uD800').map((t) => [t.id, t.text, t.start, t.end]),
      [
        [0xdc00, '\uFFFD', 0, 1],
        [0x78, 'x', 1, 2],
        [0xd800, '\uFFFD', 2, 3],
      ],
    );
  });

  it('decodeId gives the character back and rejects non-code-points', () => {
    assert.equal(tokenizer.decodeId(0x1f375), '🍵');
    assert.equal(tokenizer.decodeId(0x20), ' ');
    assert.throws(() => tokenizer.decodeId(0x110000), /Unicode code point/);
    assert.throws(() => tokenizer.decodeId(-1), RangeError);
  });
});
