/** One token of the input, mapped back to the exact UTF-16 range of the source text it came from. */
export interface Token {
  /** Vocabulary id (GPT-2) or a stable id derived from the token's text (word, char). */
  readonly id: number;
  /** Display text: whitespace made visible (· for space, ↵ for newline, → for tab). */
  readonly text: string;
  /** UTF-16 offset of the first code unit covered (inclusive). */
  readonly start: number;
  /** UTF-16 offset just past the last code unit covered (exclusive). */
  readonly end: number;
}

export type TokenizerName = 'gpt2' | 'word' | 'char';

export interface Tokenizer {
  readonly name: TokenizerName;
  /** Splits `text` into tokens; offsets never go backwards and the last token ends at text.length. */
  encode(text: string): Token[];
  /** Raw text of a vocabulary id, where the tokenizer has a vocabulary (GPT-2); used for top-next tokens. */
  decodeId?(id: number): string;
}
