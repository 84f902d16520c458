/** Names and definitions of the head metrics, for the metrics table, exports and the README. */
import type { HeadMetrics } from '../engine/metrics';

export interface MetricWords {
  readonly label: string;
  /** One sentence a newcomer can read: what the number measures. */
  readonly help: string;
}

export const METRIC_WORDS: Readonly<Record<keyof HeadMetrics, MetricWords>> = {
  entropy: { label: 'Entropy (nats)', help: 'Mean Shannon entropy of a query’s weights: 0 when all weight is on one key, ln(n) when spread evenly.' },
  maxWeight: { label: 'Max weight', help: 'The largest single weight anywhere in the head.' },
  meanDistance: { label: 'Mean distance (tokens)', help: 'How far, in tokens, a query looks on average: the mean of Σⱼ wᵢⱼ·|i − j|.' },
  sinkMass: { label: 'Mass on first token', help: 'Mean weight on the first token, the “attention sink”.' },
  diagonalMass: { label: 'Mass on self', help: 'Mean weight a token puts on itself.' },
  previousTokenMass: { label: 'Mass on previous token', help: 'Mean weight on the immediately preceding token (queries after the first).' },
};

/** Metric key → label, as exports write it. */
export const METRIC_LABELS: Readonly<Record<keyof HeadMetrics, string>> = Object.fromEntries(
  Object.entries(METRIC_WORDS).map(([key, words]) => [key, words.label]),
) as Record<keyof HeadMetrics, string>;
