// Added tokens (tokenizer.json's `added_tokens`: <s>, <|im_start|>, [MASK]…) found in the text and
// split out before anything else, as Hugging Face tokenizers' AddedVocabulary does: leftmost-longest
// matches, `single_word`, `lstrip` and `rstrip` (the stripped whitespace belongs to the added token).

import type { AlignedText } from './aligned';
import { endsWithWord, isWhitespace, startsWithWord } from './chars';
import { asArray, asObject, boolField, intField, type JsonPath, stringField } from './config';

export interface AddedToken {
  readonly id: number;
  readonly content: string;
  readonly singleWord: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly normalized: boolean;
  readonly special: boolean;
}

export function readAddedTokens(value: unknown, where: JsonPath): AddedToken[] {
  if (value === undefined || value === null) return [];
  return asArray(value, where).map((item, i) => {
    const at = where.at(i);
    const config = asObject(item, at);
    const special = boolField(config, 'special', at, false);
    return {
      id: intField(config, 'id', at),
      content: stringField(config, 'content', at),
      singleWord: boolField(config, 'single_word', at, false),
      lstrip: boolField(config, 'lstrip', at, false),
      rstrip: boolField(config, 'rstrip', at, false),
      normalized: boolField(config, 'normalized', at, !special),
      special,
    };
  });
}

interface TrieNode {
  readonly children: Map<number, TrieNode>;
  token: AddedToken | null;
}

/** A piece of text: an added token (`token` set) or text still to be normalized/pre-tokenized. */
export interface TextPart {
  readonly text: AlignedText;
  readonly token: AddedToken | null;
}

/** Finds one set of added tokens (those matched before or after normalization) in text. */
export class AddedTokenMatcher {
  private readonly root: TrieNode = { children: new Map(), token: null };
  private readonly empty: boolean;

  /** `patterns`: the text to look for and the token it stands for. */
  constructor(patterns: ReadonlyArray<readonly [string, AddedToken]>) {
    for (const [pattern, token] of patterns) {
      if (pattern.length === 0) continue;
      let node = this.root;
      for (let i = 0; i < pattern.length; i++) {
        const unit = pattern.charCodeAt(i);
        let child = node.children.get(unit);
        if (!child) {
          child = { children: new Map(), token: null };
          node.children.set(unit, child);
        }
        node = child;
      }
      node.token = token;
    }
    this.empty = this.root.children.size === 0;
  }

  /** Splits `aligned` into added tokens and the text between them (empty parts dropped). */
  split(aligned: AlignedText): TextPart[] {
    const text = aligned.text;
    if (this.empty || text.length === 0) return text.length === 0 ? [] : [{ text: aligned, token: null }];
    const parts: TextPart[] = [];
    const push = (start: number, end: number, token: AddedToken | null): void => {
      if (end > start) parts.push({ text: aligned.slice(start, end), token });
    };
    let startOffset = 0;
    let i = 0;
    while (i < text.length) {
      // Longest match starting at i.
      let node: TrieNode | undefined = this.root;
      let matchEnd = -1;
      let matchToken: AddedToken | null = null;
      for (let j = i; j < text.length; j++) {
        node = node.children.get(text.charCodeAt(j));
        if (!node) break;
        if (node.token) {
          matchEnd = j + 1;
          matchToken = node.token;
        }
      }
      if (matchToken === null) {
        i++;
        continue;
      }
      let start = i;
      let stop = matchEnd;
      // The search goes on after the match, whether the match is kept or not (as Rust's matcher does).
      i = matchEnd;
      if (matchToken.singleWord) {
        const startSpace = start === 0 || !endsWithWord(text.slice(0, start));
        const stopSpace = stop === text.length || !startsWithWord(text.slice(stop));
        if (!startSpace || !stopSpace) continue;
      }
      if (matchToken.lstrip) {
        let newStart = start;
        while (newStart > 0) {
          const low = text.charCodeAt(newStart - 1);
          const units = low >= 0xdc00 && low <= 0xdfff && newStart >= 2 ? 2 : 1;
          if (!isWhitespace(text.codePointAt(newStart - units) as number)) break;
          newStart -= units;
        }
        start = Math.max(newStart, startOffset);
      }
      if (matchToken.rstrip) {
        while (stop < text.length) {
          const codePoint = text.codePointAt(stop) as number;
          if (!isWhitespace(codePoint)) break;
          stop += codePoint > 0xffff ? 2 : 1;
        }
      }
      if (startOffset < start) push(startOffset, start, null);
      push(start, stop, matchToken);
      startOffset = stop;
    }
    if (startOffset < text.length) push(startOffset, text.length, null);
    return parts;
  }
}
