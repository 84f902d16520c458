import { fmtShape, ShapeError, tensor, type Tensor } from './tensor';
import type { NormWeights } from './types';
import { GEMM_ACCUMULATE, GEMM_B_TRANSPOSED, GEMM_LOWER_ONLY, wasmSupport, type GemmRunner } from './wasm/gemmRuntime';
import { activePool, kernelThreads } from './wasm/pool';

function dims2(op: string, what: string, t: Tensor): [number, number] {
  if (t.shape.length !== 2) throw new ShapeError(op, `${what} must be 2-D, got ${fmtShape(t.shape)}`);
  return [t.shape[0], t.shape[1]];
}

/**
 * Where the matrix products run. 'wasm-relaxed-simd' and 'wasm-simd' are the WebAssembly kernel
 * (src/engine/wasm/gemm.wat) with and without fused multiply-add; 'js' is the plain TypeScript
 * kernel below, the fallback and the reference.
 */
export type KernelBackend = 'wasm-relaxed-simd' | 'wasm-simd' | 'js';

export interface KernelInfo {
  /** What products of at least `minWasmMacs` multiply-adds run on now. */
  readonly backend: KernelBackend;
  /** What setKernelBackend asked for; 'auto' picks the fastest available backend. */
  readonly requested: KernelBackend | 'auto';
  /** Backends this runtime can run, fastest first ('js' always). */
  readonly available: readonly KernelBackend[];
  /** Under 'auto', products with fewer multiply-adds (m·k·n) stay in JS: the call and copies would win. */
  readonly minWasmMacs: number;
  /** Bytes of WebAssembly memory held by the kernels (grown on demand, never shrunk). */
  readonly wasmMemoryBytes: number;
  /** Why a WebAssembly build is unavailable, when one is (e.g. no relaxed SIMD on Node 20). */
  readonly unavailable?: string;
  /**
   * Threads that share large WebAssembly products (src/engine/wasm/pool.ts): 1 unless the host started
   * kernel threads (startKernelThreads) and the backend is WebAssembly.
   */
  readonly threads: number;
  /** Why products run on one thread although kernel threads were asked for ("shared memory unavailable", "1 core"). */
  readonly threadsUnavailable?: string;
}

/**
 * m·k·n below which 'auto' stays in JS. Measured on x64 (Node 20): the two break even near 8×8×8
 * (~0.4 µs a call); at 16×16×16 WebAssembly takes 0.7 µs against 3.5 µs in JS.
 */
const MIN_WASM_MACS = 1024;

let requested: KernelBackend | 'auto' = 'auto';

function wasmBuild(backend: KernelBackend | 'auto'): GemmRunner | null {
  if (backend === 'js') return null;
  const s = wasmSupport();
  const single = backend === 'wasm-simd' ? s.simd : backend === 'wasm-relaxed-simd' ? s.relaxed : (s.relaxed ?? s.simd);
  // With kernel threads, every WebAssembly product runs on the shared memory (one memory, not two),
  // split between the threads when it is large enough.
  return (single && activePool()?.runner(single.build)) ?? single;
}

/** The WebAssembly kernel to use for a product of `macs` multiply-adds, or null for JS. */
function wasmFor(macs: number): GemmRunner | null {
  if (requested === 'auto' && macs < MIN_WASM_MACS) return null;
  return wasmBuild(requested);
}

export function kernelInfo(): KernelInfo {
  const s = wasmSupport();
  const available: KernelBackend[] = [];
  if (s.relaxed) available.push('wasm-relaxed-simd');
  if (s.simd) available.push('wasm-simd');
  available.push('js');
  const backend = wasmBuild(requested)?.build ?? 'js';
  const threads = kernelThreads();
  const info: KernelInfo = {
    backend,
    requested,
    available,
    minWasmMacs: MIN_WASM_MACS,
    wasmMemoryBytes: (s.relaxed?.memoryBytes ?? 0) + (s.simd?.memoryBytes ?? 0) + (activePool()?.memoryBytes ?? 0),
    threads: backend === 'js' ? 1 : threads.threads,
    ...(threads.unavailable && backend !== 'js' ? { threadsUnavailable: threads.unavailable } : {}),
  };
  return s.error ? { ...info, unavailable: s.error } : info;
}

