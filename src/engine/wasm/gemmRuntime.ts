/**
 * Loads the WebAssembly GEMM (gemm.wat, embedded as base64 in gemmWasm.ts) and runs it on
 * Float32Arrays: copy A, B (and C when accumulating) into its memory, run, copy C out. The copies are
 * O(size), negligible beside the O(m·k·n) product. One memory per build, grown as needed and kept.
 * Synchronous and self-contained (no file loading), so it works in worker threads, the CLI bundle and tests.
 * This is the single-thread kernel; pool.ts runs the shared-memory builds on several threads.
 */
import { GEMM_WASM_RELAXED_SIMD, GEMM_WASM_SIMD } from './gemmWasm';

export type WasmBuild = 'wasm-relaxed-simd' | 'wasm-simd';

/** Flags of the exported gemm (see gemm.wat). */
export const GEMM_B_TRANSPOSED = 1;
export const GEMM_ACCUMULATE = 2;
export const GEMM_LOWER_ONLY = 4;
/** B is packed already (packBAll), at the pb address: how threads share one packed B. */
export const GEMM_B_PACKED = 8;

/** Largest memory we let one call use; beyond it the caller falls back to JS. gemm.wat's memory maximum is this in pages. */
export const MAX_BYTES = 1 << 30;
export const PAGE = 65536;
export const MAX_PAGES = MAX_BYTES / PAGE;

/** What an instance of gemm.wat exports (its memory is imported: env.memory). */
export interface GemmExports {
  /** Byte address of this instance's edge-tile scratch (160 bytes); one per thread on a shared memory. */
  readonly scratch: WebAssembly.Global;
  readonly MR: WebAssembly.Global;
  readonly NR: WebAssembly.Global;
  readonly KC: WebAssembly.Global;
  readonly MC: WebAssembly.Global;
  gemm(a: number, b: number, c: number, pa: number, pb: number, m: number, k: number, n: number, flags: number, row0: number): void;
  /** Packs all of B at pb for GEMM_B_PACKED (k·ceil(n/NR)·NR floats); bt = 1: B is [n, k]. */
  packBAll(b: number, pb: number, k: number, n: number, bt: number): void;
}

/** Something that computes C[m, n] (+)= A[m, k] · B on Float32Arrays, or returns false having done nothing. */
export interface GemmRunner {
  readonly build: WasmBuild;
  run(A: Float32Array, B: Float32Array, C: Float32Array, m: number, k: number, n: number, flags: number): boolean;
}

export function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  // atob exists in Node ≥ 16 and in browsers; no Buffer, so nothing Node-only here.
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The import of gemm.wat's memory in the binary: module "env", field "memory", kind memory, limits flag 1 (has a maximum). */
const MEMORY_IMPORT = [3, 0x65, 0x6e, 0x76, 6, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 1];

/**
 * The same module on a shared memory (WebAssembly threads): the import's limits flag becomes 3 (has a
 * maximum, shared). That one byte is all `shared` changes (test/unit/engine/gemm.test.ts checks it against
 * assembling the shared text).
 */
export function sharedGemmBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const at: number[] = [];
  for (let i = 0; i + MEMORY_IMPORT.length <= bytes.length; i++) {
    if (MEMORY_IMPORT.every((b, j) => bytes[i + j] === b)) at.push(i);
  }
  if (at.length !== 1) throw new Error(`sharedGemmBytes: expected one import of env.memory with a maximum, found ${at.length}`);
  const out = Uint8Array.from(bytes);
  out[at[0] + MEMORY_IMPORT.length - 1] = 3;
  return out;
}

/** An instance of gemm.wat on `memory`, its edge-tile scratch at byte `scratch`. */
export function gemmInstance(module: WebAssembly.Module, memory: WebAssembly.Memory, scratch: number): GemmExports {
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GemmExports;
  ex.scratch.value = scratch;
  return ex;
}

export const align = (x: number) => (x + 63) & ~63;

/**
 * Bytes of the packing buffers for a product with inner size k and n columns: [one thread's packed A,
 * one k block of packed B, all of B packed (packBAll)].
 */
