/**
 * Every error says whose it is, from where it is thrown: a cancellation (a newer request or the user's
 * Cancel won), the user's (bad input, file, setting, or a request too big to run), or internal (a bug:
 * anything else, reported with its stack). No error is classified by its name or message later.
 */
export type ErrorKind = 'cancelled' | 'user' | 'internal';

/** Work stopped because something newer replaced it or the user asked it to stop. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** A problem the user can fix; the message says what to change and is shown as it is. */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
  }
}

// Node's file-system errors on a path the user named (a missing file, a folder given for a file).
const USER_FS_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EROFS', 'ENOSPC', 'EEXIST', 'ENAMETOOLONG', 'ELOOP']);

export function errorKind(error: unknown): ErrorKind {
  if (error instanceof CancelledError) return 'cancelled';
  if (error instanceof UserError) return 'user';
  if (error instanceof Error && 'code' in error && USER_FS_CODES.has(String((error as { code: unknown }).code))) return 'user';
  return 'internal';
}
