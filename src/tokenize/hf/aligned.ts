// Text that remembers where it came from: a port of the alignment bookkeeping of Hugging Face
// tokenizers' NormalizedString (tokenizers/src/tokenizer/normalizer.rs), in UTF-16 code units.
//
// Every code unit of `text` carries the range [start, end) of the original input it stands for, in
// UTF-16 offsets of the original. Original characters are whole code points: both units of a surrogate
// pair share the pair's range, so a range never splits a character. The rules follow Rust's:
// - a character that replaces another keeps that one's range (mapping, lowercasing, ' ' → '▁');
// - a character added after another (the second char of a lowercased 'İ', a byte of a multi-byte
//   character in byte-level form, spaces put around a CJK character) shares the range of the one before;
// - a string prepended (Prepend's '▁', ByteLevel's prefix space) shares the range of the first character;
// - a replacement's content shares the range of the last character of what it replaced;
// - a removed character leaves no trace: no token will hold it (see the gap rule in tokenizer.ts).
// Unicode normalization (NFC, NFD, NFKC, NFKD) is the one place this port differs from Rust: Rust
// tracks each composed or decomposed character separately (through a fork of unicode-normalization);
// here, when normalization changes a "normalization unit" — a character with the combining marks (and
// composing jamo or kana voicing marks) that follow it, never across characters removed earlier — other than character by character (composing, reordering marks),
// every output character of the unit gets the whole unit's range. Rust gives a composed 'é' (from
// 'e' + U+0301) the range of the 'e' only, and leaves the mark to nobody; here 'é' covers both.
// Decomposition without reordering ('é' → 'e' + U+0301) keeps per-character ranges, as in Rust.

const MARK = /\p{M}/u;

export type UnicodeForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

/**
 * Whether, under `form`, `codePoint` may normalize together with the code point before it, so both
 * belong to one normalization unit: combining marks (reordered, composed), Hangul vowel/final jamo
 * after the jamo or syllable they compose with (NFC, NFKC), halfwidth kana voicing marks, which the
 * compatibility forms turn into combining marks (NFKC, NFKD).
 */
export function continuesUnit(codePoint: number, previous: number, form: UnicodeForm): boolean {
  const composing = form === 'NFC' || form === 'NFKC';
  if (codePoint >= 0x1161 && codePoint <= 0x1175) return composing && previous >= 0x1100 && previous <= 0x1112;
  if (codePoint >= 0x11a8 && codePoint <= 0x11c2) {
    return composing && ((previous >= 0x1161 && previous <= 0x1175) || (previous >= 0xac00 && previous <= 0xd7a3 && (previous - 0xac00) % 28 === 0));
  }
  if (codePoint === 0xff9e || codePoint === 0xff9f) return form === 'NFKC' || form === 'NFKD';
  return codePoint >= 0x300 && MARK.test(String.fromCodePoint(codePoint));
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** Code units (1 or 2) of the code point starting at `index`; a lone surrogate counts as one. */
export function codePointUnits(text: string, index: number): number {
  return isHighSurrogate(text.charCodeAt(index)) && index + 1 < text.length && isLowSurrogate(text.charCodeAt(index + 1)) ? 2 : 1;
}

/** Growable pair of Int32 arrays, for building alignments without a temporary object per character. */
class RangeBuffer {
  starts: Int32Array;
  ends: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.starts = new Int32Array(Math.max(capacity, 8));
    this.ends = new Int32Array(Math.max(capacity, 8));
  }

  push(start: number, end: number, count = 1): void {
    if (this.length + count > this.starts.length) {
      const capacity = Math.max(this.starts.length * 2, this.length + count);
      const starts = new Int32Array(capacity);
      const ends = new Int32Array(capacity);
      starts.set(this.starts.subarray(0, this.length));
      ends.set(this.ends.subarray(0, this.length));
      this.starts = starts;
      this.ends = ends;
    }
    for (let k = 0; k < count; k++) {
      this.starts[this.length] = start;
      this.ends[this.length] = end;
      this.length++;
    }
  }

  pushFrom(source: AlignedText, from: number, to: number): void {
    for (let i = from; i < to; i++) this.push(source.starts[i], source.ends[i]);
  }
}