export function packBytes(ex: GemmExports, m: number, k: number, n: number): [number, number, number] {
  const mr = ex.MR.value as number, nr = ex.NR.value as number;
  const kc = Math.min(k, ex.KC.value as number);
  const npad = Math.ceil(n / nr) * nr;
  return [align(Math.ceil(Math.min(m, ex.MC.value as number) / mr) * mr * kc * 4), align(npad * kc * 4), align(npad * k * 4)];
}

/** The single-thread kernel on its own (private) memory. */
export class WasmGemm implements GemmRunner {
  readonly build: WasmBuild;
  private readonly ex: GemmExports;
  private readonly memory: WebAssembly.Memory;
  private view: Float32Array;

  constructor(build: WasmBuild, bytes: Uint8Array<ArrayBuffer>) {
    this.build = build;
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
    this.ex = gemmInstance(new WebAssembly.Module(bytes), this.memory, 0); // bytes [0, 1024): the edge-tile scratch
    this.view = new Float32Array(this.memory.buffer);
  }

  /** Bytes of memory the module holds now. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /**
   * C[m, n] (+)= A[m, k] · B, B being [k, n] or (B_TRANSPOSED) [n, k]. m, k, n ≥ 1. Returns false,
   * having done nothing, when the problem needs more memory than allowed or the memory cannot grow.
   */
  run(A: Float32Array, B: Float32Array, C: Float32Array, m: number, k: number, n: number, flags: number): boolean {
    const [paBytes, pbBytes] = packBytes(this.ex, m, k, n); // one k block of B at a time
    const packA = 1024;
    const packB = packA + paBytes;
    const a = packB + pbBytes;
    const b = align(a + m * k * 4);
    const c = align(b + k * n * 4);
    const end = c + m * n * 4;
    if (!growTo(this.memory, end)) return false;
    if (this.view.buffer !== this.memory.buffer) this.view = new Float32Array(this.memory.buffer);
    const v = this.view;
    v.set(A.length === m * k ? A : A.subarray(0, m * k), a >> 2);
    v.set(B.length === k * n ? B : B.subarray(0, k * n), b >> 2);
    if (flags & GEMM_ACCUMULATE) v.set(C.length === m * n ? C : C.subarray(0, m * n), c >> 2);
    this.ex.gemm(a, b, c, packA, packB, m, k, n, flags, 0);
    C.set(v.subarray(c >> 2, (c >> 2) + m * n));
    return true;
  }
}

/** Grows memory to at least `end` bytes; false when that is over MAX_BYTES or the memory cannot grow. */
export function growTo(memory: WebAssembly.Memory, end: number): boolean {
  if (end > MAX_BYTES) return false;
  const have = memory.buffer.byteLength;
  if (end <= have) return true;
  try {
    memory.grow(Math.ceil((end - have) / PAGE));
    return true;
  } catch {
    return false;
  }
}

export interface WasmSupport {
  readonly simd: WasmGemm | null;
  readonly relaxed: WasmGemm | null;
  /** Why a build is missing, when one is. */
  readonly error?: string;
}

let support: WasmSupport | undefined;

/** Instantiates whatever this runtime validates, once. Never throws. */
export function wasmSupport(): WasmSupport {
  if (support) return support;
  const errors: string[] = [];
  const load = (build: WasmBuild, b64: string): WasmGemm | null => {
    try {
      if (typeof WebAssembly !== 'object') throw new Error('no WebAssembly in this runtime');
      const bytes = decodeBase64(b64);
      // Relaxed SIMD (f32x4.relaxed_madd) validates from V8 11.4 (Node 22; not Node 20), plain SIMD128 from Node 16.
      if (!WebAssembly.validate(bytes)) throw new Error(`${build}: not supported by this runtime`);
      return new WasmGemm(build, bytes);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
      return null;
    }
  };
  const simd = load('wasm-simd', GEMM_WASM_SIMD);
  const relaxed = load('wasm-relaxed-simd', GEMM_WASM_RELAXED_SIMD);
  support = errors.length ? { simd, relaxed, error: errors.join('; ') } : { simd, relaxed };
  return support;
}