/**
 * Forces a backend for every product ('js' for comparisons and tests; a wasm build also for small
 * products), or 'auto' (the default): the fastest build for products of at least minWasmMacs
 * multiply-adds, JS below. Throws when the runtime cannot run the requested build.
 */
export function setKernelBackend(backend: KernelBackend | 'auto'): void {
  if (backend !== 'auto' && backend !== 'js' && !wasmBuild(backend)) {
    throw new Error(`setKernelBackend: ${backend} is not available here (${kernelInfo().unavailable ?? 'unknown reason'})`);
  }
  requested = backend;
}

/**
 * C[m, n] = A[m, k] · B[k, n], on the WebAssembly kernel when it pays (see matmulInto).
 */
export function matmul(a: Tensor, b: Tensor, op = 'matmul'): Tensor {
  const [m, k] = dims2(op, 'left operand', a);
  const [k2, n] = dims2(op, 'right operand', b);
  if (k !== k2) throw new ShapeError(op, `inner dimensions differ: ${fmtShape(a.shape)} · ${fmtShape(b.shape)}`);
  const out = new Float32Array(m * n);
  matmulInto(a.data, b.data, out, m, k, n);
  return { shape: [m, n], data: out };
}

/**
 * out[m, n] += A[m, k] · B[k, n] on raw row-major arrays (out is usually zeroed by the caller).
 * Runs on the WebAssembly kernel (kernelInfo().backend) when the product is large enough, else on
 * matmulIntoJs; both follow plain float math (NaN and ±Infinity propagate, 0·Inf is NaN) and differ
 * only in summation order.
 */
export function matmulInto(A: Float32Array, B: Float32Array, out: Float32Array, m: number, k: number, n: number): void {
  if (m <= 0 || n <= 0 || k <= 0) return;
  checkBuffers('matmulInto', A, B, out, m, k, n, [k, n]);
  const wasm = wasmFor(m * k * n);
  if (wasm && wasm.run(A, B, out, m, k, n, GEMM_ACCUMULATE)) return;
  matmulIntoJs(A, B, out, m, k, n);
}

/** Raw-array kernels read past short buffers as NaN; say which buffer is short instead. */
function checkBuffers(op: string, A: Float32Array, B: Float32Array, out: Float32Array, m: number, k: number, n: number, bShape: [number, number]): void {
  const problems: string[] = [];
  if (A.length < m * k) problems.push(`A holds ${A.length} values, [${m}, ${k}] needs ${m * k}`);
  if (B.length < bShape[0] * bShape[1]) problems.push(`B holds ${B.length} values, [${bShape[0]}, ${bShape[1]}] needs ${bShape[0] * bShape[1]}`);
  if (out.length < m * n) problems.push(`out holds ${out.length} values, [${m}, ${n}] needs ${m * n}`);
  if (problems.length) throw new ShapeError(op, problems.join('; '));
}

/**
 * The pure-JS kernel behind matmulInto: out[m, n] += A[m, k] · B[k, n]. Four rows of A share each
 * row of B, so B streams through the cache a quarter as often; the inner loops run over contiguous memory.
 */
export function matmulIntoJs(A: Float32Array, B: Float32Array, out: Float32Array, m: number, k: number, n: number): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const r0 = i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    const a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    for (let p = 0; p < k; p++) {
      const x0 = A[a0 + p], x1 = A[a1 + p], x2 = A[a2 + p], x3 = A[a3 + p];
      const bRow = p * n;
      for (let j = 0; j < n; j++) {
        const bv = B[bRow + j];
        out[r0 + j] += x0 * bv;
        out[r1 + j] += x1 * bv;
        out[r2 + j] += x2 * bv;
        out[r3 + j] += x3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const r = i * n, a = i * k;
    for (let p = 0; p < k; p++) {
      const x = A[a + p];
      const bRow = p * n;
      for (let j = 0; j < n; j++) out[r + j] += x * B[bRow + j];
    }
  }
}

/** C[m, n] = A[m, k] · B[n, k]ᵀ: every entry is a dot product of two contiguous rows (QKᵀ). */
export function matmulTransposed(a: Tensor, b: Tensor, op = 'matmulTransposed'): Tensor {
  const [m, k] = dims2(op, 'left operand', a);
  const [n, k2] = dims2(op, 'right operand', b);
  if (k !== k2) throw new ShapeError(op, `inner dimensions differ: ${fmtShape(a.shape)} · ${fmtShape(b.shape)}ᵀ`);
  const out = new Float32Array(m * n);
  matmulTransposedInto(a.data, b.data, out, m, k, n);
  return { shape: [m, n], data: out };
}

