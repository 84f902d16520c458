// tokenizer.json models: BPE and WordPiece, ported from Hugging Face tokenizers (Rust) so each token
// comes with the range of the piece it covers. BPE follows Rust's merge order exactly (lowest merge
// rank first, leftmost on ties, checked by the merged token's id) with typed arrays and a heap, so a
// piece of 100,000 characters — SentencePiece-style tokenizers have no pre-tokenizer and merge a whole
// line or text as one piece — takes milliseconds, not seconds.

import { codePointUnits } from './aligned';
import { NumberMinHeap } from '../bpe';
import { asArray, asObject, asString, boolField, intField, type JsonObject, type JsonPath, nullableStringField, stringField, typeField, unsupported } from './config';

/** Token ids and their [start, end) code-unit ranges in the piece, appended to parallel arrays. */
export interface ModelOutput {
  ids: number[];
  starts: number[];
  ends: number[];
}

export interface Model {
  readonly type: 'BPE' | 'WordPiece';
  /** Token string → id (the model's own vocabulary, without added tokens). */
  readonly vocab: ReadonlyMap<string, number>;
  /** BPE with byte fallback: characters missing from the vocabulary become `<0xAB>` byte tokens. */
  readonly byteFallback: boolean;
  /** WordPiece's (or BPE's) prefix of pieces that continue a word, e.g. "##". */
  readonly continuingSubwordPrefix: string | null;
  /** Appends the tokens of one pre-tokenized piece. */
  tokenize(piece: string, out: ModelOutput): void;
}

export const SUPPORTED_MODELS = ['BPE', 'WordPiece'] as const;

function readVocab(value: unknown, where: JsonPath): Map<string, number> {
  const object = asObject(value, where);
  const vocab = new Map<string, number>();
  for (const token in object) {
    const id = object[token];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw where.at(JSON.stringify(token)).error(`must be a non-negative integer id, found ${JSON.stringify(id)}`);
    vocab.set(token, id);
  }
  return vocab;
}

/** Open-addressing hash map from a pair of ids to a merge rank, in typed arrays (Gemma has 514,906 merges). */
class PairRanks {
  private readonly first: Int32Array;
  private readonly second: Int32Array;
  private readonly ranks: Int32Array;
  private readonly mask: number;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.first = new Int32Array(size).fill(-1);
    this.second = new Int32Array(size);
    this.ranks = new Int32Array(size);
    this.mask = size - 1;
  }

  private slot(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    let slot = h & this.mask;
    while (this.first[slot] !== -1 && (this.first[slot] !== a || this.second[slot] !== b)) slot = (slot + 1) & this.mask;
    return slot;
  }

  /** Sets the rank of (a, b); a later merge of the same pair replaces an earlier one, as in Rust's map. */
  set(a: number, b: number, rank: number): void {
    const slot = this.slot(a, b);
    this.first[slot] = a;
    this.second[slot] = b;
    this.ranks[slot] = rank;
  }

  /** Rank of merging (a, b), or -1. */
  get(a: number, b: number): number {
    const slot = this.slot(a, b);
    return this.first[slot] === -1 ? -1 : this.ranks[slot];
  }
}

const CACHE_CAPACITY = 10_000;
const UTF8 = new TextEncoder();
const CACHE_MAX_PIECE = 256;

export class BpeModel implements Model {
  readonly type = 'BPE' as const;
  readonly vocab: Map<string, number>;
  readonly byteFallback: boolean;
  readonly continuingSubwordPrefix: string | null;
  private readonly endOfWordSuffix: string | null;
  private readonly unkId: number | null;
  private readonly fuseUnk: boolean;
  private readonly ignoreMerges: boolean;
  private readonly pairRanks: PairRanks;
  /** Id of the token each merge (by rank) produces. */
  private readonly mergedId: Int32Array;
  /** Id of `<0xAB>` for each byte, -1 where missing. */
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** Piece → [id, start, end, id, start, end, …]. */
  private readonly cache = new Map<string, Int32Array>();
  // Keys rank * n + position, so the numeric order is Rust's merge order.
  private readonly heap = new NumberMinHeap();

