/**
 * The safetensors format (https://github.com/huggingface/safetensors), parsed from bytes so it runs anywhere:
 *
 *   [u64 little-endian N][N bytes of UTF-8 JSON header][data section]
 *
 * The header maps tensor names to {dtype, shape, data_offsets: [begin, end)} (offsets relative to the data
 * section) plus an optional "__metadata__" string map. Every tensor comes back as float32.
 */
import type { Tensor } from '../engine/tensor';
import { fmtShape } from '../engine/tensor';
import {
  decodeToFloat32,
  DTYPE_BYTES,
  HOST_IS_LITTLE_ENDIAN,
  isSupportedDtype,
  KNOWN_UNSUPPORTED_DTYPES,
  SUPPORTED_DTYPES,
  UNSUPPORTED_DTYPE_BYTES,
  type SupportedDtype,
} from './dtypes';
import { ModelFileError } from './errors';

/** Headers larger than this are refused: real ones are kilobytes, and a corrupt length must not allocate gigabytes. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const METADATA_KEY = '__metadata__';

/** One validated header entry. Offsets are relative to the start of the data section. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SupportedDtype;
  readonly shape: readonly number[];
  readonly elementCount: number;
  readonly begin: number;
  readonly end: number;
}

/** An entry left out by `include`: its layout is checked, its dtype may be one we cannot decode (BOOL, I64 buffers). */
export interface SkippedSafetensorsEntry extends Omit<SafetensorsEntry, 'dtype'> {
  readonly dtype: string;
}

/** A validated header: where the data section starts and what lies in it. */
export interface SafetensorsHeader {
  /** Byte offset of the data section from the start of the file (8 + header length). */
  readonly dataStart: number;
  /** The included entries, in header order. */
  readonly entries: readonly SafetensorsEntry[];
  /** The entries `include` left out, in header order. */
  readonly skipped: readonly SkippedSafetensorsEntry[];
  readonly metadata: Readonly<Record<string, string>> | undefined;
}

export interface SafetensorsContents {
  readonly tensors: Map<string, Tensor>;
  /** The "__metadata__" map, if the file has one. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
}

export interface ParseSafetensorsOptions {
  /** Which tensors to decode (all by default). Left-out tensors are checked for layout only, so they may have any dtype. */
  readonly include?: (name: string) => boolean;
  /**
   * When false (the default), F32 tensors whose bytes are 4-byte aligned are views into `bytes`: no copy,
   * so a 500 MB file costs no extra memory, but the tensors and `bytes` share memory (writes to one show in
   * the other, and `bytes` stays alive as long as any tensor does). Pass true for independent copies.
   */
  readonly copy?: boolean;
}

/** Parses a safetensors file; see `readSafetensors` for the metadata and `ParseSafetensorsOptions` for memory sharing. */
export function parseSafetensors(bytes: Uint8Array, options: ParseSafetensorsOptions = {}): Map<string, Tensor> {
  return readSafetensors(bytes, options).tensors;
}

/**
 * Parses a safetensors file, returning its tensors (in header order) and its "__metadata__". For files on
 * disk prefer readSafetensorsFile: Node 20 cannot hold a file over 2 GB in one Buffer.
 */
export function readSafetensors(bytes: Uint8Array, options: ParseSafetensorsOptions = {}): SafetensorsContents {
  const headerLength = readHeaderLength(bytes, bytes.length);
  const dataStart = 8 + headerLength;
  const header = parseSafetensorsHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, options.include);
  const data = bytes.subarray(dataStart);
  const tensors = new Map<string, Tensor>();
  for (const entry of header.entries) {
    tensors.set(entry.name, decodeEntry(entry, data.subarray(entry.begin, entry.end), options.copy ?? false));
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Reads the u64 header length from the first 8 bytes and checks it against the file size.
 * Takes `fileSize` separately so a file reader can validate before reading the rest.
 */
export function readHeaderLength(firstBytes: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || firstBytes.length < 8) {
    throw new ModelFileError(`file is ${fileSize} bytes, too short for a safetensors file (it needs at least the 8-byte header length)`);
  }
  const length = new DataView(firstBytes.buffer, firstBytes.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new ModelFileError(
      `header length ${length} bytes exceeds the ${MAX_HEADER_BYTES / (1024 * 1024)} MB limit (the file is corrupt or not safetensors)`,
    );
  }
  const headerLength = Number(length);
  if (8 + headerLength > fileSize) {
    throw new ModelFileError(
      `header length ${headerLength} bytes runs past the end of the file (${fileSize} bytes; the file is truncated or not safetensors)`,
    );
  }
  return headerLength;
}

