// Reading tokenizer.json with clear errors: every message names the file and the JSON path of the
// problem (e.g. `…/tokenizer.json: normalizer.normalizers[1].type`), and says what to change.

import { UserError } from '../../errors';

export type JsonObject = Record<string, unknown>;

/** Where in which file a value sits: `file` is shown as given (a path or a name). */
export class JsonPath {
  constructor(
    readonly file: string,
    readonly path: string,
  ) {}

  at(key: string | number): JsonPath {
    if (typeof key === 'number') return new JsonPath(this.file, `${this.path}[${key}]`);
    return new JsonPath(this.file, this.path === '' ? key : `${this.path}.${key}`);
  }

  /** A UserError about this value. */
  error(message: string): UserError {
    return new UserError(this.path === '' ? `${this.file} ${message}` : `${this.file}: ${this.path} ${message}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

export function asObject(value: unknown, where: JsonPath): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw where.error(`must be a JSON object, found ${describe(value)}`);
  return value as JsonObject;
}

export function asArray(value: unknown, where: JsonPath): unknown[] {
  if (!Array.isArray(value)) throw where.error(`must be a JSON array, found ${describe(value)}`);
  return value;
}

export function asString(value: unknown, where: JsonPath): string {
  if (typeof value !== 'string') throw where.error(`must be a string, found ${describe(value)}`);
  return value;
}

/** `obj[key]` as a string; `fallback` when absent or null (no fallback: required). */
export function stringField(obj: JsonObject, key: string, where: JsonPath, fallback?: string): string {
  const value = obj[key];
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  return asString(value, where.at(key));
}

/** `obj[key]` as a string or null (absent: null). */
export function nullableStringField(obj: JsonObject, key: string, where: JsonPath): string | null {
  const value = obj[key];
  if (value === undefined || value === null) return null;
  return asString(value, where.at(key));
}

export function boolField(obj: JsonObject, key: string, where: JsonPath, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw where.at(key).error(`must be true or false, found ${describe(value)}`);
  return value;
}

export function intField(obj: JsonObject, key: string, where: JsonPath, fallback?: number): number {
  const value = obj[key];
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw where.at(key).error(`must be a non-negative integer, found ${describe(value)}`);
  return value;
}

/** The `type` of a component object. */
export function typeField(obj: JsonObject, where: JsonPath): string {
  return stringField(obj, 'type', where);
}

/** An error for a component type this implementation does not reproduce. */
export function unsupported(where: JsonPath, kind: string, type: string, supported: readonly string[], hint = ''): UserError {
  return where.error(
    `is a ${kind} of type "${type}", which Attention Inspector's tokenizer does not support (supported: ${supported.join(', ')}).` +
      `${hint ? ` ${hint}` : ''} Choose a model whose tokenizer.json uses supported components, or a built-in tokenizer.`,
  );
}
