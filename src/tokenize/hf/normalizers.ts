// tokenizer.json normalizers, applied to aligned text with Hugging Face tokenizers' (Rust) semantics.

import { ReplaceNormalizer } from '@huggingface/tokenizers';
import { AlignedText } from './aligned';
import { escapeRegExp, isBertControl, isChineseChar, isCombiningMark, isNonspacingMark, isWhitespace } from './chars';
import { asArray, asObject, boolField, type JsonObject, type JsonPath, stringField, typeField, unsupported } from './config';

export type Normalizer = (text: AlignedText) => AlignedText;

export const SUPPORTED_NORMALIZERS = ['NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'Strip', 'StripAccents', 'Replace', 'Prepend', 'BertNormalizer', 'Nmt', 'Sequence'] as const;

/** A `{ String }` or `{ Regex }` pattern as a global JS RegExp; regexes are translated from Oniguruma by @huggingface/tokenizers. */
export function compilePattern(value: unknown, where: JsonPath): RegExp {
  const pattern = asObject(value, where);
  if (typeof pattern.String === 'string') return new RegExp(escapeRegExp(pattern.String), 'gu');
  if (typeof pattern.Regex === 'string') {
    let regex: RegExp | null;
    try {
      // The library's Replace normalizer compiles its pattern with the library's Oniguruma → JS translation.
      regex = (new ReplaceNormalizer({ type: 'Replace', pattern: { Regex: pattern.Regex }, content: '' } as never) as unknown as { pattern: RegExp | null }).pattern;
    } catch (error) {
      throw where.at('Regex').error(`is a regular expression JavaScript cannot run: ${(error as Error).message}`);
    }
    if (!regex) throw where.at('Regex').error('could not be compiled');
    return regex.flags.includes('g') ? regex : new RegExp(regex.source, `${regex.flags}g`);
  }
  throw where.error('must be {"String": "…"} or {"Regex": "…"}');
}

function bertNormalizer(config: JsonObject, where: JsonPath): Normalizer {
  const cleanText = boolField(config, 'clean_text', where, true);
  const handleChineseChars = boolField(config, 'handle_chinese_chars', where, true);
  const lowercase = boolField(config, 'lowercase', where, true);
  const stripAccents = boolField(config, 'strip_accents', where, lowercase);
  return (text) => {
    let t = text;
    // Rust's BERT whitespace (tab, newline, carriage return, White_Space) is White_Space.
    if (cleanText) t = t.mapCodePoints((cp, char) => (cp === 0 || cp === 0xfffd || isBertControl(cp) ? '' : isWhitespace(cp) ? ' ' : char));
    if (handleChineseChars) t = t.mapCodePoints((cp, char) => (isChineseChar(cp) ? ` ${char} ` : char));
    if (stripAccents) t = t.normalizeUnicode('NFD').filter((cp) => !isNonspacingMark(cp));
    if (lowercase) t = lowercaseText(t);
    return t;
  };
}

/** Rust lowercases character by character (no final-sigma rule, unlike String.prototype.toLowerCase on a whole string). */
function lowercaseText(text: AlignedText): AlignedText {
  return text.mapCodePoints((cp, char) => (cp < 0x80 ? (cp >= 0x41 && cp <= 0x5a ? String.fromCharCode(cp + 32) : char) : char.toLowerCase()));
}

// Rust's Nmt normalizer: drops some control characters and maps others to a space.
function nmt(text: AlignedText): AlignedText {
  return text.mapCodePoints((cp, char) => {
    if ((cp >= 0x01 && cp <= 0x08) || cp === 0x0b || (cp >= 0x0e && cp <= 0x1f) || cp === 0x7f || cp === 0x8f || cp === 0x9f) return '';
    if (cp === 0x09 || cp === 0x0a || cp === 0x0c || cp === 0x0d || cp === 0x1680 || (cp >= 0x200b && cp <= 0x200f) || cp === 0x2028 || cp === 0x2029 || cp === 0x2581 || cp === 0xfeff || cp === 0xfffd) return ' ';
    return char;
  });
}

/** The normalizer described by `value` (null: none). */
export function createNormalizer(value: unknown, where: JsonPath): Normalizer | null {
  if (value === null || value === undefined) return null;
  const config = asObject(value, where);
  const type = typeField(config, where);
  switch (type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (text) => text.normalizeUnicode(type);
    case 'Lowercase':
      return lowercaseText;
    case 'Strip': {
      const left = boolField(config, 'strip_left', where, false);
      const right = boolField(config, 'strip_right', where, false);
      return (text) => text.strip(left, right, isWhitespace);
    }
    case 'StripAccents':
      return (text) => text.filter((cp) => !isCombiningMark(cp));
    case 'Replace': {
      const pattern = compilePattern(config.pattern, where.at('pattern'));
      const content = stringField(config, 'content', where);
      return (text) => text.replace(pattern, content);
    }
    case 'Prepend': {
      const prefix = stringField(config, 'prepend', where);
      return (text) => text.prepend(prefix);
    }
    case 'BertNormalizer':
      return bertNormalizer(config, where);
    case 'Nmt':
      return nmt;
    case 'Sequence': {
      const parts = asArray(config.normalizers, where.at('normalizers'))
        .map((part, i) => createNormalizer(part, where.at('normalizers').at(i)))
        .filter((n): n is Normalizer => n !== null);
      return (text) => parts.reduce((t, normalize) => normalize(t), text);
    }
    case 'Precompiled':
      throw unsupported(where, 'normalizer', type, SUPPORTED_NORMALIZERS, 'Precompiled holds a SentencePiece character map (T5, ALBERT, XLM-RoBERTa); its exact normalization is not reproduced here.');
    default:
      throw unsupported(where, 'normalizer', type, SUPPORTED_NORMALIZERS);
  }
}

/** Normalizes a plain string (used for added tokens marked `normalized`). */
export function normalizeString(normalizer: Normalizer | null, text: string): string {
  return normalizer ? normalizer(AlignedText.fromOriginal(text)).text : text;
}
