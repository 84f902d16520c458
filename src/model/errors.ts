import { UserError } from '../errors';

/** Where a model-file problem was found; every field is optional because not every error has all three. */
export interface ModelFileErrorContext {
  /** The file being read, when the error came from disk. */
  readonly filePath?: string;
  /** The tensor (or config key) the problem concerns. */
  readonly tensorName?: string;
  readonly cause?: unknown;
}

/**
 * Any problem with a model file, state dict or checkpoint folder: malformed bytes, missing tensors, wrong
 * shapes, bad config values. The message is complete on its own ("<file>: tensor "<name>": <problem>") so
 * callers can show it verbatim; `tensorName` and `filePath` are also kept for programmatic use.
 */
export class ModelFileError extends UserError {
  readonly filePath?: string;
  readonly tensorName?: string;
  /** The problem alone, without file or tensor prefix. */
  readonly detail: string;

  constructor(detail: string, context: ModelFileErrorContext = {}) {
    const where = context.tensorName === undefined ? '' : `tensor "${context.tensorName}": `;
    const file = context.filePath === undefined ? '' : `${context.filePath}: `;
    super(`${file}${where}${detail}`, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'ModelFileError';
    this.detail = detail;
    if (context.filePath !== undefined) this.filePath = context.filePath;
    if (context.tensorName !== undefined) this.tensorName = context.tensorName;
  }

  /** The same error attributed to `filePath` (errors from byte-level parsing don't know their file). */
  inFile(filePath: string): ModelFileError {
    if (this.filePath !== undefined) return this;
    return new ModelFileError(this.detail, { filePath, tensorName: this.tensorName, cause: this.cause });
  }
}
