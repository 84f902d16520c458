/**
 * Loads the WebAssembly GEMM (gemm.wat, embedded as base64 in gemmWasm.ts) and runs it on
 * Float32Arrays: copy A, B (and C when accumulating) into its memory, run, copy C out. The copies are
 * O(size), negligible beside the O(m·k·n) product. One memory per build, grown as needed and kept.
 * Synchronous and self-contained (no file loading), so it works in worker threads, the CLI bundle and tests.
 */
import { GEMM_WASM_RELAXED_SIMD, GEMM_WASM_SIMD } from './gemmWasm';

export type WasmBuild = 'wasm-relaxed-simd' | 'wasm-simd';

/** Flags of the exported gemm (see gemm.wat). */
export const GEMM_B_TRANSPOSED = 1;
export const GEMM_ACCUMULATE = 2;
export const GEMM_LOWER_ONLY = 4;

/** Largest memory we let one call use; beyond it the caller falls back to JS. */
const MAX_BYTES = 1 << 30;
const PAGE = 65536;

interface GemmExports {
  readonly memory: WebAssembly.Memory;
  readonly MR: WebAssembly.Global;
  readonly NR: WebAssembly.Global;
  readonly KC: WebAssembly.Global;
  readonly MC: WebAssembly.Global;
  gemm(a: number, b: number, c: number, pa: number, pb: number, m: number, k: number, n: number, flags: number): void;
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  // atob exists in Node ≥ 16 and in browsers; no Buffer, so nothing Node-only here.
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const align = (x: number) => (x + 63) & ~63;

export class WasmGemm {
  readonly build: WasmBuild;
  private readonly ex: GemmExports;
  private readonly mr: number;
  private readonly nr: number;
  private readonly kcMax: number;
  private readonly mcMax: number;
  private view: Float32Array;

  constructor(build: WasmBuild, bytes: Uint8Array<ArrayBuffer>) {
    this.build = build;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    this.ex = instance.exports as unknown as GemmExports;
    this.mr = this.ex.MR.value as number;
    this.nr = this.ex.NR.value as number;
    this.kcMax = this.ex.KC.value as number;
    this.mcMax = this.ex.MC.value as number;
    this.view = new Float32Array(this.ex.memory.buffer);
  }

  /** Bytes of memory the module holds now. */
  get memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /**
   * C[m, n] (+)= A[m, k] · B, B being [k, n] or (B_TRANSPOSED) [n, k]. m, k, n ≥ 1. Returns false,
   * having done nothing, when the problem needs more memory than allowed or the memory cannot grow.
   */
  run(A: Float32Array, B: Float32Array, C: Float32Array, m: number, k: number, n: number, flags: number): boolean {
    const kc = Math.min(k, this.kcMax);
    const packA = 1024; // bytes [0, 1024): the edge-tile scratch
    const packB = align(packA + Math.ceil(Math.min(m, this.mcMax) / this.mr) * this.mr * kc * 4);
    const a = align(packB + Math.ceil(n / this.nr) * this.nr * kc * 4);
    const b = align(a + m * k * 4);
    const c = align(b + k * n * 4);
    const end = c + m * n * 4;
    if (end > MAX_BYTES) return false;
    const mem = this.ex.memory;
    if (end > mem.buffer.byteLength) {
      try {
        mem.grow(Math.ceil((end - mem.buffer.byteLength) / PAGE));
      } catch {
        return false;
      }
    }
    if (this.view.buffer !== mem.buffer) this.view = new Float32Array(mem.buffer);
    const v = this.view;
    v.set(A.length === m * k ? A : A.subarray(0, m * k), a >> 2);
    v.set(B.length === k * n ? B : B.subarray(0, k * n), b >> 2);
    if (flags & GEMM_ACCUMULATE) v.set(C.length === m * n ? C : C.subarray(0, m * n), c >> 2);
    this.ex.gemm(a, b, c, packA, packB, m, k, n, flags);
    C.set(v.subarray(c >> 2, (c >> 2) + m * n));
    return true;
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
