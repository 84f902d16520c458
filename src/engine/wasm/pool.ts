/**
 * Kernel threads: the engine's thread and (cores − 1) helper threads run the WebAssembly GEMM on one
 * shared WebAssembly.Memory (the shared builds of gemm.wat). A product is split into blocks of rows of
 * C; each thread claims blocks with an atomic compare-exchange and computes them with the same kernel
 * call the single thread would make on those rows, so every output is the same instruction sequence and
 * the result is bit-identical to one thread. Nothing but a few int32 words crosses threads per product:
 * the engine's thread copies A and B into the shared memory once, packs B once for every block (the
 * bytes one thread packs k block by k block), bumps a sequence word (Atomics.notify wakes the helpers),
 * computes blocks itself, waits until every block is done (Atomics.wait), and copies C out. A product returns only when all its blocks are done, so a checkpoint between products (which may
 * throw) never leaves a helper busy.
 *
 * Pure: no node:* imports. The caller starts the threads (src/worker/kernelThreads.ts with worker_threads)
 * through StartHelper, which runs the helper's self-contained source with its data.
 */
import { GEMM_WASM_RELAXED_SIMD, GEMM_WASM_SIMD } from './gemmWasm';
import {
  align,
  decodeBase64,
  GEMM_ACCUMULATE,
  GEMM_B_PACKED,
  GEMM_B_TRANSPOSED,
  GEMM_LOWER_ONLY,
  gemmInstance,
  growTo,
  MAX_PAGES,
  packBytes,
  sharedGemmBytes,
  type GemmExports,
  type GemmRunner,
  type WasmBuild,
} from './gemmRuntime';

/** Where things live in the shared memory: int32 word indices of the control block, byte addresses after it. */
const LAYOUT = {
  /** BigInt64 word 0 (int32 words 0-1): the claim word, (job << 32) | (blocks << 16) | next block. */
  seq: 2, // job number; helpers Atomics.wait on it
  done: 3, // blocks finished of the current job
  stop: 4, // 1: helpers return
  error: 5, // 1: a block threw
  build: 6, // index into the builds
  a: 7,
  b: 8,
  c: 9,
  k: 10,
  n: 11,
  flags: 12,
  /** Row bounds of the blocks: block i is rows [bounds + i, bounds + i + 1). */
  bounds: 16,
  /** Thread t's packed-A and packed-B buffers: words work + 2t, work + 2t + 1. */
  work: 64,
  words: 256,
  /** Thread t's edge-tile scratch: scratch + scratchStride·t. */
  scratch: 1024,
  scratchStride: 256,
  /** The per-product buffers start here. */
  heap: 8192,
} as const;

/** Most threads (engine + helpers) the layout has room for, and most blocks of one product. */
export const MAX_THREADS = 16;
const MAX_BLOCKS = LAYOUT.work - LAYOUT.bounds - 1;

/** Products of fewer multiply-adds stay on one thread: waking a helper costs tens of µs. */
export const POOL_MIN_MACS = 1 << 22;
/** Fewest rows of C a block has. */
const MIN_BLOCK_ROWS = 32;
/**
 * Blocks per thread: more than one, so a thread the system deschedules holds up a small block, not its
 * share of the product, and the others take the rest. B is packed once for all blocks (packBAll), so a
 * block costs only its own rows.
 */
const BLOCKS_PER_THREAD = 4;

/** What a helper thread receives (structured-cloned): the memory, the compiled builds, its thread number. */
export interface KernelHelperData {
  readonly memory: WebAssembly.Memory;
  readonly modules: readonly WebAssembly.Module[];
  readonly thread: number;
  readonly layout: typeof LAYOUT;
}

/** A started helper thread. */
export interface HelperThread {
  terminate(): unknown;
}

/**
 * Starts one helper thread that runs `source` (a self-contained script: it reads `data` as its
 * worker data and runs kernelHelper on it) and returns it.
 */
export type StartHelper = (source: string, data: KernelHelperData) => HelperThread;

/**
 * The helper thread's whole program. Runs from its source text (helperSource), so it refers to nothing
 * outside its body, not even a nested function: only its argument and globals (Atomics, WebAssembly).
 */
