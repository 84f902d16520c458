/**
 * Errors that come from the user's input, files or settings (a broken safetensors file, d_model not
 * divisible by heads, an input longer than n_positions): shown as they are, not as a bug report.
 */
const USER_ERROR_NAMES = new Set(['ModelFileError', 'ShapeError', 'RangeError', 'InspectInputError', 'HubError']);

export function isUserError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (USER_ERROR_NAMES.has(error.name)) return true;
  // Node's own argument and file-system errors carry a string code (ENOENT, ERR_PARSE_ARGS_…).
  return 'code' in error && typeof (error as { code: unknown }).code === 'string';
}
