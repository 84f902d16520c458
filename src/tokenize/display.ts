// How token text is shown to people. Pure string functions, shared by the tokenizers and the webview.

const VISIBLE_WHITESPACE: Readonly<Record<string, string>> = {
  ' ': '·',
  '\n': '↵',
  '\r': '␍',
  '\t': '→',
};

/**
 * Makes the common whitespace characters visible: space → `·`, newline → `↵`, carriage return → `␍`,
 * tab → `→`. Every other character (including other Unicode spaces such as U+00A0) is kept as is,
 * so the result has one character per replaced character and the same length as the input.
 */
export function visibleWhitespace(text: string): string {
  return text.replace(/[ \n\r\t]/g, (whitespace) => VISIBLE_WHITESPACE[whitespace]);
}

// A high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces lone surrogates with U+FFFD, the same substitution TextEncoder makes, so labels render and serialize cleanly. */
export function replaceLoneSurrogates(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Display label for a token's raw source text: lone surrogates become U+FFFD, whitespace becomes visible. */
export function displayText(rawText: string): string {
  return visibleWhitespace(replaceLoneSurrogates(rawText));
}

/** Byte form used for bytes that are not a complete UTF-8 character on their own, e.g. `<0xF0>`. */
export function byteLabel(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}
