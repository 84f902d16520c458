// A simple word tokenizer for the random (untrained) model, which needs no real vocabulary.
//
// Tokens: a word (a letter, digit or underscore followed by letters, digits, underscores and combining
// marks — marks so that decomposed "café" stays one word), or a single other non-space code point with
// any combining marks / variation selectors after it (so "❤️" is one token). A run of whitespace is
// attached to the front of the token that follows it, like GPT-2's leading space (" cat"); whitespace
// at the very end of the text, where no token follows, is a token of its own.
//
// Ids are a hash of the token's raw text, whitespace included, so " cat" and "cat" differ (as in GPT-2)
// while the same raw text always gets the same id, across runs and machines.

import { displayText } from './display';
import type { Token, Tokenizer } from './types';

const WORD_TOKEN = /\s*(?:[\p{L}\p{N}_][\p{L}\p{M}\p{N}_]*|\S\p{M}*)|\s+/uy;

/** 32-bit FNV-1a over UTF-16 code units: stable, fast, and spreads similar words apart. Returns an unsigned integer. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export class WordTokenizer implements Tokenizer {
  readonly name = 'word' as const;

  encode(text: string): Token[] {
    const tokens: Token[] = [];
    // Sticky matching from the previous end guarantees contiguous tokens with no skipped text.
    const pattern = new RegExp(WORD_TOKEN);
    let start = 0;
    while (start < text.length) {
      pattern.lastIndex = start;
      const match = pattern.exec(text);
      if (match === null || match[0].length === 0) {
        throw new Error(`word tokenizer bug: no token matches at offset ${start} (code unit 0x${text.charCodeAt(start).toString(16)})`);
      }
      const raw = match[0];
      const end = start + raw.length;
      tokens.push({ id: fnv1a32(raw), text: displayText(raw), start, end });
      start = end;
    }
    return tokens;
  }
}
