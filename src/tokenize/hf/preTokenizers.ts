// tokenizer.json pre-tokenizers: split aligned text into the pieces the model encodes one by one,
// with Hugging Face tokenizers' (Rust) semantics.

import { type AlignedText, charSegments, regexSegments, type Segments, type SplitBehavior, splitAligned, codePointUnits } from './aligned';
import { BYTE_TO_CHAR, isNumeric, isPunctuation, isWhitespace, RUST_WORD_CLASS } from './chars';
import { asArray, asObject, boolField, intField, type JsonObject, type JsonPath, stringField, typeField, unsupported } from './config';
import { compilePattern } from './normalizers';

export type PreTokenizer = (pieces: AlignedText[]) => AlignedText[];

export interface PreTokenizerInfo {
  readonly preTokenize: PreTokenizer;
  /** Some step maps text to GPT-2's byte-level alphabet (the vocabulary is byte-level). */
  readonly byteLevel: boolean;
  /** Metaspace's replacement character, when a Metaspace step is present. */
  readonly metaspace: string | null;
}

export const SUPPORTED_PRE_TOKENIZERS = ['ByteLevel', 'Split', 'Metaspace', 'Whitespace', 'WhitespaceSplit', 'BertPreTokenizer', 'Punctuation', 'Digits', 'CharDelimiterSplit', 'FixedLength', 'Sequence'] as const;

const SPLIT_BEHAVIORS: readonly SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

// GPT-2's pre-tokenization regex as ByteLevel uses it (Rust compiles it with Oniguruma; compilePattern translates it).
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// The regex crate's `\w+|[^\w\s]+`, with its Unicode \w and \s.
const WHITESPACE_PATTERN = new RegExp(`[${RUST_WORD_CLASS}]+|[^${RUST_WORD_CLASS}\\p{White_Space}]+`, 'gu');

function behaviorField(config: JsonObject, where: JsonPath, fallback: SplitBehavior): SplitBehavior {
  const value = stringField(config, 'behavior', where, fallback);
  // Rust accepts the enum names; older files may use lowercase.
  const behavior = SPLIT_BEHAVIORS.find((b) => b.toLowerCase() === value.toLowerCase());
  if (!behavior) throw where.at('behavior').error(`must be one of ${SPLIT_BEHAVIORS.join(', ')}, found ${JSON.stringify(value)}`);
  return behavior;
}

function eachPiece(split: (piece: AlignedText) => AlignedText[]): PreTokenizer {
  return (pieces) => {
    const out: AlignedText[] = [];
    for (const piece of pieces) for (const part of split(piece)) if (part.length > 0) out.push(part);
    return out;
  };
}

function invert(segments: Segments): Segments {
  return segments.map(([s, e, isMatch]) => [s, e, !isMatch]);
}

function byteLevel(config: JsonObject, where: JsonPath): PreTokenizer {
  const addPrefixSpace = boolField(config, 'add_prefix_space', where, true);
  const useRegex = boolField(config, 'use_regex', where, true);
  const pattern = useRegex ? compilePattern({ Regex: GPT2_PATTERN }, where) : null;
  return (pieces) => {
    const out: AlignedText[] = [];
    for (let piece of pieces) {
      if (addPrefixSpace && !piece.text.startsWith(' ')) piece = piece.prepend(' ');
      const parts = pattern ? splitAligned(piece, regexSegments(piece.text, pattern), 'Isolated') : [piece];
      for (const part of parts) if (part.length > 0) out.push(part.toByteLevel(BYTE_TO_CHAR));
    }
    return out;
  };
}

function metaspace(config: JsonObject, where: JsonPath): { preTokenize: PreTokenizer; replacement: string } {
  const replacement = stringField(config, 'replacement', where, '\u2581');
  if ([...replacement].length !== 1) throw where.at('replacement').error(`must be a single character, found ${JSON.stringify(replacement)}`);
  let scheme = stringField(config, 'prepend_scheme', where, 'always');
  if (config.add_prefix_space === false) scheme = 'never';
  if (!['always', 'first', 'never'].includes(scheme)) throw where.at('prepend_scheme').error(`must be "always", "first" or "never", found ${JSON.stringify(scheme)}`);
  const split = boolField(config, 'split', where, true);
  const replacementCode = replacement.codePointAt(0) as number;
  return {
    replacement,
    preTokenize: eachPiece((piece) => {
      let text = piece.mapCodePoints((cp, char) => (cp === 0x20 ? replacement : char));
      if (!text.text.startsWith(replacement) && (scheme === 'always' || (scheme === 'first' && text.originalStart === 0))) text = text.prepend(replacement);
      return split ? splitAligned(text, charSegments(text.text, (cp) => cp === replacementCode), 'MergedWithNext') : [text];
    }),
  };
}

