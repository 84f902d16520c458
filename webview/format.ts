// Text shown to people: numbers, token labels, the hover readout, which labels fit. Pure (no DOM).
import { displayText } from '../src/tokenize/display';
import type { HeadMetrics } from '../src/engine/metrics';
import { maskedReadout, SPECIAL_TOKEN } from '../src/present/family';
import { METRIC_WORDS } from '../src/present/metrics';
import type { TokenView } from '../src/protocol';

const MINUS = '\u2212';

/**
 * A number with `digits` significant digits for table cells and readouts: −∞ / +∞ / NaN spelled out,
 * a true minus sign, exponent form only for very small or very large magnitudes.
 */
export function formatNumber(x: number, digits = 4): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '∞';
  if (x === -Infinity) return `${MINUS}∞`;
  if (x === 0) return '0';
  const abs = Math.abs(x);
  let s: string;
  if (abs >= 1e-4 && abs < 1e6) {
    s = abs.toPrecision(digits);
    if (s.includes('e')) s = String(Number(s)); // toPrecision uses exponents for e.g. 123456 at 4 digits
  } else {
    const [mant, exp] = abs.toExponential(digits - 1).split('e');
    s = `${mant}e${exp.startsWith('-') ? MINUS + exp.slice(1) : exp.replace('+', '')}`;
  }
  return x < 0 ? MINUS + s : s;
}

/** The exact value for a tooltip (the float32 as stored, in full), with −∞ spelled out. */
export function exactNumber(x: number): string {
  if (x === -Infinity) return `${MINUS}∞ (masked)`;
  if (x === Infinity) return '∞';
  return String(x);
}

/** Percent with one decimal, e.g. "41.2%". */
export function formatPercent(p: number): string {
  if (!Number.isFinite(p)) return '—';
  return `${(p * 100).toFixed(p >= 0.1 ? 1 : 2)}%`;
}

/**
 * A token as a label: whitespace visible (idempotent on the already formatted TokenView.text), empty tokens
 * as ∅, and long ones cut to `maxChars` with an ellipsis.
 */
export function tokenLabel(text: string, maxChars = 16): string {
  const shown = displayText(text);
  if (shown.length === 0) return '∅';
  const chars = Array.from(shown);
  if (chars.length <= maxChars) return shown;
  return `${chars.slice(0, Math.max(1, maxChars - 1)).join('')}…`;
}

/**
 * A token as a label, special tokens (BOS, [CLS], [SEP], added by the tokenizer) as they are named, not
 * as text with visible whitespace: "[CLS]", or "⟨special⟩" when the tokenizer gave no name.
 */
export function tokenText(token: TokenView | undefined, maxChars = 16): string {
  if (!token?.special) return tokenLabel(token?.text ?? '', maxChars);
  const name = token.text.trim();
  if (!name) return '⟨special⟩';
  const chars = Array.from(name);
  return chars.length <= maxChars ? name : `${chars.slice(0, Math.max(1, maxChars - 1)).join('')}…`;
}

/** Tooltip words for token i: "token 3: ·sat", or "token 0: [CLS], added by the tokenizer, not in the text". */
export function tokenTitle(tokens: readonly TokenView[], i: number, maxChars = 80): string {
  const t = tokens[i];
  return `token ${i}: ${tokenText(t, maxChars)}${t?.special ? `, ${SPECIAL_TOKEN}` : ''}`;
}

/** A token in quotes for sentences and readouts: "·sat"; a special token unquoted and marked: [CLS] (special). */
export function quoted(token: TokenView | undefined, maxChars = 24): string {
  if (token?.special) return `${tokenText(token, maxChars)} (special)`;
  return `"${tokenLabel(token?.text ?? '', maxChars)}"`;
}

export interface ReadoutCell {
  readonly tokens: readonly TokenView[];
  readonly query: number;
  readonly key: number;
  /** The weight shown in the heatmap (a head's softmax weight, or the mean over heads). */
  readonly weight: number;
  /** The head's scaled score (QKᵀ/√d_k), or null in the mean-over-heads view. */
  readonly score: number | null;
  readonly masked: boolean;
  readonly causal: boolean;
  /** The sliding window the mask shows, if any. */
  readonly window?: number | null;
  /** Heads averaged, when showing the mean. */
  readonly meanOf?: number;
}

/**
 * The hover/focus readout, read aloud by the live region too:
 * `#2 "·sat" → #0 "The": 0.412 (score 1.03)`, or `… masked (causal): query 2 cannot see key 5 (weight 0)`.
 */
export function readoutText(c: ReadoutCell): string {
  const pair = `#${c.query} ${quoted(c.tokens[c.query])} → #${c.key} ${quoted(c.tokens[c.key])}`;
  if (c.masked) return `${pair}: ${maskedReadout(c.query, c.key, c.window ?? null)}`;
  const weight = formatNumber(c.weight, 3);
  if (c.score === null) return `${pair}: ${weight} (mean over ${c.meanOf ?? 'all'} heads)`;
  return `${pair}: ${weight} (score ${formatNumber(c.score, 3)})`;
}

/** Steps between labelled tokens: 1, 2, 5, 10, 20, 50, … */
const NICE = [1, 2, 5];

/**
 * Every how many tokens a label can be drawn when each token is `pxPerToken` wide and a label needs
 * `minLabelPx` (its line height): the smallest 1-2-5 step that leaves room, so labels never overlap.
 */
export function labelStep(pxPerToken: number, minLabelPx: number): number {
  if (!(pxPerToken > 0)) return Number.MAX_SAFE_INTEGER;
  for (let decade = 1; decade < 1e9; decade *= 10) {
    for (const m of NICE) {
      const step = m * decade;
      if (step * pxPerToken >= minLabelPx) return step;
    }
  }
  return Number.MAX_SAFE_INTEGER;
}

/** The labelled token indices within [first, last] (inclusive) for a step: the multiples of `step`. */
export function labelIndices(first: number, last: number, step: number): number[] {
  const out: number[] = [];
  if (step < 1 || last < first) return out;
  for (let i = Math.ceil(Math.max(0, first) / step) * step; i <= last; i += step) out.push(i);
  return out;
}

/** "[12 × 64]" */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(' × ')}]`;
}

/** Milliseconds for the status line: "84 ms", "1.2 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** Column order and labels (METRIC_LABELS lives in the engine, which the webview may import only as types). */
/** The metrics table's columns, worded once for the webview and the exports (src/present/metrics.ts). */
export const METRIC_COLUMNS: readonly { key: keyof HeadMetrics; label: string; help: string }[] = (Object.keys(METRIC_WORDS) as (keyof HeadMetrics)[]).map((key) => ({
  key,
  ...METRIC_WORDS[key],
}));

/**
 * A model's name without the description in parentheses that ends its label:
 * "mistral_text_bytefallback (mistral, 2 layers, 4 heads (2 KV), d_model 32)" → "mistral_text_bytefallback".
 * Parentheses nest; a label that is only a parenthesis, or has none at its end, is kept whole.
 */
export function shortModelName(label: string): string {
  const text = label.trim();
  if (!text.endsWith(')')) return text;
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    if (text[i] === ')') depth++;
    else if (text[i] === '(' && --depth === 0) {
      const name = text.slice(0, i).trim();
      return name || text;
    }
  }
  return text;
}
