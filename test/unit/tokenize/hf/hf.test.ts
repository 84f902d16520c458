import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { UserError } from '../../../../src/errors';
import { HfTokenizer, loadFolderTokenizer, type Token, type Tokenizer } from '../../../../src/tokenize';
import { AlignedText, charSegments, splitAligned } from '../../../../src/tokenize/hf/aligned';
import { FIXTURES, type Json, lenmlFolder } from './fixtures';

const loaded = new Map<string, HfTokenizer>();
function fixture(name: string): HfTokenizer {
  let tokenizer = loaded.get(name);
  if (!tokenizer) {
    const found = FIXTURES.find((f) => f.name === name);
    if (!found) throw new Error(`no fixture ${name}`);
    tokenizer = HfTokenizer.fromJson(found.json(), found.config?.());
    loaded.set(name, tokenizer);
  }
  return tokenizer;
}

/** [display text, start, end] (+ 'special'), for compact expectations. */
function spans(tokens: readonly Token[]): Array<[string, number, number] | [string, number, number, 'special']> {
  return tokens.map((t) => (t.special ? [t.text, t.start, t.end, 'special'] : [t.text, t.start, t.end]));
}

/**
 * The promises of a tokenizer.json tokenizer: special tokens have empty ranges at 0 (before the text)
 * or text.length (after it); the other tokens have non-empty ranges that never go backwards, leave no
 * gap, start at 0 and end at text.length (unless there are none); ids are vocabulary ids.
 */
function assertHfCoverage(tokenizer: HfTokenizer, text: string, tokens: readonly Token[]): void {
  const textTokens = tokens.filter((t) => !t.special);
  const firstText = tokens.findIndex((t) => !t.special);
  tokens.forEach((t, i) => {
    assert.ok(Number.isInteger(t.id) && t.id >= 0 && t.id < tokenizer.vocabSize, `token ${i}: id ${t.id}`);
    assert.ok(t.text.length > 0 && !/[ \n\r\t]/.test(t.text), `token ${i}: display text ${JSON.stringify(t.text)}`);
    if (t.special) {
      assert.equal(t.start, t.end, `special token ${i} has an empty range`);
      assert.ok(t.start === 0 || t.start === text.length, `special token ${i} sits at 0 or text.length`);
      if (firstText >= 0 && i > firstText) assert.equal(t.start, text.length, `special token ${i} after the text sits at its end`);
    }
  });
  if (textTokens.length === 0) return;
  assert.equal(textTokens[0].start, 0, 'first text token starts at 0');
  assert.equal(textTokens[textTokens.length - 1].end, text.length, 'last text token ends at text.length');
  textTokens.forEach((t, i) => {
    assert.ok(t.start < t.end, `text token ${i}: non-empty range [${t.start}, ${t.end}]`);
    if (i > 0) {
      const previous = textTokens[i - 1];
      assert.ok(t.start >= previous.start, `text token ${i}: start goes back`);
      assert.ok(t.end >= previous.end, `text token ${i}: end goes back`);
      assert.ok(t.start <= previous.end, `text token ${i}: gap before it`);
    }
  });
}

