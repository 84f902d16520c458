// A tokenizer from a Hugging Face tokenizer.json, with exact source offsets.
//
// Ids are those of Hugging Face tokenizers' (Rust) `encode(text)` with add_special_tokens=True; the unit
// tests check them against the Rust library's Node binding on real tokenizer.json files. The pipeline is
// Rust's, step by step: added tokens are split out of the raw text, the rest is normalized, added tokens
// marked `normalized` are split out of that, the pre-tokenizer cuts pieces, the model (BPE or
// WordPiece) encodes each piece, and the post-processor adds its special tokens around the result.
// @huggingface/tokenizers compiles the Oniguruma regexes of Split and Replace steps to JS regexes.
//
// Offsets. Every character of the normalized text remembers which original characters it stands for
// (aligned.ts has the rules; they are Rust's), so a token's range is the original range of its first
// character to that of its last. Then, for a tokenizer that must cover its text:
// 1. A token holding part of a character (a byte-level or byte-fallback piece of an emoji, one of the
//    characters a normalizer expanded 'ﬁ' into) gets the whole character; tokens sharing a character
//    share its range, so ranges can overlap by that character. Characters that Unicode normalization
//    composes or reorders together (e + U+0301 → é under NFC) count as one character here.
// 2. Ranges never go backwards: a start below the previous token's start is raised to it, an end
//    below the previous end is raised to it.
// 3. Characters no token holds — whitespace BERT's pre-tokenizer drops, characters a normalizer deletes
//    (controls, accents stripped after NFD), combining marks NFC composed into the character before —
//    join the token before them; before the first token, they join the first token. So the text tokens
//    cover the whole text, except when there is no text token at all (BERT on "   ").
// 4. Special tokens the post-processor adds are marked `special` and get an empty range where they
//    sit: at 0 when they come before the text (BOS, [CLS]), at text.length after it (EOS, [SEP]).
// Unlike Rust (with trim_offsets), ranges keep the spaces a token holds: "Ġworld" covers " world".
// The unit tests check all this against Rust's offsets (code points, converted to UTF-16) completed by
// the same rules. tokenizer.json's truncation and padding are not applied (the pipeline cuts to its
// own token limit), and tokenizer_config.json does not change ids (Rust's encode does not read it).

import { replaceLoneSurrogates, displayText } from '../display';
import type { Token, Tokenizer } from '../types';
import { displayUtf8Bytes } from '../utf8';
import { AddedTokenMatcher, type AddedToken, readAddedTokens } from './addedTokens';
import { AlignedText } from './aligned';
import { CHAR_TO_BYTE } from './chars';
import { asObject, JsonPath } from './config';
import { createModel, type Model, type ModelOutput } from './models';
import { createNormalizer, normalizeString, type Normalizer } from './normalizers';
import { createPostProcessor, type SpecialsAround } from './postProcessors';
import { createPreTokenizer, type PreTokenizer } from './preTokenizers';

const BYTE_FALLBACK_TOKEN = /^<0x([0-9A-F]{2})>$/;

/** How a vocabulary spells text, for display and decoding. */
type Spelling = { kind: 'byteLevel' } | { kind: 'plain'; metaspace: string | null };

/** Names shown in error messages for the two files. */
export interface TokenizerFiles {
  readonly tokenizer: string;
  readonly config?: string;
}

// The replacement character a Replace normalizer puts for a space (SentencePiece's '▁' in Llama 2, Gemma…).
function findSpaceReplacement(value: unknown): string | null {
  if (value === null || typeof value !== 'object') return null;
  const config = value as Record<string, unknown>;
  if (config.type === 'Replace') {
    const pattern = config.pattern as Record<string, unknown> | undefined;
    if (pattern?.String === ' ' && typeof config.content === 'string' && [...config.content].length === 1) return config.content;
  }
  if (config.type === 'Sequence' && Array.isArray(config.normalizers)) {
    for (const inner of config.normalizers) {
      const found = findSpaceReplacement(inner);
      if (found) return found;
    }
  }
  return null;
}