/**
 * out[m, n] = A[m, k] · B[n, k]ᵀ on raw row-major arrays, overwriting out (it is not read). With
 * `lowerOnly`, only the entries with j ≤ i are computed (causal attention scores); the others are
 * left unspecified (they may hold anything), so the caller must overwrite them.
 */
export function matmulTransposedInto(
  A: Float32Array,
  B: Float32Array,
  out: Float32Array,
  m: number,
  k: number,
  n: number,
  lowerOnly = false,
): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    out.fill(0, 0, m * n);
    return;
  }
  checkBuffers('matmulTransposedInto', A, B, out, m, k, n, [n, k]);
  const wasm = wasmFor(m * k * n);
  if (wasm && wasm.run(A, B, out, m, k, n, GEMM_B_TRANSPOSED | (lowerOnly ? GEMM_LOWER_ONLY : 0))) return;
  for (let i = 0; i < m; i++) {
    const cols = lowerOnly ? Math.min(n, i + 1) : n;
    for (let j = 0; j < cols; j++) out[i * n + j] = dot(A, i * k, B, j * k, k);
  }
}

/** Dot product of x[xo .. xo+len) and y[yo .. yo+len), four independent accumulators for ILP. */
export function dot(x: Float32Array, xo: number, y: Float32Array, yo: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let p = 0;
  for (; p + 4 <= len; p += 4) {
    s0 += x[xo + p] * y[yo + p];
    s1 += x[xo + p + 1] * y[yo + p + 1];
    s2 += x[xo + p + 2] * y[yo + p + 2];
    s3 += x[xo + p + 3] * y[yo + p + 3];
  }
  for (; p < len; p++) s0 += x[xo + p] * y[yo + p];
  return s0 + s1 + (s2 + s3);
}

/**
 * Numerically stable softmax over `len` entries starting at `offset`, in place. The row maximum is
 * subtracted first so exp never overflows. A row of only -Infinity (fully masked) becomes zeros, not
 * NaN; a NaN anywhere makes the whole row NaN, as in PyTorch.
 */
export function softmaxRowInPlace(data: Float32Array, offset: number, len: number): void {
  let max = -Infinity;
  for (let j = 0; j < len; j++) {
    const v = data[offset + j];
    if (v > max) max = v;
    else if (v !== v) max = NaN;
    if (max !== max) break;
  }
  if (max !== max || max === Infinity) {
    // +Infinity - +Infinity is NaN, so PyTorch returns a NaN row here too; no guessing.
    data.fill(NaN, offset, offset + len);
    return;
  }
  if (max === -Infinity) {
    data.fill(0, offset, offset + len);
    return;
  }
  let sum = 0;
  for (let j = 0; j < len; j++) {
    const e = Math.exp(data[offset + j] - max);
    data[offset + j] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let j = 0; j < len; j++) data[offset + j] *= inv;
}

/** Softmax over the last axis; returns a new tensor. */
export function softmax(x: Tensor): Tensor {
  const out = tensor(x.shape, x.data.slice());
  const cols = x.shape[x.shape.length - 1] ?? 1;
  for (let o = 0; o < out.data.length; o += cols) softmaxRowInPlace(out.data, o, cols);
  return out;
}

/** LayerNorm over the last axis (biased variance, as torch.nn.LayerNorm). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number, op = 'layerNorm'): Tensor {
  const d = x.shape[x.shape.length - 1];
  if (weight.data.length !== d || bias.data.length !== d) {
    throw new ShapeError(op, `input ${fmtShape(x.shape)} needs weight and bias of [${d}], got ${fmtShape(weight.shape)} and ${fmtShape(bias.shape)}`);
  }
  const out = new Float32Array(x.data.length);
  const src = x.data, w = weight.data, b = bias.data;
  for (let o = 0; o < src.length; o += d) {
    // Mean and variance in float64 (JS numbers): the same result as PyTorch's float32 to ~1e-7.
    let mean = 0;
    for (let j = 0; j < d; j++) mean += src[o + j];
    mean /= d;
    let variance = 0;
    for (let j = 0; j < d; j++) {
      const c = src[o + j] - mean;
      variance += c * c;
    }
    variance /= d;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < d; j++) out[o + j] = (src[o + j] - mean) * inv * w[j] + b[j];
  }
  return { shape: [...x.shape], data: out };
}

/** A checkpoint's norm, LayerNorm or RMSNorm, over the last axis. */
export function applyNorm(x: Tensor, norm: NormWeights, op = norm.name): Tensor {
  return norm.kind === 'layerNorm' ? layerNorm(x, norm.weight, norm.bias, norm.eps, op) : rmsNorm(x, norm.weight, norm.eps, op);
}

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation (GPT-2's gelu_new), in place. Computed as x·σ(2u), which equals
 * 0.5·x·(1 + tanh u) with u = √(2/π)(x + 0.044715x³): one Math.exp is about twice as fast as Math.tanh.
 */
export function geluInPlace(x: Tensor): Tensor {
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    d[i] = v / (1 + Math.exp(-2 * GELU_C * (v + 0.044715 * v * v * v)));
  }
  return x;
}

