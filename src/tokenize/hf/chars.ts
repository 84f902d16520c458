// Character classes as Hugging Face tokenizers (Rust) defines them, for code points.

const WHITE_SPACE = /\p{White_Space}/u;
const PUNCTUATION = /\p{P}/u;
const NUMERIC = /\p{N}/u;
const COMBINING_MARK = /\p{M}/u;
const NONSPACING_MARK = /\p{Mn}/u;
const OTHER = /[\p{Cc}\p{Cf}\p{Cn}\p{Co}\p{Cs}]/u;

function test(pattern: RegExp, codePoint: number): boolean {
  return pattern.test(String.fromCodePoint(codePoint));
}

/** Rust's `char::is_whitespace` (the White_Space property). */
export function isWhitespace(codePoint: number): boolean {
  if (codePoint < 0x80) return codePoint === 0x20 || (codePoint >= 0x09 && codePoint <= 0x0d);
  return test(WHITE_SPACE, codePoint);
}

/** `char::is_ascii_punctuation(c) || c.is_punctuation()`: BERT's and the Punctuation pre-tokenizer's test. */
export function isPunctuation(codePoint: number): boolean {
  if (codePoint < 0x80) return (codePoint >= 0x21 && codePoint <= 0x2f) || (codePoint >= 0x3a && codePoint <= 0x40) || (codePoint >= 0x5b && codePoint <= 0x60) || (codePoint >= 0x7b && codePoint <= 0x7e);
  return test(PUNCTUATION, codePoint);
}

/** Rust's `char::is_numeric` (general categories Nd, Nl, No). */
export function isNumeric(codePoint: number): boolean {
  if (codePoint < 0x80) return codePoint >= 0x30 && codePoint <= 0x39;
  return test(NUMERIC, codePoint);
}

/** General category M (StripAccents' `is_combining_mark`). */
export function isCombiningMark(codePoint: number): boolean {
  return codePoint >= 0x300 && test(COMBINING_MARK, codePoint);
}

/** General category Mn (BertNormalizer's accent stripping). */
export function isNonspacingMark(codePoint: number): boolean {
  return codePoint >= 0x300 && test(NONSPACING_MARK, codePoint);
}

/** BertNormalizer's control characters: categories Cc, Cf, Cn, Co, Cs except tab, newline, carriage return. */
export function isBertControl(codePoint: number): boolean {
  if (codePoint === 0x09 || codePoint === 0x0a || codePoint === 0x0d) return false;
  if (codePoint >= 0x20 && codePoint < 0x7f) return false;
  return test(OTHER, codePoint);
}

/** BertNormalizer's CJK ideographs (spaces are put around them). */
export function isChineseChar(codePoint: number): boolean {
  return (
    (codePoint >= 0x4e00 && codePoint <= 0x9fff) ||
    (codePoint >= 0x3400 && codePoint <= 0x4dbf) ||
    (codePoint >= 0x20000 && codePoint <= 0x2a6df) ||
    (codePoint >= 0x2a700 && codePoint <= 0x2b73f) ||
    (codePoint >= 0x2b740 && codePoint <= 0x2b81f) ||
    (codePoint >= 0x2b920 && codePoint <= 0x2ceaf) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0x2f800 && codePoint <= 0x2fa1f)
  );
}

/** The `regex` crate's Unicode `\w`, as a character-class body. */
export const RUST_WORD_CLASS = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';

const WORD_AT_END = new RegExp(`[${RUST_WORD_CLASS}]$`, 'u');
const WORD_AT_START = new RegExp(`^[${RUST_WORD_CLASS}]`, 'u');

/** Whether `text` ends with a word character (Rust regex `\w$`). */
export function endsWithWord(text: string): boolean {
  return WORD_AT_END.test(text);
}

/** Whether `text` starts with a word character (Rust regex `^\w`). */
export function startsWithWord(text: string): boolean {
  return WORD_AT_START.test(text);
}

/** Escapes `text` for use as a literal in a RegExp with the `u` flag (which allows escaping only syntax characters). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** GPT-2's byte → character table used by byte-level BPE (Ġ for space, Ċ for newline…). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : next++);
  }
  return table;
})();

/** The inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