function kernelHelper(data: KernelHelperData): void {
  const L = data.layout;
  const ctl = new Int32Array(data.memory.buffer, 0, L.words);
  const claim = new BigInt64Array(data.memory.buffer, 0, 1);
  const gemms: GemmExports[] = [];
  for (const module of data.modules) {
    const ex = new WebAssembly.Instance(module, { env: { memory: data.memory } }).exports as unknown as GemmExports;
    ex.scratch.value = L.scratch + L.scratchStride * data.thread;
    gemms.push(ex);
  }
  const work = L.work + 2 * data.thread; // this thread's packed-A and packed-B addresses
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, L.seq, seen);
    if (Atomics.load(ctl, L.stop)) return;
    seen = Atomics.load(ctl, L.seq);
    for (;;) {
      const w = Atomics.load(claim, 0);
      if ((w & 0xffffn) >= ((w >> 16n) & 0xffffn)) break;
      if (Atomics.compareExchange(claim, 0, w, w + 1n) !== w) continue;
      // Block `i` is ours; the job's words stay as they are until every block is done.
      const i = Number(w & 0xffffn);
      try {
        const k = ctl[L.k], n = ctl[L.n], r0 = ctl[L.bounds + i], r1 = ctl[L.bounds + i + 1];
        gemms[ctl[L.build]].gemm(ctl[L.a] + r0 * k * 4, ctl[L.b], ctl[L.c] + r0 * n * 4, ctl[work], ctl[work + 1], r1 - r0, k, n, ctl[L.flags], r0);
      } catch {
        Atomics.store(ctl, L.error, 1);
      }
      Atomics.add(ctl, L.done, 1);
      Atomics.notify(ctl, L.done);
    }
  }
}

/** A script that runs kernelHelper on its worker data (worker_threads' `eval` mode, CommonJS). */
export function helperSource(): string {
  return `(${kernelHelper.toString()})(require('node:worker_threads').workerData);`;
}

/** Row bounds of `blocks` blocks of m rows with about equal work (rows grow in cost down a lower triangle). */
export function blockBounds(m: number, blocks: number, lowerOnly: boolean, step = 5): number[] {
  const bounds = [0];
  for (let i = 1; i < blocks; i++) {
    const f = lowerOnly ? Math.sqrt(i / blocks) : i / blocks;
    const r = Math.round((m * f) / step) * step;
    if (r > bounds[bounds.length - 1] && r < m) bounds.push(r);
  }
  bounds.push(m);
  return bounds;
}

export class KernelPool {
  /** Threads that compute: this one and the helpers. */
  readonly threads: number;
  readonly memory: WebAssembly.Memory;
  private readonly ctl: Int32Array;
  private readonly claim: BigInt64Array;
  private readonly builds: readonly WasmBuild[];
  private readonly gemms: readonly GemmExports[];
  private readonly helpers: HelperThread[] = [];
  private view: Float32Array;
  private seq = 0;
  private stopped = false;