  constructor(config: JsonObject, where: JsonPath) {
    this.vocab = readVocab(config.vocab, where.at('vocab'));
    const dropout = config.dropout;
    if (dropout !== undefined && dropout !== null && dropout !== 0) {
      throw where.at('dropout').error(`is ${JSON.stringify(dropout)}: BPE dropout makes tokenization random; set it to null to inspect this model`);
    }
    const unkToken = nullableStringField(config, 'unk_token', where);
    this.unkId = unkToken === null ? null : (this.vocab.get(unkToken) ?? null);
    if (unkToken !== null && this.unkId === null) throw where.at('unk_token').error(`is ${JSON.stringify(unkToken)}, which is not in model.vocab`);
    this.continuingSubwordPrefix = nullableStringField(config, 'continuing_subword_prefix', where);
    this.endOfWordSuffix = nullableStringField(config, 'end_of_word_suffix', where);
    this.fuseUnk = boolField(config, 'fuse_unk', where, false);
    this.byteFallback = boolField(config, 'byte_fallback', where, false);
    this.ignoreMerges = boolField(config, 'ignore_merges', where, false);
    if (this.byteFallback) {
      for (let b = 0; b < 256; b++) this.byteIds[b] = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    }

    const merges = asArray(config.merges ?? [], where.at('merges'));
    this.pairRanks = new PairRanks(merges.length);
    this.mergedId = new Int32Array(merges.length);
    const prefixLength = this.continuingSubwordPrefix?.length ?? 0;
    for (let rank = 0; rank < merges.length; rank++) {
      const merge = merges[rank];
      let a: string;
      let b: string;
      if (typeof merge === 'string') {
        const parts = merge.split(' ');
        if (parts.length !== 2) throw where.at('merges').at(rank).error(`must be two tokens separated by one space, found ${JSON.stringify(merge)}`);
        [a, b] = parts;
      } else {
        const pair = asArray(merge, where.at('merges').at(rank));
        if (pair.length !== 2) throw where.at('merges').at(rank).error('must be a pair of tokens');
        a = asString(pair[0], where.at('merges').at(rank).at(0));
        b = asString(pair[1], where.at('merges').at(rank).at(1));
      }
      const aId = this.vocab.get(a);
      const bId = this.vocab.get(b);
      const merged = this.vocab.get(a + b.slice(prefixLength));
      if (aId === undefined || bId === undefined || merged === undefined) {
        const missing = aId === undefined ? a : bId === undefined ? b : a + b.slice(prefixLength);
        throw where.at('merges').at(rank).error(`merges ${JSON.stringify(a)} and ${JSON.stringify(b)}, but ${JSON.stringify(missing)} is not in model.vocab`);
      }
      this.pairRanks.set(aId, bId, rank);
      this.mergedId[rank] = merged;
    }
  }

  tokenize(piece: string, out: ModelOutput): void {
    if (piece.length === 0) return;
    if (this.ignoreMerges) {
      const id = this.vocab.get(piece);
      if (id !== undefined) {
        out.ids.push(id);
        out.starts.push(0);
        out.ends.push(piece.length);
        return;
      }
    }
    let tokens = this.cache.get(piece);
    if (tokens === undefined) {
      tokens = this.mergeWord(piece);
      if (piece.length < CACHE_MAX_PIECE) {
        if (this.cache.size >= CACHE_CAPACITY) this.cache.clear();
        this.cache.set(piece, tokens);
      }
    }
    for (let k = 0; k < tokens.length; k += 3) {
      out.ids.push(tokens[k]);
      out.starts.push(tokens[k + 1]);
      out.ends.push(tokens[k + 2]);
    }
  }

  /** Rust's BPE::merge_word followed by Word::merge_all. */
  private mergeWord(piece: string): Int32Array {
    const prefix = this.continuingSubwordPrefix;
    const suffix = this.endOfWordSuffix;
    // At most 4 byte-fallback symbols per code unit, plus the bytes of a prefix or suffix.
    const capacity = piece.length * (4 + 3 * (prefix?.length ?? 0)) + 3 * (suffix?.length ?? 0) + 4;
    const ids = new Int32Array(capacity);
    const starts = new Int32Array(capacity);
    const ends = new Int32Array(capacity);
    let n = 0;
    const add = (id: number, start: number, end: number): void => {
      ids[n] = id;
      starts[n] = start;
      ends[n] = end;
      n++;
    };
    let unkStart = -1;
    let unkEnd = -1;
    for (let i = 0; i < piece.length; ) {
      const units = codePointUnits(piece, i);
      const end = i + units;
      let s = units === 1 ? piece[i] : piece.slice(i, end);
      if (i > 0 && prefix !== null) s = prefix + s;
      if (end === piece.length && suffix !== null) s += suffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (unkStart >= 0) {
          add(this.unkId as number, unkStart, unkEnd);
          unkStart = -1;
        }
        add(id, i, end);
      } else {
        let handled = false;
        if (this.byteFallback) {
          const bytes = UTF8.encode(s);
          if (bytes.every((byte) => this.byteIds[byte] >= 0)) {
            // Each byte token holds part of the character: it gets the whole character's range.
            for (const byte of bytes) add(this.byteIds[byte], i, end);
            handled = true;
          }
        }
        if (!handled && this.unkId !== null) {
          if (unkStart >= 0 && this.fuseUnk) unkEnd = end;
          else {
            if (unkStart >= 0) add(this.unkId, unkStart, unkEnd);
            unkStart = i;
            unkEnd = end;
          }
        }
        // Without an unknown token, Rust drops the character.
      }
      i = end;
    }
    if (unkStart >= 0) add(this.unkId as number, unkStart, unkEnd);
    return this.mergeAll(ids, starts, ends, n);
  }

  private mergeAll(ids: Int32Array, starts: Int32Array, ends: Int32Array, n: number): Int32Array {
    if (n > 1) {
      const next = new Int32Array(n);
      const prev = new Int32Array(n);
      const alive = new Uint8Array(n).fill(1);
      for (let i = 0; i < n; i++) {
        prev[i] = i - 1;
        next[i] = i + 1 < n ? i + 1 : -1;
      }
      const heap = this.heap;
      heap.clear();
      const pairs = this.pairRanks;
      for (let i = 0; i + 1 < n; i++) {
        const rank = pairs.get(ids[i], ids[i + 1]);
        if (rank >= 0) heap.push(rank * n + i);
      }
      while (heap.size > 0) {
        const key = heap.pop();
        const pos = key % n;
        const rank = (key - pos) / n;
        if (!alive[pos]) continue;
        const right = next[pos];
        if (right === -1) continue;
        // An expired entry: the pair at `pos` no longer merges into the same token.
        const current = pairs.get(ids[pos], ids[right]);
        if (current < 0 || this.mergedId[current] !== this.mergedId[rank]) continue;
        ids[pos] = this.mergedId[rank];
        ends[pos] = ends[right];
        next[pos] = next[right];
        alive[right] = 0;
        if (next[right] !== -1) prev[next[right]] = pos;
        const before = prev[pos];
        if (before >= 0) {
          const r = pairs.get(ids[before], ids[pos]);
          if (r >= 0) heap.push(r * n + before);
        }
        const after = next[pos];
        if (after !== -1) {
          const r = pairs.get(ids[pos], ids[after]);
          if (r >= 0) heap.push(r * n + pos);
        }
      }
      let count = 0;
      for (let i = 0; i < n; i++) if (alive[i]) count++;
      const result = new Int32Array(count * 3);
      let k = 0;
      for (let i = 0; i !== -1 && i < n; i = next[i]) {
        result[k++] = ids[i];
        result[k++] = starts[i];
        result[k++] = ends[i];
      }
      return result;
    }
    const result = new Int32Array(n * 3);
    if (n === 1) result.set([ids[0], starts[0], ends[0]]);
    return result;
  }
}

