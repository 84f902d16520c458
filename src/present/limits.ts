/** Words for limits and sizes, shared by the extension and the CLI. */
import type { LimitReason, Truncation } from '../engine/limits';

/** Bytes as people read them: "812 KB", "94.2 MB", "12.60 GB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

/** What each caller calls its limits, so the note names the knob the user can turn. */
export type LimitNames = Readonly<Record<LimitReason, string>>;

export const EXTENSION_LIMIT_NAMES: LimitNames = {
  maxTokens: 'the attentionInspector.maxTokens setting',
  nPositions: "the model's n_positions",
  memory: 'the memory one inspection may use',
};

export const CLI_LIMIT_NAMES: LimitNames = {
  maxTokens: '--max-tokens',
  nPositions: "the model's n_positions",
  memory: '--memory-limit',
};

/** "The input has 900 tokens; only the first 512 were inspected (--max-tokens)." */
export function truncationNote(t: Truncation, names: LimitNames, what = 'input'): string {
  return `The ${what} has ${t.totalTokens.toLocaleString('en-US')} tokens; only the first ${t.keptTokens.toLocaleString('en-US')} were inspected (${names[t.reason]}).`;
}
