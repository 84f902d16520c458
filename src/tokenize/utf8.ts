// UTF-8 helpers for byte-level BPE. Bytes are held in "byte strings": one char (code 0–255) per byte,
// which makes cheap Map keys and slices without allocating typed arrays per lookup.

import { byteLabel, visibleControls, visibleWhitespace } from './display';

const REPLACEMENT_CHARACTER_BYTES = '\xEF\xBF\xBD';

function isHighSurrogate(codeUnit: number): boolean {
  return codeUnit >= 0xd800 && codeUnit <= 0xdbff;
}

function isLowSurrogate(codeUnit: number): boolean {
  return codeUnit >= 0xdc00 && codeUnit <= 0xdfff;
}

/**
 * UTF-8 encoding of `text` as a byte string. Lone surrogates become U+FFFD (EF BF BD), exactly as
 * TextEncoder does, so the result matches what js-tiktoken would encode.
 */
export function utf8ByteString(text: string): string {
  // Plain ASCII is already its own UTF-8 byte string; most BPE pieces take this path.
  let firstNonAscii = 0;
  while (firstNonAscii < text.length && text.charCodeAt(firstNonAscii) < 0x80) firstNonAscii++;
  if (firstNonAscii === text.length) return text;

  let bytes = text.slice(0, firstNonAscii);
  for (let i = firstNonAscii; i < text.length; i++) {
    const codeUnit = text.charCodeAt(i);
    if (codeUnit < 0x80) {
      bytes += text[i];
    } else if (codeUnit < 0x800) {
      bytes += String.fromCharCode(0xc0 | (codeUnit >> 6), 0x80 | (codeUnit & 0x3f));
    } else if (isHighSurrogate(codeUnit) && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      const codePoint = 0x10000 + ((codeUnit - 0xd800) << 10) + (text.charCodeAt(i + 1) - 0xdc00);
      bytes += String.fromCharCode(
        0xf0 | (codePoint >> 18),
        0x80 | ((codePoint >> 12) & 0x3f),
        0x80 | ((codePoint >> 6) & 0x3f),
        0x80 | (codePoint & 0x3f),
      );
      i++;
    } else if (isHighSurrogate(codeUnit) || isLowSurrogate(codeUnit)) {
      bytes += REPLACEMENT_CHARACTER_BYTES;
    } else {
      bytes += String.fromCharCode(0xe0 | (codeUnit >> 12), 0x80 | ((codeUnit >> 6) & 0x3f), 0x80 | (codeUnit & 0x3f));
    }
  }
  return bytes;
}

/** Copies a byte string into a Uint8Array (for TextDecoder and for tests comparing bytes). */
export function byteStringToBytes(byteString: string): Uint8Array {
  const bytes = new Uint8Array(byteString.length);
  for (let i = 0; i < byteString.length; i++) bytes[i] = byteString.charCodeAt(i);
  return bytes;
}

/**
 * Length of the well-formed UTF-8 sequence starting at `index`, or 0 if the bytes there are not one
 * (invalid lead byte, missing or bad continuation bytes, overlong form, surrogate, beyond U+10FFFF).
 */
function validSequenceLength(bytes: string, index: number): number {
  const lead = bytes.charCodeAt(index);
  if (lead < 0x80) return 1;
  let length: number;
  // The allowed range of the second byte excludes overlong forms, surrogates and code points > U+10FFFF.
  let secondMin = 0x80;
  let secondMax = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) secondMin = 0xa0;
    if (lead === 0xed) secondMax = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) secondMin = 0x90;
    if (lead === 0xf4) secondMax = 0x8f;
  } else return 0;
  if (index + length > bytes.length) return 0;
  const second = bytes.charCodeAt(index + 1);
  if (second < secondMin || second > secondMax) return 0;
  for (let k = 2; k < length; k++) {
    const continuation = bytes.charCodeAt(index + k);
    if (continuation < 0x80 || continuation > 0xbf) return 0;
  }
  return length;
}

function decodeSequence(bytes: string, index: number, length: number): string {
  const lead = bytes.charCodeAt(index);
  if (length === 1) return bytes[index];
  let codePoint = lead & (0xff >> (length + 1));
  for (let k = 1; k < length; k++) codePoint = (codePoint << 6) | (bytes.charCodeAt(index + k) & 0x3f);
  return String.fromCodePoint(codePoint);
}

/**
 * Display label for a token's bytes: complete UTF-8 characters are decoded (whitespace made visible);
 * each byte that is not part of a complete character — a character split across tokens — is shown in
 * byte form, e.g. `<0xF0><0x9F>` for the first half of an emoji.
 */
export function displayUtf8Bytes(bytes: string): string {
  let label = '';
  let index = 0;
  while (index < bytes.length) {
    const length = validSequenceLength(bytes, index);
    if (length === 0) {
      label += byteLabel(bytes.charCodeAt(index));
      index++;
    } else {
      label += visibleControls(visibleWhitespace(decodeSequence(bytes, index, length)));
      index += length;
    }
  }
  return label;
}

/**
 * Maps consecutive UTF-8 byte ranges of `text` (as a tokenizer emits them) to UTF-16 ranges. A byte
 * range that starts or ends inside a character is widened to the whole character, so tokens holding
 * parts of the same character share its range. Each call must start where the previous one ended.
 */
export class Utf8ToUtf16Cursor {
  /** UTF-16 range and UTF-8 byte range of the character the cursor is on. */
  private charStart16 = 0;
  private charEnd16 = 0;
  private charEndByte = 0;
  private nextByte = 0;

  constructor(private readonly text: string) {}

  /** UTF-16 [start, end) covering the next `byteLength` bytes (byteLength ≥ 1). */
  take(byteLength: number): { start: number; end: number } {
    const firstByte = this.nextByte;
    const lastByte = firstByte + byteLength - 1;
    this.advanceTo(firstByte);
    const start = this.charStart16;
    this.advanceTo(lastByte);
    this.nextByte = lastByte + 1;
    return { start, end: this.charEnd16 };
  }

  /** Total bytes taken so far. */
  get bytesTaken(): number {
    return this.nextByte;
  }

  /** Moves to the character containing byte `byteIndex` (stays on the last character if past the end). */
  private advanceTo(byteIndex: number): void {
    const text = this.text;
    while (this.charEndByte <= byteIndex && this.charEnd16 < text.length) {
      const codeUnit = text.charCodeAt(this.charEnd16);
      let units = 1;
      let bytes: number;
      if (codeUnit < 0x80) bytes = 1;
      else if (codeUnit < 0x800) bytes = 2;
      else if (isHighSurrogate(codeUnit) && this.charEnd16 + 1 < text.length && isLowSurrogate(text.charCodeAt(this.charEnd16 + 1))) {
        bytes = 4;
        units = 2;
      } else bytes = 3; // includes lone surrogates, which are encoded as U+FFFD
      this.charStart16 = this.charEnd16;
      this.charEnd16 += units;
      this.charEndByte += bytes;
    }
  }
}