function fixedLength(length: number): PreTokenizer {
  return eachPiece((piece) => {
    const parts: AlignedText[] = [];
    const text = piece.text;
    let start = 0;
    let count = 0;
    for (let i = 0; i < text.length; ) {
      i += codePointUnits(text, i);
      if (++count === length || i === text.length) {
        parts.push(piece.slice(start, i));
        start = i;
        count = 0;
      }
    }
    return parts;
  });
}

/** The pre-tokenizer described by `value` (null: the whole text is one piece). */
export function createPreTokenizer(value: unknown, where: JsonPath): PreTokenizerInfo {
  if (value === null || value === undefined) return { preTokenize: (pieces) => pieces, byteLevel: false, metaspace: null };
  const config = asObject(value, where);
  const type = typeField(config, where);
  const plain = (preTokenize: PreTokenizer): PreTokenizerInfo => ({ preTokenize, byteLevel: false, metaspace: null });
  switch (type) {
    case 'ByteLevel':
      return { preTokenize: byteLevel(config, where), byteLevel: true, metaspace: null };
    case 'Split': {
      const pattern = compilePattern(config.pattern, where.at('pattern'));
      const behavior = behaviorField(config, where, 'Isolated');
      const inverted = boolField(config, 'invert', where, false);
      return plain(
        eachPiece((piece) => {
          const segments = regexSegments(piece.text, pattern);
          return splitAligned(piece, inverted ? invert(segments) : segments, behavior);
        }),
      );
    }
    case 'Metaspace': {
      const { preTokenize, replacement } = metaspace(config, where);
      return { preTokenize, byteLevel: false, metaspace: replacement };
    }
    case 'Whitespace':
      return plain(eachPiece((piece) => splitAligned(piece, invert(regexSegments(piece.text, WHITESPACE_PATTERN)), 'Removed')));
    case 'WhitespaceSplit':
      return plain(eachPiece((piece) => splitAligned(piece, charSegments(piece.text, isWhitespace), 'Removed')));
    case 'BertPreTokenizer':
      return plain(
        eachPiece((piece) => splitAligned(piece, charSegments(piece.text, isWhitespace), 'Removed').flatMap((part) => splitAligned(part, charSegments(part.text, isPunctuation), 'Isolated'))),
      );
    case 'Punctuation': {
      const behavior = behaviorField(config, where, 'Isolated');
      return plain(eachPiece((piece) => splitAligned(piece, charSegments(piece.text, isPunctuation), behavior)));
    }
    case 'Digits': {
      const behavior: SplitBehavior = boolField(config, 'individual_digits', where, false) ? 'Isolated' : 'Contiguous';
      return plain(eachPiece((piece) => splitAligned(piece, charSegments(piece.text, isNumeric), behavior)));
    }
    case 'CharDelimiterSplit': {
      const delimiter = stringField(config, 'delimiter', where);
      if ([...delimiter].length !== 1) throw where.at('delimiter').error(`must be a single character, found ${JSON.stringify(delimiter)}`);
      const code = delimiter.codePointAt(0) as number;
      return plain(eachPiece((piece) => splitAligned(piece, charSegments(piece.text, (cp) => cp === code), 'Removed')));
    }
    case 'FixedLength': {
      const length = intField(config, 'length', where, 5);
      if (length === 0) throw where.at('length').error('must be at least 1');
      return plain(fixedLength(length));
    }
    case 'Sequence': {
      const steps = asArray(config.pretokenizers, where.at('pretokenizers')).map((step, i) => createPreTokenizer(step, where.at('pretokenizers').at(i)));
      return {
        preTokenize: (pieces) => steps.reduce((current, step) => step.preTokenize(current), pieces),
        byteLevel: steps.some((s) => s.byteLevel),
        metaspace: steps.find((s) => s.metaspace !== null)?.metaspace ?? null,
      };
    }
    default:
      throw unsupported(where, 'pre-tokenizer', type, SUPPORTED_PRE_TOKENIZERS);
  }
}