export class AlignedText {
  /**
   * @param text the (normalized, pre-tokenized…) text
   * @param starts original start of each code unit of `text`
   * @param ends original end of each code unit of `text`
   * @param originalStart where in the original this piece begins (Rust's `offsets_original().0`),
   *   also for an empty piece; Metaspace's "first" prepend scheme asks whether it is 0.
   */
  constructor(
    readonly text: string,
    readonly starts: Int32Array,
    readonly ends: Int32Array,
    readonly originalStart: number,
  ) {}

  /** `original.slice(from, to)`, each code unit aligned to its own code point. */
  static fromOriginal(original: string, from = 0, to = original.length): AlignedText {
    const starts = new Int32Array(to - from);
    const ends = new Int32Array(to - from);
    for (let i = from; i < to; ) {
      const units = Math.min(codePointUnits(original, i), to - i);
      for (let k = 0; k < units; k++) {
        starts[i - from + k] = i;
        ends[i - from + k] = i + units;
      }
      i += units;
    }
    return new AlignedText(original.slice(from, to), starts, ends, from);
  }

  get length(): number {
    return this.text.length;
  }

  /** Original range of code units [from, to) of the text: the first unit's start to the last unit's end (as Rust does). */
  originalRange(from: number, to: number): { start: number; end: number } {
    return { start: this.starts[from], end: this.ends[to - 1] };
  }

  /** The code units [from, to), which must be on code point boundaries and not empty. */
  slice(from: number, to: number): AlignedText {
    return new AlignedText(this.text.slice(from, to), this.starts.subarray(from, to), this.ends.subarray(from, to), this.starts[from]);
  }

  /**
   * Maps each code point to a string: the first code point of the result replaces it (same range),
   * further ones are added after it (same range too); an empty result removes it.
   */
  mapCodePoints(map: (codePoint: number, char: string) => string): AlignedText {
    const text = this.text;
    const out = new RangeBuffer(text.length);
    let result = '';
    for (let i = 0; i < text.length; ) {
      const units = codePointUnits(text, i);
      const char = units === 1 ? text[i] : text.slice(i, i + 2);
      const mapped = map(char.codePointAt(0) as number, char);
      if (mapped.length > 0) {
        result += mapped;
        out.push(this.starts[i], this.ends[i + units - 1], mapped.length);
      }
      i += units;
    }
    return this.withText(result, out);
  }

  /** Keeps the code points `keep` accepts. */
  filter(keep: (codePoint: number) => boolean): AlignedText {
    return this.mapCodePoints((codePoint, char) => (keep(codePoint) ? char : ''));
  }

  /** Prepends `prefix` (if the text is not empty); it shares the range of the first character. */
  prepend(prefix: string): AlignedText {
    if (this.text.length === 0 || prefix.length === 0) return this;
    const out = new RangeBuffer(this.text.length + prefix.length);
    out.push(this.starts[0], this.ends[0], prefix.length);
    out.pushFrom(this, 0, this.text.length);
    return this.withText(prefix + this.text, out);
  }

  /**
   * Replaces every match of `pattern` (a global regex) with `content`, which shares the range of the
   * last character of the match (or of the character before an empty match).
   */
  replace(pattern: RegExp, content: string): AlignedText {
    const text = this.text;
    const out = new RangeBuffer(text.length);
    let result = '';
    let last = 0;
    let matched = false;
    for (const match of text.matchAll(pattern)) {
      matched = true;
      const start = match.index;
      const end = start + match[0].length;
      result += text.slice(last, start);
      out.pushFrom(this, last, start);
      if (content.length > 0) {
        if (end > 0) out.push(this.starts[end - 1], this.ends[end - 1], content.length);
        else out.push(this.originalStart, this.originalStart, content.length);
        result += content;
      }
      last = end;
    }
    if (!matched) return this;
    result += text.slice(last);
    out.pushFrom(this, last, text.length);
    return this.withText(result, out);
  }

  /** Removes leading and/or trailing code points that `isSpace` accepts. */
  strip(left: boolean, right: boolean, isSpace: (codePoint: number) => boolean): AlignedText {
    const text = this.text;
    let from = 0;
    let to = text.length;
    if (left) {
      while (from < to) {
        const units = codePointUnits(text, from);
        if (!isSpace(text.codePointAt(from) as number)) break;
        from += units;
      }
    }
    if (right) {
      while (to > from) {
        const units = to - 2 >= from && isLowSurrogate(text.charCodeAt(to - 1)) && isHighSurrogate(text.charCodeAt(to - 2)) ? 2 : 1;
        if (!isSpace(text.codePointAt(to - units) as number)) break;
        to -= units;
      }
    }
    if (from === 0 && to === text.length) return this;
    return new AlignedText(text.slice(from, to), this.starts.subarray(from, to), this.ends.subarray(from, to), this.originalStart);
  }

