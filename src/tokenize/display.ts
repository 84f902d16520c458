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

// Invisible characters that would hide in a label or, worse, reorder the text around it (a right-to-left
// override in a token would show "0.412" as "214.0" in the readout): C0/C1 controls other than the
// whitespace above, zero-width characters, and bidirectional formatting characters.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

/** Shows invisible and direction-changing characters as `<U+202E>`. */
export function visibleControls(text: string): string {
  return text.replace(INVISIBLE, (c) => `<U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`);
}

/** Display label for a token's raw source text: lone surrogates become U+FFFD, whitespace and controls become visible. */
export function displayText(rawText: string): string {
  return visibleControls(visibleWhitespace(replaceLoneSurrogates(rawText)));
}

/** Byte form used for bytes that are not a complete UTF-8 character on their own, e.g. `<0xF0>`. */
export function byteLabel(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}
