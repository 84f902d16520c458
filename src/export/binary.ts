/**
 * Attention tensors as binary files for numpy / PyTorch: NPY (one file per tensor) or one safetensors file,
 * each beside a JSON sidecar. Layers are fetched one at a time and written at their final offsets, so an
 * export holds one layer and one output block, never the whole [layers', heads', n, n] tensor.
 *
 * NPY: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 * safetensors: https://github.com/huggingface/safetensors
 */
import { lstat, mkdir, open, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../errors';

/** What a binary export reads; `layer()` may recompute the layer, so it is called once per selected layer. */
export interface LayerSource {
  readonly n: number;
  readonly layers: number;
  readonly heads: number;
  /** Row-major [heads, n, n]; scores are the scaled pre-softmax scores, masked cells -Infinity. */
  layer(index: number): { readonly weights: Float32Array; readonly scores: Float32Array };
}

/** Which layers and heads to write: ascending, distinct, in range (see parseIndexSpec). */
export interface Selection {
  readonly layers: readonly number[];
  readonly heads: readonly number[];
}

export interface BinaryExportOptions {
  /** Called before each layer; throw to cancel (the partial files are removed). */
  readonly checkpoint?: () => void;
}

export interface BinaryExportResult {
  /** Every file written, data first, the JSON sidecar last. */
  files: string[];
  /** Their total size. */
  bytes: number;
}

const HOST_LITTLE_ENDIAN = endianness() === 'LE';

/** Writes `dir/attentions.npy`, `dir/scores.npy` (float32 [layers', heads', n, n]) and `dir/inspection.json`. */
export async function writeNpy(
  dir: string,
  source: LayerSource,
  selection: Selection,
  sidecar: object,
  options: BinaryExportOptions = {},
): Promise<BinaryExportResult> {
  const shape = outputShape(source, selection);
  const header = npyHeader(shape);
  const fileBytes = header.length + elementCount(shape) * 4; // each .npy
  const names = { attentions: 'attentions.npy', scores: 'scores.npy' };
  const sidecarText = sidecarJson(sidecar, shape, selection, names, true);
  const paths = [join(dir, names.attentions), join(dir, names.scores), join(dir, 'inspection.json')];

  const created = await mkdir(dir, { recursive: true });
  try {
    await withOutputFiles(paths, async ([attentions, scores, json]) => {
      await writeFully(attentions, header, 0);
      await writeFully(scores, header, 0);
      await writeLayers(source, selection, { file: attentions, start: header.length }, { file: scores, start: header.length }, options);
      await writeFully(json, Buffer.from(sidecarText), 0);
    });
  } catch (error) {
    if (created !== undefined) await removeEmptyDirs(dir, created);
    throw error;
  }
  return { files: paths, bytes: 2 * fileBytes + Buffer.byteLength(sidecarText) };
}

/**
 * Writes one safetensors file with F32 tensors `attentions` and `scores` ([layers', heads', n, n]) and the
 * sidecar as compact JSON in `__metadata__.inspection`, plus the sidecar as `<path minus .safetensors>.json`.
 */
export async function writeSafetensors(
  path: string,
  source: LayerSource,
  selection: Selection,
  sidecar: object,
  options: BinaryExportOptions = {},
): Promise<BinaryExportResult> {
  const shape = outputShape(source, selection);
  const tensorBytes = elementCount(shape) * 4;
  const name = basename(path);
  const names = { attentions: name, scores: name };
  const sidecarText = sidecarJson(sidecar, shape, selection, names, true);
  const header = safetensorsHeader(shape, tensorBytes, sidecarJson(sidecar, shape, selection, names, false));
  const jsonPath = path.replace(/\.safetensors$/i, '') + '.json';
  const paths = [path, jsonPath];

  await withOutputFiles(paths, async ([file, json]) => {
    await writeFully(file, header, 0);
    const dataStart = header.length;
    await writeLayers(source, selection, { file, start: dataStart }, { file, start: dataStart + tensorBytes }, options);
    await writeFully(json, Buffer.from(sidecarText), 0);
  });
  return { files: paths, bytes: header.length + 2 * tensorBytes + Buffer.byteLength(sidecarText) };
}

/**
 * Parses a --layers / --heads value: "all", "3", "0,2,5", "4-7", "0,3-5,9" (spaces allowed) into ascending,
 * distinct indices below `count`. Anything else is the user's mistake and says what is valid.
 */
export function parseIndexSpec(spec: string, count: number, what: 'layer' | 'head'): number[] {
  const flag = what === 'layer' ? '--layers' : '--heads';
  const valid =
    count === 0 ? `the model has no ${what}s` : count === 1 ? `the model has 1 ${what} (0)` : `the model has ${count} ${what}s (0–${count - 1})`;
  const fail = (problem: string) => new UserError(`${flag}: ${problem}; ${valid}`);
  const index = (digits: string) => {
    const value = Number(digits);
    if (value >= count) throw fail(`${digits} is out of range`);
    return value;
  };

  const text = spec.trim();
  if (!text) throw fail('is empty (give "all", an index like 3, a list like 0,2,5 or a range like 4-7)');
  if (text.toLowerCase() === 'all') return Array.from({ length: count }, (_, i) => i);
  const picked = new Set<number>();
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (!item) throw fail(`"${text}" has an empty item`);
    const match = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(item);
    if (!match) {
      throw fail(/^-\s*\d/.test(item) ? `${item} is negative` : `"${item}" is not an index (3) or a range (4-7)`);
    }
    const first = index(match[1]);
    const last = match[2] === undefined ? first : index(match[2]);
    if (last < first) throw fail(`the range ${item} is reversed (write ${match[2]}-${match[1]})`);
    for (let i = first; i <= last; i++) picked.add(i);
  }
  return [...picked].sort((a, b) => a - b);
}

