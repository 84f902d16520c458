// Byte-pair merging of one pre-tokenized piece, equivalent to tiktoken's algorithm: repeatedly merge
// the adjacent pair whose concatenation has the lowest rank, leftmost first on ties. tiktoken (and
// js-tiktoken) rescan the whole piece for every merge, which is quadratic or worse in the piece
// length — a 10,000-letter run without spaces takes seconds. A heap of candidate pairs makes it
// O(n log n), so long runs (DNA strings, base64, unspaced CJK) stay fast.

/** Byte string (one char per byte) → token rank. */
export type RankMap = ReadonlyMap<string, number>;

/** Min-heap of numbers; callers encode (rank, position) in the keys so the numeric order is the merge order. */
export class NumberMinHeap {
  private items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  clear(): void {
    this.items = [];
  }

  push(value: number): void {
    const items = this.items;
    let index = items.length;
    items.push(value);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent] <= value) break;
      items[index] = items[parent];
      index = parent;
    }
    items[index] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0];
    const last = items.pop() as number;
    if (items.length > 0) {
      let index = 0;
      const length = items.length;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= length) break;
        const right = left + 1;
        const child = right < length && items[right] < items[left] ? right : left;
        if (items[child] >= last) break;
        items[index] = items[child];
        index = child;
      }
      items[index] = last;
    }
    return top;
  }
}

/**
 * Appends the ranks and byte lengths of the tokens `piece` (a byte string) merges into.
 * Every single byte must have a rank (true for byte-level vocabularies such as GPT-2's).
 */
export function bytePairEncode(piece: string, ranks: RankMap, outIds: number[], outByteLengths: number[]): void {
  const whole = ranks.get(piece);
  if (whole !== undefined) {
    outIds.push(whole);
    outByteLengths.push(piece.length);
    return;
  }

  const length = piece.length;
  // Parts are contiguous, identified by their start byte: partEnd[s] is where the part starting at s
  // ends (and so where the next part starts), -1 once merged into its left neighbour.
  const partEnd = new Int32Array(length);
  const previousPartStart = new Int32Array(length);
  // Rank of merging the part at s with the part after it, or -1 when there is no such token.
  const pairRank = new Int32Array(length);
  const heap = new NumberMinHeap();
  const keyScale = length + 1;

  const refreshPair = (start: number): void => {
    const middle = partEnd[start];
    const rank = middle < length ? ranks.get(piece.slice(start, partEnd[middle])) : undefined;
    if (rank === undefined) {
      pairRank[start] = -1;
    } else {
      pairRank[start] = rank;
      heap.push(rank * keyScale + start);
    }
  };

  for (let start = 0; start < length; start++) {
    partEnd[start] = start + 1;
    previousPartStart[start] = start - 1;
  }
  for (let start = 0; start < length - 1; start++) refreshPair(start);

  while (heap.size > 0) {
    const key = heap.pop();
    const start = key % keyScale;
    const rank = (key - start) / keyScale;
    // Stale entry: the part was absorbed, or its pair changed since this entry was pushed. A pair's
    // rank identifies its bytes, so an equal current rank means this very pair is still there.
    if (partEnd[start] === -1 || pairRank[start] !== rank) continue;

    const middle = partEnd[start];
    const end = partEnd[middle];
    partEnd[start] = end;
    partEnd[middle] = -1;
    pairRank[middle] = -1;
    if (end < length) previousPartStart[end] = start;
    refreshPair(start);
    if (start > 0) refreshPair(previousPartStart[start]);
  }

  for (let start = 0; start < length; start = partEnd[start]) {
    const bytes = piece.slice(start, partEnd[start]);
    const rank = ranks.get(bytes);
    if (rank === undefined) {
      throw new Error(`BPE: no rank for bytes [${Array.from(bytes, (c) => c.charCodeAt(0)).join(', ')}]; the vocabulary must contain every single byte`);
    }
    outIds.push(rank);
    outByteLengths.push(bytes.length);
  }
}