  /**
   * Unicode normalization. Each normalization unit (a character and the marks or conjoining jamo that
   * follow it) is normalized alone. If its characters normalize one by one (unchanged, or decomposed
   * without reordering), each output character keeps the range of the character it came from; if not
   * (composition, reordered marks), all its output characters get the unit's whole range. The units'
   * results are checked against normalizing the whole text; where they differ, the characters between
   * their common prefix and suffix share one range, so the text is always exactly `text.normalize(form)`.
   */
  normalizeUnicode(form: UnicodeForm): AlignedText {
    const text = this.text;
    const whole = text.normalize(form);
    if (whole === text) return this;

    // Unit boundaries: before every code point that does not continue the unit before it, and where
    // something was removed from the original in between (units never span a gap of the original).
    const unitStarts: number[] = [];
    let previous = -1;
    for (let i = 0; i < text.length; ) {
      const units = codePointUnits(text, i);
      const codePoint = text.codePointAt(i) as number;
      if (i === 0 || !continuesUnit(codePoint, previous, form) || this.starts[i] > this.ends[i - 1]) unitStarts.push(i);
      previous = codePoint;
      i += units;
    }
    unitStarts.push(text.length);

    // Each unit normalized alone, with its alignment.
    const out = new RangeBuffer(whole.length);
    let joined = '';
    for (let u = 0; u + 1 < unitStarts.length; u++) {
      const from = unitStarts[u];
      const to = unitStarts[u + 1];
      const input = text.slice(from, to);
      const output = input.normalize(form);
      joined += output;
      // A unit normalization leaves as it is keeps each character's own range.
      if (output === input) {
        out.pushFrom(this, from, to);
        continue;
      }
      // So does a unit whose characters normalize one by one (decompositions without reordering).
      let oneByOne = '';
      for (let i = from; i < to; i += codePointUnits(text, i)) oneByOne += text.slice(i, i + codePointUnits(text, i)).normalize(form);
      if (oneByOne === output) {
        for (let i = from; i < to; ) {
          const units = codePointUnits(text, i);
          const length = text.slice(i, i + units).normalize(form).length;
          if (length > 0) out.push(this.starts[i], this.ends[i + units - 1], length);
          i += units;
        }
      } else if (output.length > 0) {
        out.push(this.starts[from], this.ends[to - 1], output.length);
      }
    }
    if (joined === whole) return this.withText(whole, out);

    // The units normalized alone differ from the whole text normalized (marks reordered or composed
    // across characters removed earlier): keep the alignment of the common prefix and suffix, and give
    // the characters between them the union of the ranges of what they replace.
    const limit = Math.min(joined.length, whole.length);
    let prefix = 0;
    while (prefix < limit && joined.charCodeAt(prefix) === whole.charCodeAt(prefix)) prefix++;
    if (prefix > 0 && isLowSurrogate(whole.charCodeAt(prefix))) prefix--;
    let suffix = 0;
    while (suffix < limit - prefix && joined.charCodeAt(joined.length - 1 - suffix) === whole.charCodeAt(whole.length - 1 - suffix)) suffix++;
    if (suffix > 0 && isLowSurrogate(whole.charCodeAt(whole.length - suffix))) suffix--;
    const middleTo = joined.length - suffix;
    // The ranges of the units' characters between prefix and suffix (if none, those of a neighbour).
    let from = prefix;
    let to = middleTo;
    if (from === to) {
      if (from > 0) from--;
      else to++;
    }
    let start = out.starts[from];
    let end = out.ends[from];
    for (let i = from + 1; i < to; i++) {
      start = Math.min(start, out.starts[i]);
      end = Math.max(end, out.ends[i]);
    }
    const fixed = new RangeBuffer(whole.length);
    for (let i = 0; i < prefix; i++) fixed.push(out.starts[i], out.ends[i]);
    fixed.push(start, end, whole.length - prefix - suffix);
    for (let i = middleTo; i < joined.length; i++) fixed.push(out.starts[i], out.ends[i]);
    return this.withText(whole, fixed);
  }