/**
 * The selected heads of one layer's [heads, n, n] array as little-endian bytes ([heads', n, n]). A view of
 * `data` when nothing needs moving; otherwise filled into `block` (heads'·n² floats, reused across layers).
 * `hostLittleEndian` is a parameter only so tests can exercise the swap on a little-endian machine.
 */
export function selectedHeadBytes(
  data: Float32Array,
  heads: readonly number[],
  plane: number,
  block: Float32Array,
  hostLittleEndian = HOST_LITTLE_ENDIAN,
): Uint8Array {
  const allHeads = heads.length * plane === data.length && heads.every((h, i) => h === i);
  if (allHeads && hostLittleEndian) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  heads.forEach((h, j) => block.set(data.subarray(h * plane, (h + 1) * plane), j * plane));
  const bytes = Buffer.from(block.buffer, block.byteOffset, heads.length * plane * 4);
  return hostLittleEndian ? bytes : bytes.swap32();
}

// ── internals ──────────────────────────────────────────────────────────────────────────────────────────

/**
 * The NPY v1.0 preamble and header for a little-endian float32 C-order array: magic, version, header length,
 * the dict literal padded with spaces and a newline so the data starts on a 64-byte boundary. Version 2.0
 * (u32 length) only when the header would not fit a u16.
 */
function npyHeader(shape: readonly number[]): Buffer {
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  let prefix = 10; // magic 6 + version 2 + u16 length
  let total = alignUp(prefix + dict.length + 1, 64);
  if (total - prefix > 0xffff) {
    prefix = 12; // u32 length
    total = alignUp(prefix + dict.length + 1, 64);
  }
  const bytes = Buffer.alloc(total, 0x20);
  bytes.write('\x93NUMPY', 0, 'latin1');
  bytes[6] = prefix === 10 ? 1 : 2;
  bytes[7] = 0;
  if (prefix === 10) bytes.writeUInt16LE(total - prefix, 8);
  else bytes.writeUInt32LE(total - prefix, 8);
  bytes.write(dict, prefix, 'latin1');
  bytes[total - 1] = 0x0a;
  return bytes;
}

/** Where one [layers', heads', n, n] tensor's data begins. */
interface Placement {
  readonly file: FileHandle;
  readonly start: number;
}

