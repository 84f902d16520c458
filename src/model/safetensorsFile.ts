/**
 * The thin Node layer: reads safetensors files from disk. All validation lives in the byte-level parser
 * (safetensors.ts); this file only decides which bytes to read.
 *
 * Tensors are read one by one straight into their own buffers rather than reading the whole file first:
 * Node 20 cannot hold a file over 2 GB in one Buffer (gpt2-xl in F32 is ~6.4 GB), and per-tensor reads
 * keep peak memory at the size of the tensors actually kept. F32 data is read into the Float32Array
 * itself; F16 and BF16 data into the upper half of its float32 buffer and widened there, so neither
 * needs an intermediate copy.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import type { Tensor } from '../engine/tensor';
import { ModelFileError } from './errors';
import { HOST_IS_LITTLE_ENDIAN, widen16InPlace } from './dtypes';
import { decodeEntry, parseSafetensorsHeader, readHeaderLength, type SafetensorsContents, type SafetensorsEntry } from './safetensors';

export interface SafetensorsFileContents extends SafetensorsContents {
  /** Names in the file that `include` left out (unread). */
  readonly skipped: readonly string[];
}

export interface ReadSafetensorsFileOptions {
  /** Which tensors to load (all by default). Skipped tensors are checked for layout (any dtype) but never read. */
  readonly include?: (name: string) => boolean;
}

/** Node's single-read limit is 2 GB; larger tensors are read in pieces. */
const MAX_READ_BYTES = 1 << 30;

export async function readSafetensorsFile(filePath: string, options: ReadSafetensorsFileOptions = {}): Promise<SafetensorsFileContents> {
  let handle: FileHandle;
  try {
    handle = await open(filePath, 'r');
  } catch (cause) {
    throw new ModelFileError(describeOpenError(cause), { filePath, cause });
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new ModelFileError('is a folder, not a file');
    const fileSize = info.size;
    const lengthBytes = await readExactly(handle, 0, Math.min(8, fileSize), filePath);
    const headerLength = readHeaderLength(lengthBytes, fileSize);
    const headerBytes = await readExactly(handle, 8, headerLength, filePath);
    const header = parseSafetensorsHeader(headerBytes, fileSize - 8 - headerLength, options.include);

    const wanted = header.entries;
    // Read in file order so the disk streams forward.
    const byPosition = [...wanted].sort((a, b) => a.begin - b.begin);
    const loaded = new Map<string, Tensor>();
    for (const entry of byPosition) loaded.set(entry.name, await readTensor(handle, header.dataStart, entry, filePath));
    const tensors = new Map<string, Tensor>();
    for (const entry of wanted) tensors.set(entry.name, loaded.get(entry.name) as Tensor);
    const skipped = header.skipped.map((entry) => entry.name);
    return { tensors, metadata: header.metadata, skipped };
  } catch (error) {
    if (error instanceof ModelFileError) throw error.inFile(filePath);
    throw new ModelFileError(`cannot read file (${errorMessage(error)})`, { filePath, cause: error });
  } finally {
    await handle.close();
  }
}

/** One tensor as float32, its bytes read into the buffer that becomes its data when the dtype allows. */
async function readTensor(handle: FileHandle, dataStart: number, entry: SafetensorsEntry, filePath: string): Promise<Tensor> {
  const position = dataStart + entry.begin;
  const length = entry.end - entry.begin;
  if ((entry.dtype === 'BF16' || entry.dtype === 'F16') && HOST_IS_LITTLE_ENDIAN && entry.elementCount > 0) {
    const buffer = allocate(entry.elementCount * 4, filePath, entry.name);
    await readInto(handle, new Uint8Array(buffer.buffer, length, length), position, filePath, entry.name);
    return { shape: [...entry.shape], data: widen16InPlace(entry.dtype, buffer.buffer, entry.elementCount) };
  }
  // A fresh, aligned buffer owned by nobody else, so F32 tensors can view it without copying.
  const raw = await readExactly(handle, position, length, filePath, entry.name);
  return decodeEntry(entry, raw, false);
}

function allocate(length: number, filePath: string, tensorName?: string): Uint8Array<ArrayBuffer> {
  try {
    return new Uint8Array(length);
  } catch (cause) {
    throw new ModelFileError(`cannot allocate ${length} bytes (${errorMessage(cause)})`, { filePath, tensorName, cause });
  }
}

/** Reads `length` bytes at `position` into a new buffer; a short read means the file changed or is truncated. */
async function readExactly(handle: FileHandle, position: number, length: number, filePath: string, tensorName?: string): Promise<Uint8Array> {
  const buffer = allocate(length, filePath, tensorName);
  await readInto(handle, buffer, position, filePath, tensorName);
  return buffer;
}

/** Fills `buffer` with the bytes at `position`; a short read means the file changed or is truncated. */
async function readInto(handle: FileHandle, buffer: Uint8Array, position: number, filePath: string, tensorName?: string): Promise<void> {
  const length = buffer.length;
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, Math.min(length - filled, MAX_READ_BYTES), position + filled);
    if (bytesRead === 0) {
      throw new ModelFileError(`file ended after ${position + filled} bytes while reading ${length} bytes at offset ${position} (truncated?)`, {
        filePath,
        tensorName,
      });
    }
    filled += bytesRead;
  }
}

/** Reads and parses a JSON file, naming the file (and the syntax error) on failure. */
export async function readJsonFile(filePath: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (cause) {
    throw new ModelFileError(describeOpenError(cause), { filePath, cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ModelFileError(`invalid JSON (${errorMessage(cause)})`, { filePath, cause });
  }
}

function describeOpenError(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder, not a file';
  return `cannot open file (${errorMessage(cause)})`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