  /**
   * Byte-level form (GPT-2's byte-to-unicode table): each UTF-8 byte becomes one character of `table`;
   * all bytes of a character share its range. Lone surrogates are encoded as U+FFFD, like TextEncoder.
   */
  toByteLevel(table: readonly string[]): AlignedText {
    const text = this.text;
    const out = new RangeBuffer(text.length * 2);
    let result = '';
    for (let i = 0; i < text.length; ) {
      const units = codePointUnits(text, i);
      const codePoint = text.codePointAt(i) as number;
      const start = this.starts[i];
      const end = this.ends[i + units - 1];
      let bytes: number[];
      if (codePoint < 0x80) bytes = [codePoint];
      else if (codePoint < 0x800) bytes = [0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f)];
      else if (codePoint >= 0x10000) bytes = [0xf0 | (codePoint >> 18), 0x80 | ((codePoint >> 12) & 0x3f), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f)];
      else if (codePoint >= 0xd800 && codePoint <= 0xdfff) bytes = [0xef, 0xbf, 0xbd];
      else bytes = [0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f)];
      for (const byte of bytes) result += table[byte];
      out.push(start, end, bytes.length);
      i += units;
    }
    return this.withText(result, out);
  }

  private withText(text: string, ranges: RangeBuffer): AlignedText {
    return new AlignedText(text, ranges.starts.subarray(0, ranges.length), ranges.ends.subarray(0, ranges.length), this.originalStart);
  }
}

/** What a split does with the parts a pattern matches (Rust's SplitDelimiterBehavior). */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

/** [start, end, isMatch] segments covering a text, in order (Rust's Pattern::find_matches). */
export type Segments = Array<[number, number, boolean]>;

/** Segments of the matches of a global regex and the text between them (empty matches included, as Rust does). */
export function regexSegments(text: string, pattern: RegExp): Segments {
  if (text.length === 0) return [[0, 0, false]];
  const segments: Segments = [];
  let previous = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index;
    const end = start + match[0].length;
    if (previous !== start) segments.push([previous, start, false]);
    segments.push([start, end, true]);
    previous = end;
  }
  if (previous !== text.length) segments.push([previous, text.length, false]);
  return segments;
}

/** Segments where each code point `isMatch` accepts is a match of its own. */
export function charSegments(text: string, isMatch: (codePoint: number) => boolean): Segments {
  if (text.length === 0) return [[0, 0, false]];
  const segments: Segments = [];
  let lastOffset = 0;
  for (let i = 0; i < text.length; ) {
    const units = codePointUnits(text, i);
    if (isMatch(text.codePointAt(i) as number)) {
      if (lastOffset < i) segments.push([lastOffset, i, false]);
      segments.push([i, i + units, true]);
      lastOffset = i + units;
    }
    i += units;
  }
  if (text.length > lastOffset) segments.push([lastOffset, text.length, false]);
  return segments;
}

/** Splits `aligned` at the segments, per `behavior` (Rust's NormalizedString::split); empty pieces are dropped. */
export function splitAligned(aligned: AlignedText, segments: Segments, behavior: SplitBehavior): AlignedText[] {
  let spans: Array<[number, number, boolean]>; // [start, end, remove]
  switch (behavior) {
    case 'Isolated':
      spans = segments.map(([s, e]) => [s, e, false]);
      break;
    case 'Removed':
      spans = segments;
      break;
    case 'Contiguous': {
      spans = [];
      let previousMatch = false;
      for (const [s, e, isMatch] of segments) {
        if (isMatch === previousMatch && spans.length > 0) spans[spans.length - 1][1] = e;
        else spans.push([s, e, false]);
        previousMatch = isMatch;
      }
      break;
    }
    case 'MergedWithPrevious': {
      spans = [];
      let previousMatch = false;
      for (const [s, e, isMatch] of segments) {
        if (isMatch && !previousMatch && spans.length > 0) spans[spans.length - 1][1] = e;
        else spans.push([s, e, false]);
        previousMatch = isMatch;
      }
      break;
    }
    case 'MergedWithNext': {
      spans = [];
      let previousMatch = false;
      for (let k = segments.length - 1; k >= 0; k--) {
        const [s, e, isMatch] = segments[k];
        if (isMatch && !previousMatch && spans.length > 0) spans[spans.length - 1][0] = s;
        else spans.push([s, e, false]);
        previousMatch = isMatch;
      }
      spans.reverse();
      break;
    }
  }
  const pieces: AlignedText[] = [];
  for (const [s, e, remove] of spans) if (!remove && e > s) pieces.push(aligned.slice(s, e));
  return pieces;
}
