// Hugging Face tokenizers (the Rust library, through its Node binding `tokenizers`) as the reference.
//
// The binding's offsets are in characters (Unicode code points) of the input, a token holding part of
// a character already widened to the whole character; a lone surrogate reaches Rust as U+FFFD, one
// character. `expectedTokens` converts them to UTF-16 offsets and applies the documented rules of
// src/tokenize/hf/tokenizer.ts (written again here, independently): a group of characters that
// Unicode normalization changes as a whole (a character and the marks after it, composed or
// reordered) counts as one character, ranges never go backwards, characters no token holds join the token before them (the
// first token at the start), special tokens sit at 0 before the text and at text.length after it.

import { Tokenizer as RustTokenizer } from 'tokenizers';
import { withoutTrimOffsets, type Json } from './fixtures';

export interface ExpectedToken {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  readonly special: boolean;
}

export interface RustEncoding {
  readonly ids: number[];
  readonly special: boolean[];
  readonly offsets: Array<[number, number]>;
  readonly tokens: string[];
}

export interface Reference {
  /** Ids, special-token mask and offsets of Rust's `encode(text)` (add_special_tokens = true). */
  encode(text: string): Promise<RustEncoding>;
  /** How many special tokens the post-processor puts before the text (learnt from encoding "a"). */
  specialsBefore(): Promise<number>;
}

/** The reference for a tokenizer.json; offsets come from the same file with trim_offsets off (ids are checked on the file as is). */
export function rustReference(json: Json): Reference {
  const exact = RustTokenizer.fromString(JSON.stringify(json));
  const untrimmed = RustTokenizer.fromString(JSON.stringify(withoutTrimOffsets(json)));
  let before: number | undefined;
  return {
    async specialsBefore() {
      if (before === undefined) {
        const mask = (await exact.encode('a')).getSpecialTokensMask();
        before = Math.max(0, mask.indexOf(0));
      }
      return before;
    },
    async encode(text) {
      const [a, b] = await Promise.all([exact.encode(text), untrimmed.encode(text)]);
      const ids = a.getIds();
      if (JSON.stringify(b.getIds()) !== JSON.stringify(ids)) throw new Error('trim_offsets changed the ids');
      return {
        ids,
        special: a.getSpecialTokensMask().map((m) => m === 1),
        offsets: b.getOffsets().map(([s, e]) => [s, e] as [number, number]),
        tokens: a.getTokens(),
      };
    },
  };
}

export type UnicodeForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

/** Id → content of the added tokens matched in the raw text (not normalized). */
export function rawAddedTokens(json: Json): Map<number, string> {
  const tokens = (json.added_tokens ?? []) as Array<{ id: number; content: string; normalized?: boolean; special?: boolean }>;
  return new Map(tokens.filter((t) => !(t.normalized ?? !t.special)).map((t) => [t.id, t.content]));
}

/** The Unicode normalizations a tokenizer.json applies: NF* normalizers, and BertNormalizer's accent stripping (NFD). */
export function unicodeForms(json: Json): UnicodeForm[] {
  const forms: UnicodeForm[] = [];
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    const config = value as Json;
    if (config.type === 'NFC' || config.type === 'NFD' || config.type === 'NFKC' || config.type === 'NFKD') forms.push(config.type);
    if (config.type === 'BertNormalizer' && (config.strip_accents ?? config.lowercase ?? true)) forms.push('NFD');
    if (Array.isArray(config.normalizers)) config.normalizers.forEach(visit);
  };
  visit(json.normalizer);
  return forms;
}

/** Whether `char` normalizes together with `previous` under `form`: a mark; a jamo after what it composes with (NFC, NFKC); a kana voicing mark (NFKC, NFKD). */
function joinsGroup(char: string, previous: string, form: UnicodeForm): boolean {
  const c = char.codePointAt(0) as number;
  const p = previous.codePointAt(0) as number;
  const composing = form === 'NFC' || form === 'NFKC';
  const isL = p >= 0x1100 && p <= 0x1112;
  const isV = (x: number) => x >= 0x1161 && x <= 0x1175;
  const isLV = p >= 0xac00 && p <= 0xd7a3 && (p - 0xac00) % 28 === 0;
  if (isV(c)) return composing && isL;
  if (c >= 0x11a8 && c <= 0x11c2) return composing && (isV(p) || isLV);
  if (c === 0xff9e || c === 0xff9f) return form === 'NFKC' || form === 'NFKD';
  return /^\p{M}$/u.test(char);
}

