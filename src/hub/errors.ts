/** The Hub's errors and names: what a user typed, checked before any request, and failures worded for people. */
import { CancelledError, UserError } from '../errors';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export type HubErrorKind =
  | 'invalid-repo'
  | 'invalid-revision'
  | 'invalid-endpoint'
  | 'not-found'
  | 'unauthorized'
  | 'no-weights'
  | 'invalid-index'
  | 'offline'
  | 'network'
  | 'timeout'
  | 'truncated'
  | 'checksum'
  | 'http'
  | 'disk';

/** Every download failure except cancellation; `message` is one line meant to be shown as it is. */
export class HubError extends UserError {
  readonly kind: HubErrorKind;
  /** The HTTP status, for errors that came from one. */
  readonly status?: number;

  constructor(kind: HubErrorKind, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.kind = kind;
    if (options.status !== undefined) this.status = options.status;
  }
}

/** A cancelled download: a CancelledError (errorKind 'cancelled') named "AbortError" like fetch's. */
export class HubAbortError extends CancelledError {
  readonly code = 'ABORT_ERR';
  constructor(message = 'the download was cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

const NAME_PART = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks a Hub model id ("gpt2", "openai-community/gpt2") with the Hub's own rules and returns it without
 * surrounding whitespace. Throws HubError('invalid-repo') saying what is wrong.
 */
export function validateRepoId(id: string): string {
  const fail = (why: string): never => {
    throw new HubError('invalid-repo', `"${printable(id)}" is not a Hugging Face model id: ${why}`);
  };
  if (typeof id !== 'string') return fail('expected a string such as "openai-community/gpt2"');
  const trimmed = id.trim();
  if (trimmed === '') return fail('it is empty; expected "owner/name" or "name", e.g. "openai-community/gpt2"');
  const url = /^(?:https?:\/\/)?(?:www\.)?(?:huggingface\.co|hf\.co)\/(?:models\/)?([^/?#\s]+(?:\/[^/?#\s]+)?)/i.exec(trimmed);
  if (url !== null) {
    const suggestion = url[1].split('/').filter((p) => p !== 'tree' && p !== 'resolve' && p !== 'blob').join('/');
    return fail(`paste only the id, not the page address (e.g. "${printable(suggestion)}")`);
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed) || trimmed.includes('://')) return fail('paste only the id such as "openai-community/gpt2", not an address or a path');
  if (/\s/.test(trimmed)) return fail('it contains a space');
  const parts = trimmed.split('/');
  if (parts.length > 2) return fail('expected at most one "/" ("owner/name")');
  if (parts.some((p) => p === '')) return fail('expected "owner/name" with both parts non-empty');
  // "datasets/x" and "spaces/x" name other repo types; this reads models only.
  if (parts.length === 2 && ['datasets', 'spaces', 'models'].includes(parts[0])) return fail(`"${parts[0]}/" names another kind of repository; expected a model id`);
  for (const part of parts) {
    if (!NAME_PART.test(part)) return fail('only letters, digits, "-", "_" and "." are allowed');
    if (part.includes('..') || part.includes('--')) return fail('".." and "--" are not allowed');
    if (/^[-.]|[-.]$/.test(part)) return fail('a part cannot start or end with "-" or "."');
    if (part.length > 96) return fail('a part is longer than 96 characters');
  }
  return trimmed;
}

/** Checks a branch, tag or commit name; it becomes a path under refs/, so no "..", no empty or hidden segments. */
export function validateRevision(revision: string): string {
  const fail = (why: string): never => {
    throw new HubError('invalid-revision', `"${printable(revision)}" is not a valid revision: ${why}`);
  };
  if (typeof revision !== 'string' || revision === '') return fail('expected a branch, tag or commit such as "main"');
  if (revision.length > 256) return fail('it is longer than 256 characters');
  if (!/^[A-Za-z0-9_.\-/]+$/.test(revision)) return fail('only letters, digits, "-", "_", "." and "/" are allowed');
  if (revision.split('/').some((s) => s === '' || s.startsWith('.'))) return fail('a "/"-separated part is empty or starts with "."');
  return revision;
}

/** Keeps user text in messages short and on one line. */
export function printable(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be replaced
  const oneLine = String(value).replace(/[\x00-\x1f\x7f]/g, '?');
  return oneLine.length > 80 ? `${oneLine.slice(0, 77)}...` : oneLine;
}