/**
 * Validates the JSON header (the N bytes after the length) against a data section of `dataLength` bytes:
 * structure, dtypes, shapes, sizes, bounds, overlaps and holes. Throws ModelFileError naming the tensor.
 * Tensors `include` leaves out are decided before their dtype is checked: a checkpoint's BOOL mask or I64
 * position buffer must not stop the weights from loading, while a needed tensor of such a dtype is refused.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataLength: number, include?: (name: string) => boolean): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch (cause) {
    throw new ModelFileError('header is not valid UTF-8 (the file is corrupt or not safetensors)', { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ModelFileError(`header is not valid JSON (${reason})`, { cause });
  }
  if (!isPlainObject(json)) {
    throw new ModelFileError(`header must be a JSON object, got ${describeJson(json)}`);
  }

  let metadata: Record<string, string> | undefined;
  const entries: SafetensorsEntry[] = [];
  const skipped: SkippedSafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value);
    else if (include === undefined || include(name)) entries.push(parseEntry(name, value, dataLength, true) as SafetensorsEntry);
    else skipped.push(parseEntry(name, value, dataLength, false));
  }
  checkCoverage([...entries, ...skipped], dataLength);
  return { dataStart: 8 + headerBytes.length, entries, skipped, metadata };
}

/** Decodes one entry's bytes (exactly entry.end − entry.begin of them) to a float32 tensor. */
export function decodeEntry(entry: SafetensorsEntry, entryBytes: Uint8Array, copy: boolean): Tensor {
  try {
    return { shape: [...entry.shape], data: decodeToFloat32(entry.dtype, entryBytes, entry.elementCount, copy) };
  } catch (cause) {
    // Only allocation can fail here (the header is validated); report it as a file problem, not a crash.
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ModelFileError(`cannot decode ${entry.dtype} ${fmtShape(entry.shape)} (${reason})`, { tensorName: entry.name, cause });
  }
}

function parseMetadata(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new ModelFileError(`"${METADATA_KEY}" must be an object of strings, got ${describeJson(value)}`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new ModelFileError(`"${METADATA_KEY}" value for "${key}" must be a string, got ${describeJson(item)}`);
    }
  }
  // fromEntries defines properties, so a "__proto__" key stays an ordinary entry.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

/** A needed entry must have a dtype we decode; a skipped one only a layout that fits its byte range. */
function parseEntry(name: string, value: unknown, dataLength: number, needed: boolean): SafetensorsEntry | SkippedSafetensorsEntry {
  const fail = (detail: string): never => {
    throw new ModelFileError(detail, { tensorName: name });
  };
  if (!isPlainObject(value)) return fail(`header entry must be an object with dtype, shape and data_offsets, got ${describeJson(value)}`);
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!(key in value)) fail(`header entry is missing "${key}"`);
  }

  const dtype = value.dtype;
  if (typeof dtype !== 'string') return fail(`"dtype" must be a string, got ${describeJson(dtype)}`);
  if (needed && !isSupportedDtype(dtype)) {
    const kind = KNOWN_UNSUPPORTED_DTYPES.includes(dtype) ? 'unsupported' : 'unknown';
    return fail(`${kind} dtype ${JSON.stringify(dtype)}; supported dtypes are ${SUPPORTED_DTYPES.join(', ')}`);
  }

  const shape = value.shape;
  if (!Array.isArray(shape)) return fail(`"shape" must be an array of dimensions, got ${describeJson(shape)}`);
  for (const dim of shape) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      fail(`shape ${JSON.stringify(shape)} has dimension ${JSON.stringify(dim)}, which is not a non-negative integer`);
    }
  }
  const dims = shape as number[];

  const offsets = value.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    return fail(`"data_offsets" must be a [begin, end] pair, got ${describeJson(offsets)}`);
  }
  const [begin, end] = offsets as unknown[];
  if (!isOffset(begin) || !isOffset(end)) {
    return fail(`data_offsets ${JSON.stringify(offsets)} must be non-negative integers`);
  }
  if (begin > end) return fail(`data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLength) {
    return fail(`data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes; is the file truncated?)`);
  }

  // The byte range is known to fit in the data section, so stop multiplying once the count exceeds it
  // (keeps the arithmetic exact for absurd shapes).
  const elementCount = dims.includes(0) ? 0 : dims.reduce((count, dim) => (count > dataLength ? count : count * dim), 1);
  const elementBytes: number | undefined = isSupportedDtype(dtype) ? DTYPE_BYTES[dtype] : UNSUPPORTED_DTYPE_BYTES[dtype];
  if (elementBytes === undefined) return { name, dtype, shape: dims, elementCount, begin, end }; // packed or unknown: skipped, bounds checked
  const expectedBytes = elementCount * elementBytes;
  if (expectedBytes !== end - begin) {
    const need = elementCount > dataLength ? `more than ${dataLength}` : String(expectedBytes);
    return fail(`shape ${fmtShape(dims)} of ${dtype} needs ${need} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, dtype, shape: dims, elementCount, begin, end };
}

