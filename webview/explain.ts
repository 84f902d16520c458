// "Explain this cell": the arithmetic behind one attention score and weight, term by term. Pure (no DOM).
//
// q and k come from the trace's Q and K steps and the scores/weights from LayerData, so the results shown
// are the engine's own numbers; the recomputation here (in float64) only supplies the terms.

export interface DotTerm {
  /** Feature index within the head. */
  readonly c: number;
  readonly q: number;
  readonly k: number;
  readonly product: number;
}

export interface DotProduct {
  readonly terms: readonly DotTerm[];
  /** Σ_c q[c]·k[c] in float64. */
  readonly sum: number;
  /** The engine's QKᵀ entry, when the trace has it. */
  readonly engineRaw: number | null;
}

export interface SoftmaxEntry {
  readonly key: number;
  /** The engine's scaled score for this key. */
  readonly score: number;
  /** score − max of the row. */
  readonly shifted: number;
  /** exp(score − max). */
  readonly exp: number;
  /** exp / Σ exp, recomputed. */
  readonly recomputed: number;
  /** The engine's stored weight. */
  readonly weight: number;
}

export interface CellExplanation {
  readonly query: number;
  readonly key: number;
  readonly headDim: number;
  /** q_i · k_j, or null while the trace (with Q and K) has not arrived. */
  readonly dot: DotProduct | null;
  /** √d_k. */
  readonly sqrtDk: number;
  /** dot.sum / √d_k, recomputed (null without the trace). */
  readonly scaledRecomputed: number | null;
  /** The engine's scaled score: −∞ when masked. */
  readonly score: number;
  readonly masked: boolean;
  /** Largest visible score of the row (what the softmax subtracts). */
  readonly rowMax: number;
  /** Every visible key of the row, in key order. */
  readonly entries: readonly SoftmaxEntry[];
  /** Keys of the row that are masked (weight 0). */
  readonly maskedKeys: readonly number[];
  /** Σ exp(score − max) over the visible keys. */
  readonly expSum: number;
  /** The engine's weight for the clicked cell. */
  readonly weight: number;
  /** exp(score − max)/Σ, recomputed (0 when masked). */
  readonly weightRecomputed: number;
}

export interface ExplainInput {
  readonly query: number;
  readonly key: number;
  readonly headDim: number;
  /** Row `query` of the head's Q: headDim values (null while the trace is missing). */
  readonly q: ArrayLike<number> | null;
  /** Row `key` of the head's K: headDim values. */
  readonly k: ArrayLike<number> | null;
  /** Row `query` of the head's scaled scores (length n; masked = −∞). */
  readonly scoresRow: ArrayLike<number>;
  /** Row `query` of the head's weights (length n). */
  readonly weightsRow: ArrayLike<number>;
  /** The engine's QKᵀ entry, if known. */
  readonly rawScore?: number | null;
}

export function explainCell(input: ExplainInput): CellExplanation {
  const { query, key, headDim, q, k, scoresRow, weightsRow } = input;
  const n = scoresRow.length;
  if (key < 0 || key >= n) throw new RangeError(`key ${key} is outside 0…${n - 1}`);
  const sqrtDk = Math.sqrt(headDim);

  let dot: DotProduct | null = null;
  if (q && k) {
    if (q.length !== headDim || k.length !== headDim) throw new RangeError(`q and k need ${headDim} values, got ${q.length} and ${k.length}`);
    const terms: DotTerm[] = [];
    let sum = 0;
    for (let c = 0; c < headDim; c++) {
      const product = q[c] * k[c];
      terms.push({ c, q: q[c], k: k[c], product });
      sum += product;
    }
    dot = { terms, sum, engineRaw: input.rawScore ?? null };
  }

  let rowMax = -Infinity;
  for (let j = 0; j < n; j++) if (scoresRow[j] > rowMax) rowMax = scoresRow[j];
  const entries: SoftmaxEntry[] = [];
  const maskedKeys: number[] = [];
  let expSum = 0;
  for (let j = 0; j < n; j++) {
    const score = scoresRow[j];
    if (score === -Infinity) {
      maskedKeys.push(j);
      continue;
    }
    const shifted = score - rowMax;
    const e = Math.exp(shifted);
    expSum += e;
    entries.push({ key: j, score, shifted, exp: e, recomputed: 0, weight: weightsRow[j] });
  }
  const withWeights = entries.map((e) => ({ ...e, recomputed: e.exp / expSum }));
  const score = scoresRow[key];
  const masked = score === -Infinity;
  const clicked = withWeights.find((e) => e.key === key);
  return {
    query,
    key,
    headDim,
    dot,
    sqrtDk,
    scaledRecomputed: dot ? dot.sum / sqrtDk : null,
    score,
    masked,
    rowMax,
    entries: withWeights,
    maskedKeys,
    expSum,
    weight: weightsRow[key],
    weightRecomputed: clicked ? clicked.recomputed : 0,
  };
}

