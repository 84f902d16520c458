// One token per Unicode code point: a surrogate pair is one token covering two UTF-16 code units; a
// lone surrogate is a token of one code unit with its code unit value as id, displayed as U+FFFD.
// (Code points rather than grapheme clusters, so ids stay plain code points.)

import { displayText } from './display';
import type { Token, Tokenizer } from './types';

const MAX_CODE_POINT = 0x10ffff;

export class CharTokenizer implements Tokenizer {
  readonly name = 'char' as const;

  encode(text: string): Token[] {
    const tokens: Token[] = [];
    let start = 0;
    while (start < text.length) {
      // codePointAt pairs a valid surrogate pair and returns a lone surrogate's own value.
      const codePoint = text.codePointAt(start) as number;
      const end = start + (codePoint > 0xffff ? 2 : 1);
      tokens.push({ id: codePoint, text: displayText(text.slice(start, end)), start, end });
      start = end;
    }
    return tokens;
  }

  /** The character with this code point (a lone surrogate id gives that lone surrogate back). */
  decodeId(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id > MAX_CODE_POINT) {
      throw new RangeError(`char token id must be a Unicode code point in [0, 0x10FFFF], got ${id}`);
    }
    return String.fromCodePoint(id);
  }
}
