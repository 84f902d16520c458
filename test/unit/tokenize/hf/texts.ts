// Texts for comparing tokenizers with Hugging Face's Rust library: the text sets of the verification
// matrix, and fragments random texts are made of.

import fc from 'fast-check';

const SPECIAL_STRINGS = ['<s>', '</s>', '<unk>', '<pad>', '<bos>', '<eos>', '<mask>', '[CLS]', '[SEP]', '[MASK]', '[UNK]', '<|begin_of_text|>', '<|end_of_text|>', '<|im_start|>', '<|im_end|>', '<|endoftext|>'];

/** The text sets of the verification matrix. */
export const TEXT_SETS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['plain', ['Hello world', 'The quick brown fox jumps over the lazy dog.', "It's 2024, isn't it? We'll see; they've said I'm 'fine'.", 'Numbers: 1234567 3.14159 -42 1e10 0x1F']],
  ['code', ['function add(a, b) {\n\treturn a + b;\n}\n', 'const x = arr.map((v) => v * 2).filter(Boolean); // done', 'def f(x):\n    return {"k": [1, 2, 3]}\n', '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); }', 'SELECT * FROM t WHERE a >= 10 AND b <> \'x\';']],
  ['crlf', ['line one\r\nline two\r\n', '\r\n\r\n', 'a\rb\nc\r\n d', 'x \r\n\ty \r\n']],
  ['emoji', ['I love 🍵 and 🐍!', 'family 👩‍👩‍👧‍👦 and 👨‍💻 at work', 'flags 🇫🇷🇯🇵🇺🇳 and 🏴‍☠️', 'skin tones 👍🏽 👋🏿 🤝🏻', 'new 🥰 🫠 🪿 ❤️ ☺︎ 1️⃣', '🍵🍵🍵']],
  ['cjk', ['注意力机制很有用。', '日本語のテキスト、カタカナとひらがな。', '한국어 텍스트입니다', '𠀀𠀁 𪜀 extension B', '中文English混合mixed']],
  ['rtl', ['مرحبا بالعالم', 'שלום עולם', 'English then عربي then עברית.', 'السَّلَامُ عَلَيْكُمْ', '\u202Eevil\u202C override']],
  ['combining', ['e\u0301 cafe\u0301 café', 'ǘ u\u0308\u0301 a\u0323\u0302 x\u0301\u0323', 'Ä\u0308 o\u0338 ñ n\u0303', 'हिन्दी भाषा', 'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇', 'ﬁ ﬂ ½ ² Ⅻ ｶﾞ ㈱ Å Ω']],
  ['whitespace', ['    four spaces', 'tabs\t\t\there', 'a' + ' '.repeat(40) + 'b', '\t\t \t  \n\n\n   x', 'trailing   ', '   ', '\u00A0nbsp\u3000ideographic\u2003em\u200Bzero-width\uFEFFbom']],
  ['empty', ['']],
  ['leading space', [' starts with a space', '  two', ' ', ' 🍵', ' <s> ']],
  ['special strings', [SPECIAL_STRINGS.join(''), `a ${SPECIAL_STRINGS.join(' b ')} c`, 'x<s>y</s>z', ' <mask> fill <mask>.', 'hello [MASK] world[SEP]', '<|im_start|>user\nhi<|im_end|>\n', '<s<s>>', 'zzword and azzword zzwords zzword']],
  ['case and normalization', ['ΟΔΟΣ Σ ΣΑΣ', 'İstanbul ǅ ß ẞ', 'HELLO World MiXeD', 'Ａｂｃ１２３ full width', 'Å Ω K (compatibility)']],
  ['controls', ['a\u0000b\u0001c\u007Fd\u0085e', 'bell\u0007 escape\u001B[31m', 'soft\u00ADhyphen', 'lone \uD800 surrogates \uDC00 here', '\uFFFD replacement', 'private \uE000 use']],
  ['long', ['a'.repeat(300), 'supercalifragilisticexpialidocious'.repeat(5), 'ACGT'.repeat(100), '='.repeat(120), 'x'.repeat(101)]],
];

// Fragments for random text: letters, digits, whitespace of every kind, emoji parts, scripts, marks,
// special-token strings, controls and lone surrogates.
export const FRAGMENTS = [
  'a', 'Z', 'the', ' the', 'ing', '1', '42', '.', ',', "'s", '(', '{', '<', '>', '|', '_', '#',
  ' ', '  ', '\t', '\n', '\r\n', '\r', '\u00A0', '\u3000', '\u2028', '\u200B', '\u200D', '\uFE0F',
  '🍵', '👩', '🏽', '🇫', '🇷', '😀', '🥰', '𠀀', '注意', 'カ', 'ﾞ', '한', 'ᄀ', 'ᅡ', 'ᆨ',
  'م', 'ر', 'ש', 'ל', 'ह', 'ि', '्',
  '\u0301', '\u0308', '\u0323', '\u0334', '\u0345', '\u05B4', '\u0E31', 'e', 'u', 'o', 'A', 'Σ', 'ς', 'İ', 'ı', 'ǅ', 'ß', 'ẞ', 'ﬁ', 'ﬀ', '½', 'Ａ', '㍿', '™', 'K', 'Ω', 'Å', '가', 'ｶ', 'ﾟ', 'ת', 'ก',
  '    ', '\u000B', '\u000C', '\u2029', '\u180E', '\u2066',
  '\u0000', '\u0007', '\u007F', '\u0085', '\u00AD', '\uFFFD', '\uD800', '\uDC00', '\uE000',
  ...SPECIAL_STRINGS,
];
/** Random text: up to 24 fragments. */
export const randomText = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 24 }).map((parts) => parts.join(''));
