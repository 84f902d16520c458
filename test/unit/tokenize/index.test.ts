import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createTokenizer, isTokenizerName, TOKENIZER_NAMES, type TokenizerName } from '../../../src/tokenize';
import { assertCoverage } from './helpers';

// Any UTF-16 code units (lone surrogates included), well-formed code points, and grapheme-heavy text.
const anyText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.array(fc.constantFrom('word', ' ', '  ', '\n', '\r\n', '\t', '.', '🍵', '注意', '<|endoftext|>', 'e\u0301'), { maxLength: 20 }).map((parts) => parts.join('')),
);

describe('createTokenizer', () => {
  it('creates each named tokenizer', () => {
    for (const name of TOKENIZER_NAMES) assert.equal(createTokenizer(name).name, name);
  });

  it('rejects an unknown name, listing the valid ones', () => {
    assert.throws(() => createTokenizer('bpe' as TokenizerName), /Unknown tokenizer "bpe"; valid names are "gpt2", "word", "char"/);
  });

  it('isTokenizerName', () => {
    assert.ok(isTokenizerName('gpt2'));
    assert.ok(!isTokenizerName('GPT2'));
    assert.ok(!isTokenizerName(undefined));
  });

  for (const name of TOKENIZER_NAMES) {
    describe(`${name}: properties on arbitrary text`, () => {
      const tokenizer = createTokenizer(name);

      it('ranges are ordered, non-empty, gap-free, and rebuild the text', () => {
        fc.assert(
          fc.property(anyText, (text) => {
            assertCoverage(text, tokenizer.encode(text));
          }),
          { numRuns: 300 },
        );
      });

      it('is deterministic, and tokens have integer ids and non-empty display text', () => {
        fc.assert(
          fc.property(anyText, (text) => {
            const tokens = tokenizer.encode(text);
            assert.deepEqual(tokenizer.encode(text), tokens);
            for (const t of tokens) {
              assert.ok(Number.isInteger(t.id) && t.id >= 0, `id ${t.id}`);
              assert.ok(t.text.length > 0, 'display text is not empty');
              assert.ok(!/[ \n\r\t]/.test(t.text), `display text ${JSON.stringify(t.text)} has visible whitespace only`);
            }
          }),
          { numRuns: 200 },
        );
      });
    });
  }
});
