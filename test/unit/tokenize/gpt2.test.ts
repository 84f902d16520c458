import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { GPT2_END_OF_TEXT_ID, Gpt2Tokenizer } from '../../../src/tokenize/gpt2';
import { byteStringToBytes } from '../../../src/tokenize/utf8';
import { assertCoverage, spans } from './helpers';

const reference = new Tiktoken(gpt2Ranks);
const referenceIds = (text: string): number[] => reference.encode(text, 'all');
const tokenizer = new Gpt2Tokenizer();

/** Concatenated bytes of the tokens' vocabulary entries. */
function tokenBytes(ids: readonly number[]): Uint8Array {
  return byteStringToBytes(ids.map((id) => tokenizer.bytesOf(id)).join(''));
}

// Strings rich in the cases that matter: special tokens, contractions, whitespace runs, multi-byte characters.
const interestingText = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.string({ unit: 'grapheme', maxLength: 6 }),
      fc.constantFrom('<|endoftext|>', ' ', '  ', '\n', '\r\n', '\t', "'s", "'ll", ' 123', '🍵', '👩‍💻', '注意力', 'e\u0301', 'Hello', ' world'),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

// Any UTF-16 code units, lone surrogates included.
const anyCodeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 });

describe('GPT-2 tokenizer', () => {
  describe('ids', () => {
    it('match the known ids for the issue example, with <|endoftext|> as the special token 50256', () => {
      const text = 'Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace.';
      assert.deepEqual(
        tokenizer.encodeIds(text),
        [15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 286, 617, 34680, 27271, 13],
      );
      assert.deepEqual(tokenizer.encode(text).map((t) => t.id), tokenizer.encodeIds(text));
    });

    const samples = [
      'Hello world',
      "It's 2024, isn't it? We'll see; they've said I'm 'fine'.",
      'function add(a, b) {\n\treturn a + b;\n}\n',
      'line one\r\nline two\r\n',
      '   leading and trailing   ',
      'I love 🍵 and 🐍!',
      '注意力机制很有用。',
      'Ünïcödé naïve café, Ελληνικά, русский, العربية, हिन्दी',
      '<|endoftext|><|endoftext|>x<|endoftext|>',
      '<|endoftext',
      'a'.repeat(500),
      'ACGT'.repeat(300),
      '=-'.repeat(200),
    ];
    for (const sample of samples) {
      it(`match js-tiktoken for ${JSON.stringify(sample.length > 40 ? sample.slice(0, 40) + '…' : sample)}`, () => {
        assert.deepEqual(tokenizer.encodeIds(sample), referenceIds(sample));
      });
    }

    it('match js-tiktoken on arbitrary text', () => {
      fc.assert(
        fc.property(interestingText, (text) => {
          assert.deepEqual(tokenizer.encodeIds(text), referenceIds(text));
        }),
        { numRuns: 300 },
      );
    });

    it('match js-tiktoken on long unspaced runs (many equal-rank merges)', () => {
      const letters = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'ab', 'the', 'é', '中'), minLength: 50, maxLength: 300 });
      fc.assert(
        fc.property(letters, (text) => {
          assert.deepEqual(tokenizer.encodeIds(text), referenceIds(text));
        }),
        { numRuns: 60 },
      );
    });

    it('match js-tiktoken on text with lone surrogates', () => {
      fc.assert(
        fc.property(anyCodeUnits, (text) => {
          assert.deepEqual(tokenizer.encodeIds(text), referenceIds(text));
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('offsets and display text', () => {
    it('gives no tokens for the empty string', () => {
      assert.deepEqual(tokenizer.encode(''), []);
    });

    it('"Hello world"', () => {
      assert.deepEqual(spans(tokenizer.encode('Hello world')), [
        ['Hello', 0, 5],
        ['·world', 5, 11],
      ]);
    });

    it('CRLF line endings', () => {
      assert.deepEqual(spans(tokenizer.encode('line one\r\nline two\r\n')), [
        ['line', 0, 4],
        ['·one', 4, 8],
        ['␍', 8, 9],
        ['↵', 9, 10],
        ['line', 10, 14],
        ['·two', 14, 18],
        ['␍', 18, 19],
        ['↵', 19, 20],
      ]);
    });

    it('tabs', () => {
      assert.deepEqual(spans(tokenizer.encode('\tif x:\n\t\treturn y')), [
        ['→', 0, 1],
        ['if', 1, 3],
        ['·x', 3, 5],
        [':', 5, 6],
        ['↵', 6, 7],
        ['→', 7, 8],
        ['→', 8, 9],
        ['return', 9, 15],
        ['·y', 15, 17],
      ]);
    });

    it('leading and trailing spaces', () => {
      assert.deepEqual(spans(tokenizer.encode('  hi  ')), [
        ['·', 0, 1],
        ['·hi', 1, 4],
        ['·', 4, 5],
        ['·', 5, 6],
      ]);
    });

    it('emoji split across tokens: each part covers the whole emoji, bytes shown in byte form', () => {
      const tokens = tokenizer.encode('I love 🍵 and 🐍!');
      assert.deepEqual(spans(tokens), [
        ['I', 0, 1],
        ['·love', 1, 6],
        ['·<0xF0><0x9F>', 6, 9], // the space plus the first two bytes of 🍵 (UTF-16 7–9)
        ['<0x8D>', 7, 9],
        ['<0xB5>', 7, 9],
        ['·and', 9, 13],
        ['·<0xF0><0x9F>', 13, 16],
        ['<0x90>', 14, 16],
        ['<0x8D>', 14, 16],
        ['!', 16, 17],
      ]);
    });

    it('CJK characters split into two tokens each share the character range', () => {
      const text = '注意力机制很有用。';
      const tokens = tokenizer.encode(text);
      const expectedRanges: Array<[number, number]> = [];
      for (let i = 0; i < 8; i++) expectedRanges.push([i, i + 1], [i, i + 1]);
      expectedRanges.push([8, 9]);
      assert.deepEqual(tokens.map((t) => [t.start, t.end]), expectedRanges);
      assert.equal(tokens[0].text, '<0xE6><0xB3>');
      assert.equal(tokens[1].text, '<0xA8>');
      assert.equal(tokens[16].text, '。');
    });

    it('<|endoftext|> covers its 13 characters and is displayed as is', () => {
      const tokens = tokenizer.encode('a<|endoftext|>b');
      assert.deepEqual(spans(tokens), [
        ['a', 0, 1],
        ['<|endoftext|>', 1, 14],
        ['b', 14, 15],
      ]);
      assert.equal(tokens[1].id, GPT2_END_OF_TEXT_ID);
    });

    it('lone surrogates become U+FFFD and still cover their code unit', () => {
      const text = 'x\uD800y\uDC00 \uDBFF';
      const tokens = tokenizer.encode(text);
      assertCoverage(text, tokens);
      assert.deepEqual(tokenBytes(tokens.map((t) => t.id)), new TextEncoder().encode(text));
      assert.ok(tokens.some((t) => t.text.includes('\uFFFD')));
      assert.ok(tokens.every((t) => !/[\uD800-\uDFFF]/.test(t.text)), 'labels hold no surrogates here');
    });
  });

  describe('properties', () => {
    it('tokens cover the text without gaps, in order, ending at text.length', () => {
      fc.assert(
        fc.property(fc.oneof(interestingText, anyCodeUnits), (text) => {
          assertCoverage(text, tokenizer.encode(text));
        }),
        { numRuns: 400 },
      );
    });

    it("the tokens' bytes concatenate to the input's UTF-8 encoding", () => {
      fc.assert(
        fc.property(fc.oneof(interestingText, anyCodeUnits), (text) => {
          // For lone surrogates TextEncoder writes U+FFFD, which is what the tokenizer encodes too.
          assert.deepEqual(tokenBytes(tokenizer.encodeIds(text)), new TextEncoder().encode(text));
        }),
        { numRuns: 300 },
      );
    });

    it('tokens overlap only where they split one character, and then by exactly that character', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), (text) => {
          const tokens = tokenizer.encode(text);
          for (let i = 1; i < tokens.length; i++) {
            // A start inside the previous token means both hold bytes of the same character.
            if (tokens[i].start < tokens[i - 1].end) {
              const sharedChar = text.slice(tokens[i].start, tokens[i - 1].end);
              assert.equal([...sharedChar].length, 1, `tokens ${i - 1} and ${i} overlap by exactly one character`);
            }
          }
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('decodeId and displayId', () => {
    it('decode ids to their raw text', () => {
      assert.equal(tokenizer.decodeId(15496), 'Hello');
      assert.equal(tokenizer.decodeId(995), ' world');
      assert.equal(tokenizer.decodeId(198), '\n');
      assert.equal(tokenizer.decodeId(GPT2_END_OF_TEXT_ID), '<|endoftext|>');
    });

    it('decode partial characters to U+FFFD, like js-tiktoken', () => {
      assert.equal(tokenizer.decodeId(12520), reference.decode([12520]));
      assert.ok(tokenizer.decodeId(12520).includes('\uFFFD'));
    });

    it('agree with js-tiktoken decode for every id sampled', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: GPT2_END_OF_TEXT_ID }), (id) => {
          assert.equal(tokenizer.decodeId(id), reference.decode([id]));
        }),
        { numRuns: 500 },
      );
    });

    it('displayId shows visible whitespace and byte form', () => {
      assert.equal(tokenizer.displayId(995), '·world');
      assert.equal(tokenizer.displayId(12520), '·<0xF0><0x9F>');
      assert.equal(tokenizer.displayId(GPT2_END_OF_TEXT_ID), '<|endoftext|>');
    });

    it('reject ids outside the vocabulary with a clear error', () => {
      assert.throws(() => tokenizer.decodeId(50257), /GPT-2 token id must be an integer in \[0, 50256\], got 50257/);
      assert.throws(() => tokenizer.decodeId(-1), RangeError);
      assert.throws(() => tokenizer.decodeId(1.5), RangeError);
    });
  });
});