export class WordPieceModel implements Model {
  readonly type = 'WordPiece' as const;
  readonly vocab: Map<string, number>;
  readonly byteFallback = false;
  readonly continuingSubwordPrefix: string;
  private readonly unkToken: string;
  private readonly maxChars: number;
  private readonly where: JsonPath;

  constructor(config: JsonObject, where: JsonPath) {
    this.vocab = readVocab(config.vocab, where.at('vocab'));
    this.unkToken = stringField(config, 'unk_token', where, '[UNK]');
    this.continuingSubwordPrefix = stringField(config, 'continuing_subword_prefix', where, '##');
    this.maxChars = intField(config, 'max_input_chars_per_word', where, 100);
    this.where = where;
  }

  tokenize(piece: string, out: ModelOutput): void {
    let chars = 0;
    for (let i = 0; i < piece.length; i += codePointUnits(piece, i)) chars++;
    if (chars > this.maxChars) {
      this.pushUnknown(piece, out);
      return;
    }
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    let start = 0;
    while (start < piece.length) {
      let end = piece.length;
      let found = -1;
      while (start < end) {
        const sub = start > 0 ? this.continuingSubwordPrefix + piece.slice(start, end) : piece.slice(start, end);
        const id = this.vocab.get(sub);
        if (id !== undefined) {
          found = id;
          break;
        }
        // Drop the last character (two code units for a surrogate pair).
        const last = piece.charCodeAt(end - 1);
        end -= last >= 0xdc00 && last <= 0xdfff && end - 2 >= start && piece.charCodeAt(end - 2) >= 0xd800 && piece.charCodeAt(end - 2) <= 0xdbff ? 2 : 1;
      }
      if (found < 0) {
        this.pushUnknown(piece, out);
        return;
      }
      ids.push(found);
      starts.push(start);
      ends.push(end);
      start = end;
    }
    for (let k = 0; k < ids.length; k++) {
      out.ids.push(ids[k]);
      out.starts.push(starts[k]);
      out.ends.push(ends[k]);
    }
  }

  private pushUnknown(piece: string, out: ModelOutput): void {
    const id = this.vocab.get(this.unkToken);
    if (id === undefined) throw this.where.at('unk_token').error(`is ${JSON.stringify(this.unkToken)}, which is not in model.vocab, and the text has a word the vocabulary cannot spell`);
    out.ids.push(id);
    out.starts.push(0);
    out.ends.push(piece.length);
  }
}

/** The model described by `value`. */
export function createModel(value: unknown, where: JsonPath): Model {
  const config = asObject(value, where);
  // Old files may omit the type; Rust then guesses from the fields, as we do.
  const type = config.type === undefined ? ('merges' in config ? 'BPE' : 'continuing_subword_prefix' in config ? 'WordPiece' : 'unknown') : typeField(config, where);
  switch (type) {
    case 'BPE':
      return new BpeModel(config, where);
    case 'WordPiece':
      return new WordPieceModel(config, where);
    default:
      throw unsupported(where, 'model', type, SUPPORTED_MODELS, type === 'Unigram' ? 'Unigram models (T5, ALBERT, XLM-RoBERTa…) are not reproduced here.' : '');
  }
}