  constructor(threads: number, start: StartHelper) {
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    if (!growTo(this.memory, LAYOUT.heap)) throw new Error('kernel threads: the shared memory cannot grow');
    const builds: WasmBuild[] = [];
    const modules: WebAssembly.Module[] = [];
    for (const [build, b64] of [['wasm-relaxed-simd', GEMM_WASM_RELAXED_SIMD], ['wasm-simd', GEMM_WASM_SIMD]] as const) {
      const bytes = sharedGemmBytes(decodeBase64(b64));
      if (!WebAssembly.validate(bytes)) continue;
      builds.push(build);
      modules.push(new WebAssembly.Module(bytes));
    }
    if (!modules.length) throw new Error('WebAssembly threads unavailable');
    this.builds = builds;
    this.gemms = modules.map((m) => gemmInstance(m, this.memory, LAYOUT.scratch));
    this.ctl = new Int32Array(this.memory.buffer, 0, LAYOUT.words);
    this.claim = new BigInt64Array(this.memory.buffer, 0, 1);
    this.view = new Float32Array(this.memory.buffer);
    this.threads = Math.max(1, Math.min(MAX_THREADS, threads));
    const source = helperSource();
    try {
      for (let t = 1; t < this.threads; t++) this.helpers.push(start(source, { memory: this.memory, modules, thread: t, layout: LAYOUT }));
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  /** Bytes of the shared memory now. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** The pool's kernel for `build`, or null when its shared build did not validate. */
  runner(build: WasmBuild): GemmRunner | null {
    const index = this.builds.indexOf(build);
    if (index < 0 || this.stopped) return null;
    return { build, run: (A, B, C, m, k, n, flags) => this.run(index, A, B, C, m, k, n, flags) };
  }

  /** Tells the helpers to return, and terminates them. Products run on one thread (the caller's) afterwards. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.ctl, LAYOUT.stop, 1);
    Atomics.add(this.ctl, LAYOUT.seq, 1);
    Atomics.notify(this.ctl, LAYOUT.seq);
    for (const h of this.helpers) h.terminate();
    this.helpers.length = 0;
  }

  /** How many blocks a product of m rows is split into (1: this thread alone). */
  blocksFor(m: number, k: number, n: number): number {
    if (this.stopped || this.threads < 2 || m * k * n < POOL_MIN_MACS) return 1;
    return Math.max(1, Math.min(MAX_BLOCKS, Math.floor(m / MIN_BLOCK_ROWS), this.threads * BLOCKS_PER_THREAD));
  }

  /** C[m, n] (+)= A[m, k] · B with the shared build `index`; false (nothing done) when memory runs out. */
  private run(index: number, A: Float32Array, B: Float32Array, C: Float32Array, m: number, k: number, n: number, flags: number): boolean {
    const gemm = this.gemms[index];
    const blocks = this.blocksFor(m, k, n);
    const bounds = blocks > 1 ? blockBounds(m, blocks, (flags & GEMM_LOWER_ONLY) !== 0) : [0, m];
    const [paBytes, pbBlockBytes, pbAllBytes] = packBytes(gemm, m, k, n);
    const v = (end: number) => {
      if (!growTo(this.memory, end)) return null;
      if (this.view.length * 4 < end) this.view = new Float32Array(this.memory.buffer);
      return this.view;
    };
    const copyIn = (to: Float32Array, from: Float32Array, size: number, at: number) => to.set(from.length === size ? from : from.subarray(0, size), at >> 2);
    let c: number;
    let view: Float32Array | null;
    if (bounds.length === 2) {
      // As on one thread: [packed A][one k block of packed B][A][B][C].
      const pb = LAYOUT.heap + paBytes;
      const a = pb + pbBlockBytes;
      const b = align(a + m * k * 4);
      c = align(b + k * n * 4);
      if (!(view = v(c + m * n * 4))) return false;
      copyIn(view, A, m * k, a);
      copyIn(view, B, k * n, b);
      if (flags & GEMM_ACCUMULATE) copyIn(view, C, m * n, c);
      gemm.gemm(a, b, c, LAYOUT.heap, pb, m, k, n, flags, 0);
    } else {
      // [packed A per thread][all of B packed once for every block (the k blocks one thread packs one by
      // one: the same bytes)][A][B, then C in its place once B is packed]: what one thread's layout takes,
      // plus B's size less C's where C is the smaller (never another copy of more than one weight matrix).
      const pb = LAYOUT.heap + this.threads * paBytes;
      const a = pb + pbAllBytes;
      const b = align(a + m * k * 4);
      c = b;
      if (!(view = v(b + Math.max(k * n, m * n) * 4))) return false;
      copyIn(view, A, m * k, a);
      copyIn(view, B, k * n, b);
      gemm.packBAll(b, pb, k, n, flags & GEMM_B_TRANSPOSED);
      if (flags & GEMM_ACCUMULATE) copyIn(view, C, m * n, c);
      this.parallel(index, a, pb, c, k, n, flags | GEMM_B_PACKED, bounds, paBytes);
    }
    C.set(view.subarray(c >> 2, (c >> 2) + m * n));
    return true;
  }

  /**
   * Posts a job of bounds.length − 1 blocks on B packed at pb, computes blocks here too, and returns
   * when all are done.
   */
  private parallel(index: number, a: number, pb: number, c: number, k: number, n: number, flags: number, bounds: number[], paBytes: number): void {
    const ctl = this.ctl;
    const blocks = bounds.length - 1;
    ctl[LAYOUT.build] = index;
    ctl[LAYOUT.a] = a;
    ctl[LAYOUT.b] = 0; // not read: B is packed
    ctl[LAYOUT.c] = c;
    ctl[LAYOUT.k] = k;
    ctl[LAYOUT.n] = n;
    ctl[LAYOUT.flags] = flags;
    bounds.forEach((r, i) => (ctl[LAYOUT.bounds + i] = r));
    for (let t = 0; t < this.threads; t++) {
      ctl[LAYOUT.work + 2 * t] = LAYOUT.heap + t * paBytes;
      ctl[LAYOUT.work + 2 * t + 1] = pb;
    }
    Atomics.store(ctl, LAYOUT.done, 0);
    Atomics.store(ctl, LAYOUT.error, 0);
    this.seq = (this.seq + 1) & 0x7fffffff;
    Atomics.store(this.claim, 0, (BigInt(this.seq) << 32n) | (BigInt(blocks) << 16n));
    Atomics.store(ctl, LAYOUT.seq, this.seq);
    Atomics.notify(ctl, LAYOUT.seq);
    // This thread claims blocks like any helper (block 0 first, as it is already running).
    const gemm = this.gemms[index];
    let failure: unknown;
    for (;;) {
      const w = Atomics.load(this.claim, 0);
      if ((w & 0xffffn) >= ((w >> 16n) & 0xffffn)) break;
      if (Atomics.compareExchange(this.claim, 0, w, w + 1n) !== w) continue;
      const i = Number(w & 0xffffn);
      try {
        const r0 = bounds[i], r1 = bounds[i + 1];
        gemm.gemm(a + r0 * k * 4, 0, c + r0 * n * 4, LAYOUT.heap, pb, r1 - r0, k, n, flags, r0);
      } catch (e) {
        failure ??= e;
      }
      Atomics.add(ctl, LAYOUT.done, 1);
    }
    // Every block must be finished before the caller goes on (or throws): helpers never outlive a product.
    for (let d = Atomics.load(ctl, LAYOUT.done); d < blocks; d = Atomics.load(ctl, LAYOUT.done)) Atomics.wait(ctl, LAYOUT.done, d);
    if (failure !== undefined) throw failure;
    if (Atomics.load(ctl, LAYOUT.error)) throw new Error('kernel threads: a helper thread failed in the WebAssembly GEMM');
  }
}

export interface KernelThreadsInfo {
  /** Threads that compute products (1: only the engine's own). */
  readonly threads: number;
  /** Why there is one thread when more were asked for (e.g. "shared memory unavailable", "1 core"). */
  readonly unavailable?: string;
}

let pool: KernelPool | null = null;
let info: KernelThreadsInfo = { threads: 1 };

/**
 * Starts (cores − 1) helper threads beside the caller's, sharing one WebAssembly.Memory, and routes large
 * products through them. Falls back to one thread, saying why, where shared memory is unavailable or there
 * is one core. Replaces a pool started before.
 */
export function startKernelThreads(cores: number, start: StartHelper): KernelThreadsInfo {
  stopKernelThreads();
  if (!(cores >= 2)) return (info = { threads: 1, unavailable: '1 core' });
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return (info = { threads: 1, unavailable: 'shared memory unavailable' });
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return (info = { threads: 1, unavailable: 'shared memory unavailable' });
  }
  try {
    pool = new KernelPool(cores, start);
  } catch (e) {
    pool = null;
    return (info = { threads: 1, unavailable: e instanceof Error ? e.message : String(e) });
  }
  return (info = { threads: pool.threads });
}

/** A helper thread failed (it could not start, or died): stop the others and run on one thread, saying why. */
export function kernelThreadsFailed(reason: string): void {
  stopKernelThreads();
  info = { threads: 1, unavailable: `a helper thread failed: ${reason}` };
}

/** Stops the helper threads, if any; products run on the caller's thread afterwards. */
export function stopKernelThreads(): void {
  pool?.stop();
  pool = null;
  info = { threads: 1 };
}

export function kernelThreads(): KernelThreadsInfo {
  return info;
}

/** The running pool, if any. */
export function activePool(): KernelPool | null {
  return pool;
}