export interface TermSelection {
  /** Terms to list, in feature order. */
  readonly shown: readonly DotTerm[];
  /** How many terms are not listed, and their sum, so the listed ones plus this give the total. */
  readonly omitted: number;
  readonly omittedSum: number;
  /** The listed terms that were picked for being large (not just for being first). */
  readonly largest: ReadonlySet<number>;
}

/** A long list cut for reading: the listed items, how many are left out and the sum of their values. */
export interface FirstAndLargest<T> {
  readonly shown: readonly T[];
  readonly omitted: number;
  readonly omittedSum: number;
  /** Indices (into the list) of the listed items picked for being large. */
  readonly largest: ReadonlySet<number>;
}

/**
 * All of `items` when there are at most `all`, else the first `first` plus the `largest` of the rest with
 * the biggest |value|, in list order; the others are counted and summed.
 */
export function firstAndLargest<T>(items: readonly T[], value: (item: T) => number, all: number, first: number, largest: number): FirstAndLargest<T> {
  if (items.length <= all) return { shown: items, omitted: 0, omittedSum: 0, largest: new Set() };
  const rest = items.map((_, i) => i).slice(first);
  const big = new Set([...rest].sort((a, b) => Math.abs(value(items[b])) - Math.abs(value(items[a]))).slice(0, largest));
  let omittedSum = 0;
  for (const i of rest) if (!big.has(i)) omittedSum += value(items[i]);
  return { shown: items.filter((_, i) => i < first || big.has(i)), omitted: rest.length - big.size, omittedSum, largest: big };
}

/**
 * Which terms to list: all of them for d_k ≤ `all`, else the first `first` plus the `largest` biggest
 * |q[c]·k[c]| of the rest (the remainder is summarised).
 */
export function selectTerms(terms: readonly DotTerm[], all = 16, first = 8, largest = 4): TermSelection {
  const sel = firstAndLargest(terms, (t) => t.product, all, first, largest);
  return { ...sel, largest: new Set([...sel.largest].map((i) => terms[i].c)) };
}

export interface EntrySelection {
  readonly shown: readonly SoftmaxEntry[];
  readonly omitted: number;
  /** Σ exp of the entries not listed. */
  readonly omittedExpSum: number;
}

/**
 * Which softmax entries to list: the whole row when it has at most `all` visible keys, else the clicked
 * key plus the `top` largest weights (in key order), with the rest summarised.
 */
export function selectEntries(entries: readonly SoftmaxEntry[], clickedKey: number, all = 48, top = 12): EntrySelection {
  if (entries.length <= all) return { shown: entries, omitted: 0, omittedExpSum: 0 };
  const keep = new Set([...entries].sort((a, b) => b.exp - a.exp).slice(0, top).map((e) => e.key));
  keep.add(clickedKey);
  const shown = entries.filter((e) => keep.has(e.key));
  let omittedExpSum = 0;
  for (const e of entries) if (!keep.has(e.key)) omittedExpSum += e.exp;
  return { shown, omitted: entries.length - shown.length, omittedExpSum };
}

export interface MeanExplanation {
  readonly query: number;
  readonly key: number;
  /** Each head's weight for the cell. */
  readonly perHead: readonly number[];
  readonly sum: number;
  /** Σ / heads, recomputed. */
  readonly meanRecomputed: number;
  /** The value the mean view shows. */
  readonly mean: number;
}

/** The mean-over-heads cell: (w_0 + … + w_{H−1}) / H from the layer's [heads, n, n] weights. */
export function explainMean(weights: Float32Array, heads: number, n: number, query: number, key: number, shown: number): MeanExplanation {
  const perHead: number[] = [];
  let sum = 0;
  for (let h = 0; h < heads; h++) {
    const w = weights[(h * n + query) * n + key];
    perHead.push(w);
    sum += w;
  }
  return { query, key, perHead, sum, meanRecomputed: sum / heads, mean: shown };
}

/** Key indices as runs: "#0–#8, #13–#14" (a sliding window masks the far past and the future). */
export function keyRuns(keys: readonly number[]): string {
  const runs: string[] = [];
  for (let a = 0; a < keys.length; ) {
    let b = a;
    while (b + 1 < keys.length && keys[b + 1] === keys[b] + 1) b++;
    runs.push(a === b ? `#${keys[a]}` : `#${keys[a]}–#${keys[b]}`);
    a = b + 1;
  }
  return runs.join(', ');
}