export class HfTokenizer implements Tokenizer {
  readonly name = 'huggingface' as const;
  /** The model type of tokenizer.json ("BPE" or "WordPiece"). */
  readonly modelType: Model['type'];
  /** One more than the largest id of the vocabulary and the added tokens. */
  readonly vocabSize: number;
  private readonly model: Model;
  private readonly normalizer: Normalizer | null;
  private readonly preTokenize: PreTokenizer;
  private readonly specials: SpecialsAround;
  private readonly rawMatcher: AddedTokenMatcher;
  private readonly normalizedMatcher: AddedTokenMatcher;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly tokenById: string[];
  private readonly spelling: Spelling;
  private readonly displayById = new Map<number, string>();
  private readonly textDecoder = new TextDecoder('utf-8');

  private constructor(json: Record<string, unknown>, files: TokenizerFiles) {
    const root = new JsonPath(files.tokenizer, '');
    this.model = createModel(json.model, root.at('model'));
    this.modelType = this.model.type;
    this.normalizer = createNormalizer(json.normalizer, root.at('normalizer'));
    const pre = createPreTokenizer(json.pre_tokenizer, root.at('pre_tokenizer'));
    this.preTokenize = pre.preTokenize;
    this.specials = createPostProcessor(json.post_processor, root.at('post_processor'));
    this.spelling = pre.byteLevel ? { kind: 'byteLevel' } : { kind: 'plain', metaspace: pre.metaspace ?? findSpaceReplacement(json.normalizer) };

    const added = readAddedTokens(json.added_tokens, root.at('added_tokens'));
    for (const token of added) this.addedById.set(token.id, token);
    this.rawMatcher = new AddedTokenMatcher(added.filter((t) => !t.normalized).map((t) => [t.content, t] as const));
    this.normalizedMatcher = new AddedTokenMatcher(added.filter((t) => t.normalized).map((t) => [normalizeString(this.normalizer, t.content), t] as const));

    let size = 0;
    for (const id of this.model.vocab.values()) size = Math.max(size, id + 1);
    for (const token of added) size = Math.max(size, token.id + 1);
    for (const special of [...this.specials.before, ...this.specials.after]) size = Math.max(size, special.id + 1);
    this.vocabSize = size;
    this.tokenById = new Array<string>(size);
    for (const [token, id] of this.model.vocab) this.tokenById[id] = token;
    for (const special of [...this.specials.before, ...this.specials.after]) this.tokenById[special.id] ??= special.content;
    for (const token of added) this.tokenById[token.id] = token.content;
  }

  /**
   * A tokenizer from the parsed contents of tokenizer.json and (optionally) tokenizer_config.json.
   * Throws a UserError naming the file and the JSON path of anything malformed or unsupported.
   */
  static fromJson(tokenizerJson: unknown, configJson?: unknown, files: TokenizerFiles = { tokenizer: 'tokenizer.json', config: 'tokenizer_config.json' }): HfTokenizer {
    const json = asObject(tokenizerJson, new JsonPath(files.tokenizer, ''));
    if (json.model === undefined) throw new JsonPath(files.tokenizer, '').error('has no "model": it is not a Hugging Face tokenizers file (tokenizer.json as saved by `tokenizer.save()` or found in a model repository)');
    // tokenizer_config.json only tunes the Python wrappers; Rust's encode (our reference) does not read it.
    if (configJson !== undefined && configJson !== null) asObject(configJson, new JsonPath(files.config ?? 'tokenizer_config.json', ''));
    return new HfTokenizer(json, files);
  }

  /** Token ids only (the same as `encode(text).map(t => t.id)`). */
  encodeIds(text: string): number[] {
    return this.encode(text).map((t) => t.id);
  }

