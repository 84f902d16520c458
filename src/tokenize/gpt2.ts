// GPT-2 byte-level BPE (the r50k "gpt2" vocabulary: 50,256 merges + <|endoftext|> = 50,257 ids).
//
// The vocabulary and pre-tokenization pattern come from js-tiktoken's `gpt2` rank file (only that file
// is bundled). The merging itself is done here (see bpe.ts) rather than with js-tiktoken's Tiktoken
// class because we need each token's bytes to map it back to source offsets, and because Tiktoken's
// merge loop is super-linear on long pieces. The unit tests check ids against js-tiktoken's encode.
//
// Lone surrogates in the input (possible in editor text) are encoded as U+FFFD, as TextEncoder does;
// such a token's range still covers the surrogate's one code unit, and its display text is `�`.

import gpt2Ranks from 'js-tiktoken/ranks/gpt2';
import { bytePairEncode } from './bpe';
import { displayText } from './display';
import type { Token, Tokenizer } from './types';
import { byteStringToBytes, displayUtf8Bytes, utf8ByteString, Utf8ToUtf16Cursor } from './utf8';

export const GPT2_END_OF_TEXT = '<|endoftext|>';
export const GPT2_END_OF_TEXT_ID = 50256;
export const GPT2_VOCAB_SIZE = 50257;

interface Gpt2Vocabulary {
  /** Byte string → id, for every mergeable token (not the special token). */
  readonly ranks: Map<string, number>;
  /** id → the token's bytes as a byte string, special token included. */
  readonly bytesById: string[];
  /** Pre-tokenization pattern, split into pieces before merging. */
  readonly piecePattern: RegExp;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64_ALPHABET.length; i++) BASE64_VALUES[BASE64_ALPHABET.charCodeAt(i)] = i;

/** Decodes standard base64 (with `=` padding) into a byte string. */
function base64ToByteString(base64: string): string {
  let bytes = '';
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < base64.length; i++) {
    const code = base64.charCodeAt(i);
    if (code === 0x3d /* = */) break;
    const value = code < 128 ? BASE64_VALUES[code] : -1;
    if (value < 0) throw new Error(`GPT-2 vocabulary: invalid base64 character ${JSON.stringify(base64[i])} in "${base64}"`);
    buffer = ((buffer << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += String.fromCharCode((buffer >> bits) & 0xff);
    }
  }
  return bytes;
}

function loadVocabulary(): Gpt2Vocabulary {
  const ranks = new Map<string, number>();
  const bytesById: string[] = new Array<string>(GPT2_VOCAB_SIZE);
  // Each line is "<first char> <first id> <base64 token> <base64 token> …" with consecutive ids.
  for (const line of gpt2Ranks.bpe_ranks.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const firstId = Number.parseInt(fields[1], 10);
    for (let k = 2; k < fields.length; k++) {
      const bytes = base64ToByteString(fields[k]);
      const id = firstId + k - 2;
      ranks.set(bytes, id);
      bytesById[id] = bytes;
    }
  }
  for (const [special, id] of Object.entries(gpt2Ranks.special_tokens)) bytesById[id] = utf8ByteString(special);
  for (let id = 0; id < GPT2_VOCAB_SIZE; id++) {
    if (bytesById[id] === undefined) throw new Error(`GPT-2 vocabulary from js-tiktoken is incomplete: no token with id ${id}`);
  }
  return { ranks, bytesById, piecePattern: new RegExp(gpt2Ranks.pat_str, 'gu') };
}

// Parsing the 50k-entry vocabulary takes ~100 ms, so it happens once, on first use.
let sharedVocabulary: Gpt2Vocabulary | undefined;
function vocabulary(): Gpt2Vocabulary {
  sharedVocabulary ??= loadVocabulary();
  return sharedVocabulary;
}

/**
 * GPT-2 tokenizer. `<|endoftext|>` anywhere in the text becomes the special token 50256.
 *
 * Offsets: a token that holds only part of a character's UTF-8 bytes (emoji and many CJK characters
 * are split across tokens) gets the whole character's range, so consecutive tokens may share a
 * range or overlap by that one character; starts never go backwards and the last token ends at
 * text.length. Display text: complete characters decoded with whitespace made visible; bytes of
 * an incomplete character in byte form, e.g. `<0xF0><0x9F>` then `<0x8D><0xB5>` for 🍵 split in two.
 */
export class Gpt2Tokenizer implements Tokenizer {
  readonly name = 'gpt2' as const;
  private readonly displayById = new Map<number, string>();
  private readonly textDecoder = new TextDecoder('utf-8');

  /** Token ids only, without offsets or labels. */
  encodeIds(text: string): number[] {
    return this.encodeIdsAndByteLengths(text).ids;
  }

  encode(text: string): Token[] {
    const { ids, byteLengths } = this.encodeIdsAndByteLengths(text);
    const cursor = new Utf8ToUtf16Cursor(text);
    const tokens: Token[] = new Array<Token>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const { start, end } = cursor.take(byteLengths[i]);
      tokens[i] = { id: ids[i], text: this.displayId(ids[i]), start, end };
    }
    const lastEnd = tokens.length > 0 ? tokens[tokens.length - 1].end : 0;
    if (lastEnd !== text.length) {
      throw new Error(`GPT-2 tokenizer bug: tokens cover ${cursor.bytesTaken} UTF-8 bytes ending at offset ${lastEnd}, but the text has length ${text.length}`);
    }
    return tokens;
  }

  /** Raw text of a token id; bytes of an incomplete UTF-8 character decode to U+FFFD (like js-tiktoken's decode). */
  decodeId(id: number): string {
    return this.textDecoder.decode(byteStringToBytes(this.bytesOf(id)));
  }

  /** Display label of a token id, the same as `Token.text` for that id (visible whitespace, byte form for partial characters). */
  displayId(id: number): string {
    let label = this.displayById.get(id);
    if (label === undefined) {
      label = id === GPT2_END_OF_TEXT_ID ? displayText(GPT2_END_OF_TEXT) : displayUtf8Bytes(this.bytesOf(id));
      this.displayById.set(id, label);
    }
    return label;
  }

  /** The token's bytes, one char (0–255) per byte. */
  bytesOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) {
      throw new RangeError(`GPT-2 token id must be an integer in [0, ${GPT2_VOCAB_SIZE - 1}], got ${id}`);
    }
    return vocabulary().bytesById[id];
  }

  private encodeIdsAndByteLengths(text: string): { ids: number[]; byteLengths: number[] } {
    const { ranks, piecePattern } = vocabulary();
    const ids: number[] = [];
    const byteLengths: number[] = [];
    let segmentStart = 0;
    while (segmentStart <= text.length) {
      const special = text.indexOf(GPT2_END_OF_TEXT, segmentStart);
      const segmentEnd = special === -1 ? text.length : special;
      // Match within the segment alone, as tiktoken does: the `\s+(?!\S)` lookahead must not see past a special token.
      const segment = text.slice(segmentStart, segmentEnd);
      piecePattern.lastIndex = 0;
      for (const match of segment.matchAll(piecePattern)) {
        bytePairEncode(utf8ByteString(match[0]), ranks, ids, byteLengths);
      }
      if (special === -1) break;
      ids.push(GPT2_END_OF_TEXT_ID);
      byteLengths.push(GPT2_END_OF_TEXT.length);
      segmentStart = special + GPT2_END_OF_TEXT.length;
    }
    return { ids, byteLengths };
  }
}
