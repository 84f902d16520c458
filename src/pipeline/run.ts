/**
 * Text or token ids → tokens → limits → the engine's inspection. The CLI and the worker both call
 * `runPipeline`; the worker adds only cancellation, progress and transfer, the CLI only formats.
 */
import { totalmem } from 'node:os';
import { UserError } from '../errors';
import { inspect, modelShape, type Inspection, type InspectionOptions } from '../engine/inspection';
import { inspectionBytes, limitTokens, type ModelShape, type Truncation } from '../engine/limits';
import { formatBytes } from '../present/limits';
import { displayText } from '../tokenize/display';
import type { LoadedModel } from './model';

/** The text to tokenize, or token ids to run as given (no tokenizer, nothing added). */
export type PipelineInput = { readonly text: string } | { readonly ids: readonly number[] };

/** One inspected token. Offsets (UTF-16, into the text) are null for ids given directly. */
export interface InspectedToken {
  readonly id: number;
  /** Display text: whitespace made visible; null when an id has no text (no vocabulary to decode it). */
  readonly display: string | null;
  /** The exact text the token covers (for ids: the decoded vocabulary entry); null when unknown. */
  readonly text: string | null;
  readonly start: number | null;
  readonly end: number | null;
  /** Added by the tokenizer (BOS, [CLS], [SEP]), not in the text: its range is empty (start === end). */
  readonly special?: boolean;
}

export interface PipelineOptions extends Omit<InspectionOptions, 'keep'> {
  /** The caller's token limit (the extension's maxTokens, the CLI's --max-tokens). */
  readonly maxTokens: number;
  /** Bytes one inspection may take, weights included, or a rule from the model's sizes (default: defaultMemoryBudget()). */
  readonly memoryBudget?: number | ((shape: ModelShape) => number);
  readonly keep?: InspectionOptions['keep'];
  /** Traces will be asked for and layers copied for transfer (the worker): the memory estimate counts them. */
  readonly interactive?: boolean;
  /** Called with the number of tokens that will run, before anything is computed; may throw to refuse. */
  readonly beforeRun?: (tokens: number) => void;
}

export interface PipelineResult {
  readonly tokens: readonly InspectedToken[];
  readonly truncation: Truncation | null;
  readonly inspection: Inspection;
  readonly loaded: LoadedModel;
}

/** Half the machine's memory, at most 8 GiB: room for the editor and everything else that runs. */
export function defaultMemoryBudget(): number {
  return Math.min(totalmem() / 2, 8 * 1024 ** 3);
}

export const DEFAULT_MAX_TOKENS = 512;

function tokensOf(input: PipelineInput, loaded: LoadedModel): InspectedToken[] {
  const { tokenizer } = loaded;
  if ('text' in input) {
    return tokenizer.encode(input.text).map((t) => ({ id: t.id, display: t.text, text: input.text.slice(t.start, t.end), start: t.start, end: t.end, ...(t.special ? { special: true } : {}) }));
  }
  const vocabSize = loaded.info.vocabSize;
  return input.ids.map((id, i) => {
    if (!Number.isInteger(id) || id < 0 || (vocabSize !== undefined && id >= vocabSize)) {
      const range = vocabSize === undefined ? 'a non-negative integer' : `an integer from 0 to ${vocabSize - 1}`;
      throw new UserError(`token id ${id} at position ${i} must be ${range} (the model's vocabulary)`);
    }
    const text = tokenizer.decodeId ? tokenizer.decodeId(id) : null;
    const display = tokenizer.displayId ? tokenizer.displayId(id) : text === null ? null : displayText(text);
    return { id, display, text, start: null, end: null };
  });
}

/** Tokenizes (or takes ids), cuts to the tightest limit, and runs the engine's inspection. */
export function runPipeline(input: PipelineInput, loaded: LoadedModel, options: PipelineOptions): PipelineResult {
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) throw new UserError(`the token limit must be a positive integer, got ${options.maxTokens}`);
  const all = tokensOf(input, loaded);
  if (all.length === 0) throw new UserError('there is nothing to inspect: the input has no tokens');
  const keep = options.keep ?? 'inputs';
  const shape = modelShape(loaded.model);
  const budget = typeof options.memoryBudget === 'function' ? options.memoryBudget(shape) : (options.memoryBudget ?? defaultMemoryBudget());
  const usage = { keep, trace: options.interactive ?? false, transfer: options.interactive ?? false };
  const { kept, truncation } = limitTokens(shape, all.length, { maxTokens: options.maxTokens, memoryBudget: budget, ...usage });
  if (kept === 0) {
    const least = inspectionBytes(shape, 1, usage);
    throw new UserError(
      `even one token needs about ${formatBytes(least)} (the model's weights are ${formatBytes(shape.weightBytes)}), more than the memory limit of ${formatBytes(budget)}: allow more memory or use a smaller model`,
    );
  }
  const tokens = kept < all.length ? all.slice(0, kept) : all;
  options.beforeRun?.(tokens.length);
  options.checkpoint?.();
  const inspection = inspect(
    tokens.map((t) => t.id),
    loaded.model,
    { ...options, keep },
  );
  return { tokens, truncation, inspection, loaded };
}