/** Fetches each selected layer once, in order, and writes its block into both tensors at the k-th slot. */
async function writeLayers(source: LayerSource, selection: Selection, attentions: Placement, scores: Placement, options: BinaryExportOptions): Promise<void> {
  const { n, heads } = source;
  const plane = n * n;
  const expected = heads * plane;
  const blockBytes = selection.heads.length * plane * 4;
  const direct = HOST_LITTLE_ENDIAN && selection.heads.length === heads; // every head, bytes as they are
  const block = new Float32Array(direct ? 0 : selection.heads.length * plane); // [heads', n, n], reused
  for (let k = 0; k < selection.layers.length; k++) {
    options.checkpoint?.();
    const index = selection.layers[k];
    const layer = source.layer(index); // scoped to this iteration, so only one layer is alive at a time
    for (const [what, data] of [['weights', layer.weights], ['scores', layer.scores]] as const) {
      if (data.length !== expected) {
        throw new Error(`layer ${index} ${what} has ${data.length} values, expected [${heads}, ${n}, ${n}] = ${expected}`);
      }
    }
    await writeFully(attentions.file, selectedHeadBytes(layer.weights, selection.heads, plane, block), attentions.start + k * blockBytes);
    await writeFully(scores.file, selectedHeadBytes(layer.scores, selection.heads, plane, block), scores.start + k * blockBytes);
  }
}

/**
 * Opens every path for writing, runs `body`, closes them. On any failure (open, write, cancel, close) the
 * handles are closed and the files this call created are removed, then the original error is rethrown.
 */
async function withOutputFiles(paths: readonly string[], body: (files: FileHandle[]) => Promise<void>): Promise<void> {
  const handles: FileHandle[] = [];
  let opened = 0;
  try {
    for (const path of paths) {
      handles.push(await open(path, 'w'));
      opened++;
    }
    await body(handles);
    const closing = handles.splice(0);
    const results = await Promise.allSettled(closing.map((h) => h.close()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason; // a late write error (NFS, quota) shows at close
  } catch (error) {
    await Promise.allSettled(handles.map((h) => h.close()));
    await Promise.allSettled(paths.slice(0, opened).map(removeIfRegularFile));
    throw error;
  }
}

// Never unlink what is not a plain file: a path like /dev/null was opened, not created.
async function removeIfRegularFile(path: string): Promise<void> {
  if ((await lstat(path)).isFile()) await unlink(path);
}

/** Removes `dir` and its parents up to `createdRoot` (what mkdir made), stopping at the first that is not empty. */
async function removeEmptyDirs(dir: string, createdRoot: string): Promise<void> {
  const root = resolve(createdRoot);
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
    if (d === root || d === dirname(d)) return;
  }
}

/** Writes all of `bytes` at `position`: a single write may be short (Linux caps one at ~2 GB). */
async function writeFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`wrote 0 of ${bytes.length - done} bytes`);
    done += bytesWritten;
  }
}

function outputShape(source: LayerSource, selection: Selection): number[] {
  checkIndices(selection.layers, source.layers, 'layer');
  checkIndices(selection.heads, source.heads, 'head');
  return [selection.layers.length, selection.heads.length, source.n, source.n]; // [layers', heads', n, n]
}

// The CLI validates with parseIndexSpec; a bad selection here is a bug, not the user's.
function checkIndices(indices: readonly number[], count: number, what: string): void {
  indices.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= count || (i > 0 && v <= indices[i - 1])) {
      throw new Error(`${what} selection [${indices.join(', ')}] must be ascending, distinct and below ${count}`);
    }
  });
}

function sidecarJson(sidecar: object, shape: number[], selection: Selection, files: Record<string, string>, pretty: boolean): string {
  // Our fields win over same-named sidecar fields: they describe the files actually written.
  const doc = { ...sidecar, shape, layers: [...selection.layers], heads: [...selection.heads], files };
  return pretty ? JSON.stringify(doc, null, 2) + '\n' : JSON.stringify(doc);
}

/** [u64 LE length][JSON, space-padded so the data starts 8-aligned]; attentions then scores in the data. */
function safetensorsHeader(shape: number[], tensorBytes: number, inspection: string): Buffer {
  const json = JSON.stringify({
    __metadata__: { inspection },
    attentions: { dtype: 'F32', shape, data_offsets: [0, tensorBytes] },
    scores: { dtype: 'F32', shape, data_offsets: [tensorBytes, 2 * tensorBytes] },
  });
  const length = alignUp(Buffer.byteLength(json), 8);
  const bytes = Buffer.alloc(8 + length, 0x20);
  bytes.writeBigUInt64LE(BigInt(length), 0);
  bytes.write(json, 8, 'utf8');
  return bytes;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