describe('tokenizer.json tokenizer (HfTokenizer)', function () {
  this.timeout(60_000);

  describe('encode: tokens, special tokens and source ranges', () => {
    it('Llama 2: <s> is special with an empty range at 0; ▁ is shown as the space it stands for', () => {
      assert.deepEqual(spans(fixture('llama2').encode('Hello world')), [
        ['<s>', 0, 0, 'special'],
        ['·Hello', 0, 5],
        ['·world', 5, 11],
      ]);
    });

    it('Llama 2: byte-fallback pieces of an emoji share its whole range and show their byte; a byte token for "\\n" shows ↵', () => {
      assert.deepEqual(spans(fixture('llama2').encode('I 🍵\n')), [
        ['<s>', 0, 0, 'special'],
        ['·I', 0, 1],
        ['·', 1, 2],
        ['<0xF0>', 2, 4],
        ['<0x9F>', 2, 4],
        ['<0x8D>', 2, 4],
        ['<0xB5>', 2, 4],
        ['↵', 4, 5],
      ]);
    });

    it('Llama 2: a typed "<s>" is a real token holding its text, not a special one', () => {
      assert.deepEqual(spans(fixture('llama2').encode('a <s> b')), [
        ['<s>', 0, 0, 'special'],
        ['·a', 0, 1],
        ['·', 1, 2],
        ['<s>', 2, 5],
        ['·', 5, 6],
        ['·b', 5, 7],
      ]);
    });

    it('Llama 3: a byte-level token holding a space and half an emoji covers both; the emoji is shared', () => {
      assert.deepEqual(spans(fixture('llama3').encode('Hello world 🍵')), [
        ['Hello', 0, 5],
        ['·world', 5, 11],
        ['·<0xF0><0x9F>', 11, 14],
        ['<0x8D>', 12, 14],
        ['<0xB5>', 12, 14],
      ]);
    });

    it('Llama 3.1 layout: <|begin_of_text|> from a Sequence post-processor', () => {
      assert.deepEqual(spans(fixture('llama3.1').encode('Hi')), [
        ['<|begin_of_text|>', 0, 0, 'special'],
        ['Hi', 0, 2],
      ]);
    });

    it('BERT: lowercased, accents stripped, dropped whitespace joins the token before; [CLS] at 0, [SEP] at the end', () => {
      assert.deepEqual(spans(fixture('bert-uncased').encode('Hello, Café  world!')), [
        ['[CLS]', 0, 0, 'special'],
        ['hello', 0, 5],
        [',', 5, 7],
        ['cafe', 7, 13],
        ['world', 13, 18],
        ['!', 18, 19],
        ['[SEP]', 19, 19, 'special'],
      ]);
      assert.deepEqual(spans(fixture('bert-uncased').encode('unaffable')), [
        ['[CLS]', 0, 0, 'special'],
        ['una', 0, 3],
        ['##ffa', 3, 6],
        ['##ble', 6, 9],
        ['[SEP]', 9, 9, 'special'],
      ]);
    });

    it('BERT: text with no token (only whitespace) gives only [CLS] and [SEP]; the empty text too', () => {
      assert.deepEqual(spans(fixture('bert-uncased').encode('   ')), [
        ['[CLS]', 0, 0, 'special'],
        ['[SEP]', 3, 3, 'special'],
      ]);
      assert.deepEqual(spans(fixture('bert-uncased').encode('')), [
        ['[CLS]', 0, 0, 'special'],
        ['[SEP]', 0, 0, 'special'],
      ]);
    });

    it('RoBERTa: <mask> (lstrip) holds the space before it', () => {
      assert.deepEqual(spans(fixture('roberta').encode('Hi <mask> there')), [
        ['<s>', 0, 0, 'special'],
        ['Hi', 0, 2],
        ['<mask>', 2, 9],
        ['·there', 9, 15],
        ['</s>', 15, 15, 'special'],
      ]);
    });

    it('Qwen3 (NFC): "e" + U+0301 composed into "é" covers both source characters', () => {
      assert.deepEqual(spans(fixture('qwen3').encode('e\u0301!')), [
        ['é', 0, 2],
        ['!', 2, 3],
      ]);
    });

    it('Gemma 3: a whitespace run is an added token shown with visible spaces', () => {
      assert.deepEqual(spans(fixture('gemma3').encode('Hi  there')), [
        ['<bos>', 0, 0, 'special'],
        ['Hi', 0, 2],
        ['··', 2, 4],
        ['there', 4, 9],
      ]);
    });

    it('encodeIds equals the ids of encode', () => {
      const tokenizer = fixture('qwen3');
      const text = 'Hello 🍵 <|im_start|>';
      assert.deepEqual(tokenizer.encodeIds(text), tokenizer.encode(text).map((t) => t.id));
    });
  });

  describe('properties on arbitrary UTF-16 text (lone surrogates included)', () => {
    const anyText = fc.oneof(
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.array(fc.constantFrom('word', ' ', '   ', '\t', '\r\n', '🍵', '👩‍💻', '注意', 'e\u0301', '<s>', '[SEP]', '<|im_start|>', '\uD800', 'ﬁ'), { maxLength: 12 }).map((p) => p.join('')),
    );
    for (const name of ['llama3', 'llama2', 'gemma3', 'bert-uncased', 'roberta']) {
      it(`${name}: ranges are ordered and cover the text, specials are empty, encode is deterministic`, () => {
        const tokenizer = fixture(name);
        fc.assert(
          fc.property(anyText, (text) => {
            const tokens = tokenizer.encode(text);
            assertHfCoverage(tokenizer, text, tokens);
            assert.deepEqual(tokenizer.encode(text), tokens);
          }),
          { numRuns: 200 },
        );
      });
    }
  });

  describe('decodeId and displayId', () => {
    it('byte-level: bytes decoded as UTF-8, a partial character as U+FFFD; display shows byte form', () => {
      const llama3 = fixture('llama3');
      const world = llama3.encode(' world')[0].id;
      assert.equal(llama3.decodeId(world), ' world');
      assert.equal(llama3.displayId(world), '·world');
      const halfEmoji = llama3.encode('🍵')[0].id;
      assert.equal(llama3.decodeId(halfEmoji), '\uFFFD');
      assert.match(llama3.displayId(halfEmoji), /^(<0x[0-9A-F]{2}>)+$/);
      assert.equal(llama3.idToToken(world), 'Ġworld');
    });

    it('SentencePiece: ▁ decodes to a space, a byte-fallback token to its byte', () => {
      const llama2 = fixture('llama2');
      assert.equal(llama2.decodeId(22557), ' Hello');
      assert.equal(llama2.idToToken(22557), '▁Hello');
      assert.equal(llama2.decodeId(13), '\n');
      assert.equal(llama2.displayId(13), '↵');
      assert.equal(llama2.decodeId(243), '\uFFFD');
      assert.equal(llama2.displayId(243), '<0xF0>');
      assert.equal(llama2.decodeId(1), '<s>');
    });

    it('WordPiece keeps the continuation prefix', () => {
      const bert = fixture('bert-uncased');
      assert.equal(bert.decodeId(2075), '##ing');
      assert.equal(bert.displayId(2075), '##ing');
      assert.equal(bert.decodeId(101), '[CLS]');
    });

    it('every token of encode displays as displayId of its id', () => {
      const tokenizer = fixture('llama2');
      for (const token of tokenizer.encode('Hello 🍵 world\n\tx')) assert.equal(token.text, tokenizer.displayId(token.id));
    });

    it('an id outside the vocabulary is a RangeError', () => {
      const llama2 = fixture('llama2');
      assert.throws(() => llama2.decodeId(32000), RangeError);
      assert.throws(() => llama2.decodeId(-1), RangeError);
      assert.throws(() => llama2.displayId(1.5), RangeError);
      assert.equal(llama2.vocabSize, 32000);
    });
  });

  describe('interface', () => {
    it('is a Tokenizer named "huggingface", usable where the built-in ones are', () => {
      const tokenizer: Tokenizer = fixture('llama2');
      assert.equal(tokenizer.name, 'huggingface');
      assert.equal(typeof tokenizer.decodeId, 'function');
      assert.equal(fixture('llama2').modelType, 'BPE');
      assert.equal(fixture('bert-uncased').modelType, 'WordPiece');
    });
  });

  describe('loadFolderTokenizer', () => {
    let scratch: string;
    before(() => {
      scratch = mkdtempSync(join(tmpdir(), 'hf-tokenizer-'));
    });
    after(() => rmSync(scratch, { recursive: true, force: true }));

    const folderWith = (name: string, files: Record<string, string>): string => {
      const folder = join(scratch, name);
      cpSync(lenmlFolder('llama2'), folder, { recursive: true });
      for (const [file, contents] of Object.entries(files)) {
        if (contents === '') rmSync(join(folder, file), { force: true });
        else writeFileSync(join(folder, file), contents);
      }
      return folder;
    };

    const rejectsWith = async (promise: Promise<unknown>, pattern: RegExp): Promise<void> => {
      await assert.rejects(promise, (error: unknown) => {
        assert.ok(error instanceof UserError, `a UserError, got ${String(error)}`);
        assert.match(error.message, pattern);
        return true;
      });
    };

    it('reads a model folder (tokenizer.json + tokenizer_config.json)', async () => {
      const tokenizer = await loadFolderTokenizer(lenmlFolder('llama2'));
      assert.deepEqual(tokenizer.encodeIds('Hello world'), [1, 22557, 1526]);
    });

    it('works without tokenizer_config.json', async () => {
      const tokenizer = await loadFolderTokenizer(folderWith('no-config', { 'tokenizer_config.json': '' }));
      assert.deepEqual(tokenizer.encodeIds('Hello world'), [1, 22557, 1526]);
    });

    it('a missing folder, a file instead of a folder, a missing tokenizer.json', async () => {
      await rejectsWith(loadFolderTokenizer(join(scratch, 'nowhere')), /the model folder .*nowhere cannot be read .*check the path/);
      const file = join(scratch, 'file.txt');
      writeFileSync(file, 'x');
      await rejectsWith(loadFolderTokenizer(file), /file\.txt is a file, not a model folder/);
      await rejectsWith(loadFolderTokenizer(folderWith('no-tokenizer', { 'tokenizer.json': '' })), /no-tokenizer\/tokenizer\.json does not exist: the folder needs the model's tokenizer\.json/);
    });

    it('broken JSON in either file names the file', async () => {
      await rejectsWith(loadFolderTokenizer(folderWith('broken', { 'tokenizer.json': '{"model": {' })), /broken\/tokenizer\.json is not valid JSON .*download it again/);
      await rejectsWith(loadFolderTokenizer(folderWith('broken-config', { 'tokenizer_config.json': 'nope' })), /broken-config\/tokenizer_config\.json is not valid JSON/);
    });

    const withJson = (name: string, change: (json: Json) => void): string => {
      const json = FIXTURES.find((f) => f.name === 'llama2')?.json() as Json;
      change(json);
      return folderWith(name, { 'tokenizer.json': JSON.stringify(json) });
    };

    it('an unsupported model, normalizer or pre-tokenizer is named with its JSON path and what to do', async () => {
      await rejectsWith(
        loadFolderTokenizer(withJson('unigram', (json) => (json.model = { type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0]] }))),
        /unigram\/tokenizer\.json: model is a model of type "Unigram", which Attention Inspector's tokenizer does not support \(supported: BPE, WordPiece\)\. Unigram models .* Choose a model whose tokenizer\.json uses supported components, or a built-in tokenizer\./,
      );
      await rejectsWith(
        loadFolderTokenizer(withJson('precompiled', (json) => (json.normalizer = { type: 'Sequence', normalizers: [{ type: 'Precompiled', precompiled_charsmap: 'AA==' }] }))),
        /tokenizer\.json: normalizer\.normalizers\[0\] is a normalizer of type "Precompiled"/,
      );
      await rejectsWith(loadFolderTokenizer(withJson('scripts', (json) => (json.pre_tokenizer = { type: 'UnicodeScripts' }))), /pre_tokenizer is a pre-tokenizer of type "UnicodeScripts"/);
    });

    it('malformed contents: not a tokenizer file, a merge of unknown tokens, BPE dropout', async () => {
      await rejectsWith(loadFolderTokenizer(folderWith('not-tokenizer', { 'tokenizer.json': '{"vocab": {}}' })), /tokenizer\.json has no "model": it is not a Hugging Face tokenizers file/);
      await rejectsWith(loadFolderTokenizer(folderWith('array', { 'tokenizer.json': '[1, 2]' })), /tokenizer\.json must be a JSON object, found an array/);
      await rejectsWith(
        loadFolderTokenizer(withJson('bad-merge', (json) => ((json.model as Json).merges as string[]).push('nosuch token'))),
        /tokenizer\.json: model\.merges\[58980\] merges "nosuch" and "token", but "nosuch" is not in model\.vocab/,
      );
      await rejectsWith(loadFolderTokenizer(withJson('dropout', (json) => ((json.model as Json).dropout = 0.1))), /model\.dropout is 0\.1: BPE dropout makes tokenization random/);
    });
  });

  describe('aligned text (normalization bookkeeping)', () => {
    const ranges = (aligned: AlignedText): Array<[string, number, number]> => [...Array(aligned.length).keys()].map((i) => [aligned.text[i], aligned.starts[i], aligned.ends[i]]);

    it('a surrogate pair is one character: both units carry its range', () => {
      assert.deepEqual(ranges(AlignedText.fromOriginal('a🍵')), [
        ['a', 0, 1],
        ['\uD83C', 1, 3],
        ['\uDF75', 1, 3],
      ]);
    });

    it('prepend shares the first character\'s range; replace gives its content the last matched character\'s range', () => {
      const text = AlignedText.fromOriginal('ab  c').prepend('▁').replace(/ +/gu, '▁');
      assert.equal(text.text, '▁ab▁c');
      assert.deepEqual(
        ranges(text).map(([, s, e]) => [s, e]),
        [
          [0, 1],
          [0, 1],
          [1, 2],
          [3, 4],
          [4, 5],
        ],
      );
    });

    it('NFC: a composed character covers what it was composed from; untouched characters keep their own range', () => {
      assert.deepEqual(ranges(AlignedText.fromOriginal('ae\u0301x').normalizeUnicode('NFC')), [
        ['a', 0, 1],
        ['é', 1, 3],
        ['x', 3, 4],
      ]);
    });

    it('NFD: a decomposed character\'s parts all carry its range', () => {
      assert.deepEqual(ranges(AlignedText.fromOriginal('é').normalizeUnicode('NFD')), [
        ['e', 0, 1],
        ['\u0301', 0, 1],
      ]);
    });

    it('NFD reordering marks across a removed character: the reordered marks share their union range, the rest keeps its own', () => {
      const cleaned = AlignedText.fromOriginal('한\u0301\u0000\u05B4').filter((cp) => cp !== 0);
      const decomposed = cleaned.normalizeUnicode('NFD');
      assert.equal(decomposed.text, '한\u0301\u0000\u05B4'.replace('\u0000', '').normalize('NFD'));
      assert.deepEqual(
        ranges(decomposed).map(([, s, e]) => [s, e]),
        [
          [0, 1],
          [0, 1],
          [0, 1],
          [1, 4],
          [1, 4],
        ],
      );
    });

    it('normalization always yields exactly String.prototype.normalize', () => {
      const pieces = fc.constantFrom('a', 'e', '\u0301', '\u0323', '\u0334', 'ᄀ', 'ᅡ', 'ᆨ', '가', 'ｶ', 'ﾞ', 'ﬁ', 'Å', '\u0000', ' ', '🍵');
      fc.assert(
        fc.property(fc.array(pieces, { maxLength: 12 }), fc.constantFrom('NFC', 'NFD', 'NFKC', 'NFKD') as fc.Arbitrary<'NFC' | 'NFD' | 'NFKC' | 'NFKD'>, (parts, form) => {
          const text = AlignedText.fromOriginal(parts.join('')).filter((cp) => cp !== 0);
          const normalized = text.normalizeUnicode(form);
          assert.equal(normalized.text, text.text.normalize(form));
          assert.equal(normalized.starts.length, normalized.text.length);
        }),
        { numRuns: 500 },
      );
    });

    it('MergedWithNext keeps a delimiter run apart from the word it starts', () => {
      const text = AlignedText.fromOriginal('▁▁x▁y');
      assert.deepEqual(
        splitAligned(text, charSegments(text.text, (cp) => cp === 0x2581), 'MergedWithNext').map((p) => p.text),
        ['▁', '▁x', '▁y'],
      );
    });
  });

  describe('speed', () => {
    // 100,000 characters; Llama 2's tokenizer has no pre-tokenizer, so each line is one BPE piece.
    const line = 'The quick brown fox 🍵 jumps over the lazy dog; 注意力 e\u0301 مرحبا\t\tfunction(x) { return x * 2; } ';
    const text = line.repeat(Math.ceil(100_000 / line.length)).slice(0, 100_000);
    for (const name of ['llama2', 'llama3', 'bert-uncased']) {
      it(`${name}: 100,000 characters in well under a second`, () => {
        const tokenizer = fixture(name);
        tokenizer.encode(text.slice(0, 2000));
        const started = performance.now();
        const tokens = tokenizer.encode(text);
        const elapsed = performance.now() - started;
        assertHfCoverage(tokenizer, text, tokens);
        assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
      });
    }
  });
});