/** RMSNorm over the last axis: x / √(mean(x²) + eps) · weight (LlamaRMSNorm; mean in float64). */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number, op = 'rmsNorm'): Tensor {
  const d = x.shape[x.shape.length - 1];
  if (weight.data.length !== d) throw new ShapeError(op, `input ${fmtShape(x.shape)} needs a weight of [${d}], got ${fmtShape(weight.shape)}`);
  const out = new Float32Array(x.data.length);
  const src = x.data, w = weight.data;
  for (let o = 0; o < src.length; o += d) {
    let squares = 0;
    for (let j = 0; j < d; j++) squares += src[o + j] * src[o + j];
    const inv = 1 / Math.sqrt(squares / d + eps);
    for (let j = 0; j < d; j++) out[o + j] = src[o + j] * inv * w[j];
  }
  return { shape: [...x.shape], data: out };
}

/**
 * erfc(x) in float64 with a fractional error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit
 * erfcc): ample for float32 activations, and one Math.exp like the tanh GELU.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(-z * z + poly);
  return x >= 0 ? r : 2 - r;
}

/** Exact GELU, x·Φ(x) = ½·x·erfc(−x/√2) (PyTorch's nn.GELU(), HF's "gelu"), in place. */
export function geluErfInPlace(x: Tensor): Tensor {
  const d = x.data;
  for (let i = 0; i < d.length; i++) d[i] = 0.5 * d[i] * erfc(-d[i] * Math.SQRT1_2);
  return x;
}

/** SiLU (swish), x·σ(x), in place. */
export function siluInPlace(x: Tensor): Tensor {
  const d = x.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i] / (1 + Math.exp(-d[i]));
  return x;
}

/** a ⊙= b element-wise (same shape), in place on a. */
export function mulInPlace(a: Tensor, b: Tensor, op = 'mul'): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(op, `shapes differ: ${fmtShape(a.shape)} ⊙ ${fmtShape(b.shape)}`);
  }
  for (let i = 0; i < a.data.length; i++) a.data[i] *= b.data[i];
  return a;
}

/** Element-wise a + b (same shape); returns a new tensor. */
export function add(a: Tensor, b: Tensor, op = 'add'): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(op, `shapes differ: ${fmtShape(a.shape)} + ${fmtShape(b.shape)}`);
  }
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
  return { shape: [...a.shape], data: out };
}

/** Adds a bias vector to every row of x, in place. */
export function addBiasInPlace(x: Tensor, bias: Tensor, op = 'addBias'): Tensor {
  const d = x.shape[x.shape.length - 1];
  if (bias.shape.length !== 1 || bias.shape[0] !== d) {
    throw new ShapeError(op, `bias ${fmtShape(bias.shape)} does not fit rows of ${fmtShape(x.shape)}`);
  }
  const xd = x.data, bd = bias.data;
  for (let o = 0; o < xd.length; o += d) for (let j = 0; j < d; j++) xd[o + j] += bd[j];
  return x;
}

/** Multiply-adds between two checkpoints of a long product: a few ms of the kernel, so a cancel lands fast. */
const CHECKPOINT_MACS = 1 << 26;

/**
 * The same for a projection by a weight matrix (linear, linearTransposed): each block is one WebAssembly
 * call, which copies and packs one whole operand, so a block must be long beside that (here ~10 ms).
 */
const PROJECTION_BLOCK_MACS = 1 << 28;