/** The format requires the tensors to tile the data section exactly: no overlaps, no holes, nothing after. */
function checkCoverage(entries: readonly SkippedSafetensorsEntry[], dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: SkippedSafetensorsEntry | undefined;
  for (const entry of sorted) {
    if (entry.begin < covered && previous !== undefined) {
      throw new ModelFileError(
        `data_offsets [${entry.begin}, ${entry.end}] overlap tensor "${previous.name}" [${previous.begin}, ${previous.end}]`,
        { tensorName: entry.name },
      );
    }
    if (entry.begin > covered) {
      throw new ModelFileError(
        `data_offsets [${entry.begin}, ${entry.end}] leave a gap: bytes [${covered}, ${entry.begin}) of the data section belong to no tensor`,
        { tensorName: entry.name },
      );
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered < dataLength) {
    throw new ModelFileError(`data section has ${dataLength - covered} bytes after the last tensor that belong to no tensor`);
  }
}

export type SafetensorsInput = Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor>;

/**
 * Writes tensors as an F32 safetensors file (in insertion order). The header is padded with spaces to a
 * multiple of 8 bytes, as the reference writer does, so every tensor's data is aligned in the output.
 */
export function serializeSafetensors(tensors: SafetensorsInput, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, Tensor>);
  const headerEntries: [string, unknown][] = [];
  if (metadata !== undefined) headerEntries.push([METADATA_KEY, Object.fromEntries(Object.entries(metadata))]);
  let offset = 0;
  for (const [name, t] of list) {
    if (name === METADATA_KEY) throw new ModelFileError(`"${METADATA_KEY}" is reserved and cannot name a tensor`);
    let count = 1;
    for (const dim of t.shape) {
      if (!Number.isSafeInteger(dim) || dim < 0) throw new ModelFileError(`invalid dimension ${dim} in ${fmtShape(t.shape)}`, { tensorName: name });
      count *= dim;
    }
    if (count !== t.data.length) {
      throw new ModelFileError(`shape ${fmtShape(t.shape)} needs ${count} values but data has ${t.data.length}`, { tensorName: name });
    }
    headerEntries.push([name, { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] }]);
    offset += t.data.byteLength;
  }

  // fromEntries defines properties, so a tensor named "__proto__" stays an ordinary key.
  let headerBytes = new TextEncoder().encode(JSON.stringify(Object.fromEntries(headerEntries)));
  const padded = Math.ceil(headerBytes.length / 8) * 8;
  if (padded !== headerBytes.length) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(headerBytes);
    headerBytes = spaced;
  }

  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const [, t] of list) {
    if (HOST_IS_LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), position);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(position + i * 4, t.data[i], true);
    }
    position += t.data.byteLength;
  }
  return out;
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of a JSON value for error messages (never dumps a huge value). */
function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}
