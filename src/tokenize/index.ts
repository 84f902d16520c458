// Entry point for tokenizers: pick one by name.

import { CharTokenizer } from './char';
import { Gpt2Tokenizer } from './gpt2';
import { TOKENIZER_NAMES, type Tokenizer, type TokenizerName } from './types';
import { WordTokenizer } from './word';

export type { Token, Tokenizer, TokenizerKind, TokenizerName } from './types';
export { CharTokenizer } from './char';
export { byteLabel, displayText, replaceLoneSurrogates, visibleWhitespace } from './display';
export { GPT2_END_OF_TEXT, GPT2_END_OF_TEXT_ID, GPT2_VOCAB_SIZE, Gpt2Tokenizer } from './gpt2';
export { fnv1a32, WordTokenizer } from './word';
export { HfTokenizer, type TokenizerFiles } from './hf/tokenizer';
export { loadFolderTokenizer } from './hf/load';

export { isTokenizerName, TOKENIZER_NAMES } from './types';

/** A tokenizer by name. GPT-2's vocabulary is parsed once, on its first encode, and shared. */
export function createTokenizer(name: TokenizerName): Tokenizer {
  switch (name) {
    case 'gpt2':
      return new Gpt2Tokenizer();
    case 'word':
      return new WordTokenizer();
    case 'char':
      return new CharTokenizer();
    default:
      throw new Error(`Unknown tokenizer ${JSON.stringify(name)}; valid names are ${TOKENIZER_NAMES.map((n) => `"${n}"`).join(', ')}`);
  }
}