/**
 * Calls `block(r0, r1)` over rows [0, m) in blocks of about `blockMacs` multiply-adds, with the
 * checkpoint between blocks (throwing from it stops the work). Without a checkpoint: one block.
 */
export function inRowBlocks(m: number, macsPerRow: number, checkpoint: (() => void) | undefined, block: (r0: number, r1: number) => void, blockMacs = CHECKPOINT_MACS): void {
  const rows = checkpoint ? Math.max(16, Math.floor(blockMacs / Math.max(1, macsPerRow))) : m;
  for (let r0 = 0; r0 < m; r0 += rows) {
    if (r0) checkpoint?.();
    block(r0, Math.min(m, r0 + rows));
  }
}

/**
 * x · W + b with W in [d_in, d_out] layout. With a checkpoint, a big product runs in blocks of rows (PROJECTION_BLOCK_MACS) with a checkpoint between them
 * (throwing from it stops the product), so cancelling never waits for a whole GEMM.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | undefined, op = 'linear', checkpoint?: () => void): Tensor {
  const [m, k] = dims2(op, 'input', x);
  const [k2, n] = dims2(op, 'weight', weight);
  if (k !== k2) throw new ShapeError(op, `inner dimensions differ: ${fmtShape(x.shape)} · ${fmtShape(weight.shape)}`);
  const out: Tensor = { shape: [m, n], data: new Float32Array(m * n) }; // [m, n]
  inRowBlocks(m, k * n, checkpoint, (r0, r1) => matmulInto(x.data.subarray(r0 * k, r1 * k), weight.data, out.data.subarray(r0 * n, r1 * n), r1 - r0, k, n), PROJECTION_BLOCK_MACS);
  if (bias) addBiasInPlace(out, bias, op);
  return out;
}

/**
 * x · Wᵀ + b with W in nn.Linear's [d_out, d_in] layout, read as stored (each output is a dot product of
 * two contiguous rows). With a checkpoint, a big product runs in blocks with a checkpoint between them,
 * as in linear; the blocks split whichever side copies less per block. Each WebAssembly call copies both
 * operands in, so blocks of rows of x would copy (and pack) the whole weight matrix every few rows, which
 * doubles the time of a 0.5B model's projections; blocks of output columns are blocks of rows of W, so the
 * weights are copied once in all and only x is copied per block. Every output is the same dot product
 * either way (the split never cuts k), so the result is bit-identical to one unsplit product.
 */
export function linearTransposed(x: Tensor, weight: Tensor, bias: Tensor | undefined, op = 'linearTransposed', checkpoint?: () => void): Tensor {
  const [m, k] = dims2(op, 'input', x);
  const [n, k2] = dims2(op, 'weight', weight);
  if (k !== k2) throw new ShapeError(op, `inner dimensions differ: ${fmtShape(x.shape)} · ${fmtShape(weight.shape)}ᵀ`);
  const out: Tensor = { shape: [m, n], data: new Float32Array(m * n) }; // [m, n]
  if (checkpoint && n > m && m * k * n > PROJECTION_BLOCK_MACS) inColumnBlocks(x.data, weight.data, out.data, m, k, n, checkpoint);
  else inRowBlocks(m, k * n, checkpoint, (r0, r1) => matmulTransposedInto(x.data.subarray(r0 * k, r1 * k), weight.data, out.data.subarray(r0 * n, r1 * n), r1 - r0, k, n), PROJECTION_BLOCK_MACS);
  if (bias) addBiasInPlace(out, bias, op);
  return out;
}

/** out[m, n] = A[m, k] · B[n, k]ᵀ in blocks of about PROJECTION_BLOCK_MACS over n (rows of B), with the checkpoint between blocks. */
function inColumnBlocks(A: Float32Array, B: Float32Array, out: Float32Array, m: number, k: number, n: number, checkpoint: () => void): void {
  const cols = Math.min(n, Math.max(16, Math.floor(PROJECTION_BLOCK_MACS / (m * k))));
  const scratch = new Float32Array(m * cols); // [m, cols]
  for (let j0 = 0; j0 < n; j0 += cols) {
    if (j0) checkpoint();
    const width = Math.min(cols, n - j0);
    const block = scratch.subarray(0, m * width); // [m, width]
    matmulTransposedInto(A, B.subarray(j0 * k, (j0 + width) * k), block, m, k, width);
    for (let i = 0; i < m; i++) out.set(block.subarray(i * width, (i + 1) * width), i * n + j0);
  }
}