  encode(text: string): Token[] {
    // Lone surrogates cannot go through UTF-8; like the Rust binding, read them as U+FFFD (same length).
    const source = replaceLoneSurrogates(text);
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    const pushPart = (part: AlignedText, token: AddedToken): void => {
      ids.push(token.id);
      starts.push(part.starts[0]);
      ends.push(part.ends[part.length - 1]);
    };
    const out: ModelOutput = { ids: [], starts: [], ends: [] };
    for (const raw of this.rawMatcher.split(AlignedText.fromOriginal(source))) {
      if (raw.token) {
        pushPart(raw.text, raw.token);
        continue;
      }
      const normalized = this.normalizer ? this.normalizer(raw.text) : raw.text;
      for (const part of this.normalizedMatcher.split(normalized)) {
        if (part.token) {
          pushPart(part.text, part.token);
          continue;
        }
        for (const piece of this.preTokenize([part.text])) {
          out.ids.length = out.starts.length = out.ends.length = 0;
          this.model.tokenize(piece.text, out);
          for (let k = 0; k < out.ids.length; k++) {
            ids.push(out.ids[k]);
            starts.push(piece.starts[out.starts[k]]);
            ends.push(piece.ends[out.ends[k] - 1]);
          }
        }
      }
    }

    // Rules 2 and 3: monotone ranges, and characters no token holds join the token before them.
    for (let k = 0; k < ids.length; k++) {
      if (k === 0) starts[0] = 0;
      else {
        if (starts[k] < starts[k - 1]) starts[k] = starts[k - 1];
        if (starts[k] > ends[k - 1]) ends[k - 1] = starts[k];
        if (ends[k] < ends[k - 1]) ends[k] = ends[k - 1];
      }
      if (ends[k] < starts[k]) ends[k] = starts[k];
    }
    if (ids.length > 0) ends[ids.length - 1] = source.length;

    const tokens: Token[] = [];
    for (const special of this.specials.before) tokens.push({ id: special.id, text: displayText(special.content), start: 0, end: 0, special: true });
    for (let k = 0; k < ids.length; k++) tokens.push({ id: ids[k], text: this.displayId(ids[k]), start: starts[k], end: ends[k] });
    for (const special of this.specials.after) tokens.push({ id: special.id, text: displayText(special.content), start: source.length, end: source.length, special: true });
    return tokens;
  }

  /** The vocabulary's string for an id (as tokenizer.json spells it: "Ġworld", "▁the", "##ing", "<0xE2>"), or undefined. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.tokenById[id] : undefined;
  }

  /**
   * The text a token id stands for: byte-level bytes decoded as UTF-8, SentencePiece's ▁ as a space,
   * a byte-fallback token as its byte; bytes that are only part of a character decode to U+FFFD.
   * WordPiece continuations keep their "##". Used to show top next-token predictions.
   */
  decodeId(id: number): string {
    const token = this.tokenOf(id);
    const bytes = this.addedById.has(id) ? null : this.bytesOf(token);
    if (bytes !== null) return this.textDecoder.decode(Uint8Array.from(bytes, (c) => c.charCodeAt(0)));
    return this.withSpaces(id, token);
  }

  /** Display label of an id, the same as `Token.text` for it (visible whitespace, byte form for partial characters). */
  displayId(id: number): string {
    let label = this.displayById.get(id);
    if (label === undefined) {
      const token = this.tokenOf(id);
      const bytes = this.addedById.has(id) ? null : this.bytesOf(token);
      label = bytes !== null ? displayUtf8Bytes(bytes) : displayText(this.withSpaces(id, token));
      if (label === '') label = '∅';
      this.displayById.set(id, label);
    }
    return label;
  }

  /** SentencePiece's ▁ shown as the space it stands for (not in special tokens, which are shown as they are). */
  private withSpaces(id: number, token: string): string {
    const metaspace = this.spelling.kind === 'plain' ? this.spelling.metaspace : null;
    if (metaspace === null || this.addedById.get(id)?.special) return token;
    return token.replaceAll(metaspace, ' ');
  }

  private tokenOf(id: number): string {
    const token = this.idToToken(id);
    if (token === undefined) throw new RangeError(`token id ${id} is not in this tokenizer's vocabulary (ids 0 to ${this.vocabSize - 1})`);
    return token;
  }

  /** The token's bytes as a byte string (one char per byte) when it spells bytes: byte-level tokens and `<0xAB>` byte-fallback tokens. */
  private bytesOf(token: string): string | null {
    if (this.spelling.kind === 'byteLevel') {
      let bytes = '';
      for (const char of token) {
        const byte = CHAR_TO_BYTE.get(char);
        if (byte === undefined) return null;
        bytes += String.fromCharCode(byte);
      }
      return bytes;
    }
    if (this.model.byteFallback) {
      const match = BYTE_FALLBACK_TOKEN.exec(token);
      if (match) return String.fromCharCode(Number.parseInt(match[1], 16));
    }
    return null;
  }
}