/**
 * UTF-16 ranges of the groups (a character and the marks after it, within one stretch of text between
 * added tokens) that one of `forms` changes other than character by character (composed, reordered).
 */
export function changedGroups(text: string, forms: readonly UnicodeForm[], cuts: ReadonlyArray<readonly [number, number]> = []): Array<[number, number]> {
  const groups: Array<[number, number]> = [];
  const isCut = (offset: number): boolean => cuts.some(([s, e]) => offset === s || offset === e);
  for (const form of forms) {
    let start = 0;
    let at = 0;
    let previous = '';
    const close = (end: number): void => {
      const group = text.slice(start, end);
      if (end > start && group.normalize(form) !== [...group].map((c) => c.normalize(form)).join('')) groups.push([start, end]);
    };
    for (const char of text) {
      if (at > 0 && (!joinsGroup(char, previous, form) || isCut(at))) {
        close(at);
        start = at;
      }
      previous = char;
      at += char.length;
    }
    close(at);
  }
  return groups;
}

/** UTF-16 offset of each code point index of `text` (lone surrogates count as one code point). */
function codePointToUtf16(text: string): number[] {
  const map: number[] = [];
  let unit = 0;
  for (const char of text) {
    map.push(unit);
    unit += char.length;
  }
  map.push(unit);
  return map;
}

/** The tokens our tokenizer must produce, from Rust's encoding of `text`. */
export function expectedTokens(text: string, rust: RustEncoding, specialsBefore: number, forms: readonly UnicodeForm[] = [], rawAdded: ReadonlyMap<number, string> = new Map()): ExpectedToken[] {
  const toUnit = codePointToUtf16(text);
  // Added tokens matched in the raw text (their content is in their range: a model's [UNK] has the
  // same id but not the text) cut it into stretches normalized separately.
  const cuts = rust.ids.flatMap((id, i) => {
    const [start, end] = [toUnit[rust.offsets[i][0]], toUnit[rust.offsets[i][1]]];
    const content = rawAdded.get(id);
    return !rust.special[i] && content !== undefined && text.slice(start, end).includes(content) ? [[start, end] as const] : [];
  });
  const groups = forms.length > 0 ? changedGroups(text, forms, cuts) : [];
  const firstText = rust.special.indexOf(false);
  const starts: number[] = [];
  const ends: number[] = [];
  rust.ids.forEach((_, i) => {
    if (!rust.special[i]) {
      let start = toUnit[rust.offsets[i][0]];
      let end = toUnit[rust.offsets[i][1]];
      for (const [groupStart, groupEnd] of groups) {
        if (groupStart < end && start < groupEnd) {
          start = Math.min(start, groupStart);
          end = Math.max(end, groupEnd);
        }
      }
      starts.push(start);
      ends.push(end);
    }
  });
  for (let k = 0; k < starts.length; k++) {
    if (k === 0) starts[k] = 0;
    else {
      starts[k] = Math.max(starts[k], starts[k - 1]);
      if (starts[k] > ends[k - 1]) ends[k - 1] = starts[k];
      ends[k] = Math.max(ends[k], ends[k - 1]);
    }
    ends[k] = Math.max(ends[k], starts[k]);
  }
  if (starts.length > 0) ends[starts.length - 1] = text.length;
  let k = 0;
  return rust.ids.map((id, i) => {
    if (rust.special[i]) {
      const at = (firstText === -1 ? i < specialsBefore : i < firstText) ? 0 : text.length;
      return { id, start: at, end: at, special: true };
    }
    const token = { id, start: starts[k], end: ends[k], special: false };
    k++;
    return token;
  });
}
