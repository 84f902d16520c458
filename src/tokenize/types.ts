/** One token of the input, mapped back to the exact UTF-16 range of the source text it came from. */
export interface Token {
  /** Vocabulary id (GPT-2) or a stable id derived from the token's text (word, char). */
  readonly id: number;
  /**
   * Display text: whitespace made visible (· space, ↵ newline, ␍ carriage return, → tab); GPT-2 bytes
   * that are only part of a character are shown in byte form, e.g. `<0xF0><0x9F>`.
   */
  readonly text: string;
  /** UTF-16 offset of the first code unit covered (inclusive). */
  readonly start: number;
  /** UTF-16 offset just past the last code unit covered (exclusive). */
  readonly end: number;
  /**
   * A special token the tokenizer adds around the text (BOS, [CLS], [SEP]…), not typed in it: its
   * range is empty (start = end) where it sits, 0 before the text or text.length after it.
   */
  readonly special?: boolean;
}

export type TokenizerName = 'gpt2' | 'word' | 'char';

export const TOKENIZER_NAMES: readonly TokenizerName[] = ['gpt2', 'word', 'char'];

/** What kind of tokenizer an instance is: a built-in one, or one read from a model's tokenizer.json. */
export type TokenizerKind = TokenizerName | 'huggingface';

export function isTokenizerName(value: unknown): value is TokenizerName {
  return typeof value === 'string' && (TOKENIZER_NAMES as readonly string[]).includes(value);
}

export interface Tokenizer {
  readonly name: TokenizerKind;
  /** Splits `text` into tokens; offsets never go backwards and the last token ends at text.length. */
  encode(text: string): Token[];
  /** Raw text of a vocabulary id, where the tokenizer has a vocabulary (GPT-2, tokenizer.json); used for top-next tokens. */
  decodeId?(id: number): string;
  /** How an id is shown: visible whitespace, byte form (<0xC4>) for part of a character; where the tokenizer has a vocabulary. */
  displayId?(id: number): string;
}
