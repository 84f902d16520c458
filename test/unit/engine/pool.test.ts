import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { multiHeadAttention } from '../../../src/engine/attention';
import { kernelInfo, linear, linearTransposed, matmulInto, matmulTransposedInto, setKernelBackend, type KernelBackend } from '../../../src/engine/kernels';
import { randomMhaWeights, Xoshiro128 } from '../../../src/engine/random';
import { tensor } from '../../../src/engine/tensor';
import { activePool, blockBounds, kernelThreadsFailed, startKernelThreads, stopKernelThreads, type StartHelper } from '../../../src/engine/wasm/pool';
import { CancelledError } from '../../../src/errors';
import { kernelBackend } from '../../../src/worker/backend';
import { startNodeKernelThreads } from '../../../src/worker/kernelThreads';

function randomMatrix(rng: Xoshiro128, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(1);
  return out;
}

function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: lengths differ`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) assert.fail(`${what}: entry ${i} is ${got[i]} on threads, ${want[i]} on one thread`);
}

/** Runs `f` on one thread, then on the pool, and returns both results. */
function bothWays<T>(threads: number, f: () => T): [one: T, pool: T] {
  stopKernelThreads();
  const one = f();
  startNodeKernelThreads(threads);
  return [one, f()];
}

const wasmBackends = kernelInfo().available.filter((b): b is Exclude<KernelBackend, 'js'> => b !== 'js');

describe('kernel threads (shared WebAssembly.Memory)', function () {
  this.timeout(60_000);
  afterEach(() => {
    stopKernelThreads();
    setKernelBackend('auto');
  });

  it('splits rows into blocks that cover the product once, with equal work under a lower triangle', () => {
    assert.deepEqual(blockBounds(512, 2, false), [0, 255, 512]);
    assert.deepEqual(blockBounds(512, 2, true), [0, 360, 512]); // 512/√2 ≈ 362: the lower block has as many entries
    assert.deepEqual(blockBounds(7, 4, false), [0, 5, 7]);
    for (const [m, blocks, lower] of [[33, 3, false], [1000, 7, true], [64, 2, true]] as const) {
      const b = blockBounds(m, blocks, lower);
      assert.equal(b[0], 0);
      assert.equal(b[b.length - 1], m);
      for (let i = 1; i < b.length; i++) assert.ok(b[i] > b[i - 1], `bounds ${b.join(', ')} not increasing`);
    }
  });

  for (const backend of wasmBackends) {
    describe(`${backend}`, () => {
      beforeEach(() => setKernelBackend(backend));

      it('matmulInto (accumulating) and matmulTransposedInto give the single-thread bits, at shapes across the block edges', () => {
        const rng = new Xoshiro128(11);
        for (const threads of [2, 3]) {
          for (const [m, k, n] of [[512, 96, 96], [203, 300, 129], [100, 257, 170], [64, 1030, 70]]) {
            const A = randomMatrix(rng, m * k), B = randomMatrix(rng, k * n), C0 = randomMatrix(rng, m * n);
            const [one, pool] = bothWays(threads, () => {
              const acc = C0.slice();
              matmulInto(A, B, acc, m, k, n);
              const t = new Float32Array(m * n);
              matmulTransposedInto(A, B, t, m, k, n);
              return [acc, t];
            });
            assert.ok(activePool()!.blocksFor(m, k, n) > 1, `${m}×${k}×${n} is not split`);
            sameBits(pool[0], one[0], `${threads} threads, A·B ${m}×${k}×${n}`);
            sameBits(pool[1], one[1], `${threads} threads, A·Bᵀ ${m}×${k}×${n}`);
          }
        }
      });

      it('random shapes, layouts and flags that split: the single-thread bits (property)', () => {
        startNodeKernelThreads(3);
        fc.assert(
          fc.property(
            fc.integer({ min: 64, max: 700 }),
            fc.integer({ min: 1, max: 600 }),
            fc.integer({ min: 1, max: 300 }),
            fc.constantFrom('A·B', 'A·B accumulate', 'A·Bᵀ', 'A·Bᵀ lower'),
            fc.integer({ min: 0, max: 1000 }),
            (m, k, n, kind, seed) => {
              fc.pre(activePool()!.blocksFor(m, k, n) > 1 && (kind !== 'A·Bᵀ lower' || n >= m));
              const rng = new Xoshiro128(seed);
              const A = randomMatrix(rng, m * k), B = randomMatrix(rng, k * n), C0 = randomMatrix(rng, m * n);
              const run = () => {
                const out = C0.slice();
                if (kind.startsWith('A·Bᵀ')) matmulTransposedInto(A, B, out, m, k, n, kind.endsWith('lower'));
                else if (kind.endsWith('accumulate')) matmulInto(A, B, out, m, k, n);
                else matmulInto(A, B, out.fill(0), m, k, n);
                // Lower only: entries right of the diagonal are unspecified; keep the ones that are defined.
                if (kind.endsWith('lower')) for (let i = 0; i < m; i++) out.fill(0, i * n + i + 1, (i + 1) * n);
                return out;
              };
              const pool = run();
              const pooled = activePool()!;
              stopKernelThreads();
              const one = run();
              startNodeKernelThreads(3);
              assert.ok(pooled !== activePool());
              sameBits(pool, one, `${kind} ${m}×${k}×${n}`);
            },
          ),
          { numRuns: 25, seed: 8 },
        );
      });

      it('lowerOnly (causal scores): every j ≤ i as on one thread, through subarray views', () => {
        const rng = new Xoshiro128(12);
        const [n, d] = [700, 64];
        const q = randomMatrix(rng, 3 + n * d), k = randomMatrix(rng, n * d);
        const [one, pool] = bothWays(2, () => {
          const out = new Float32Array(1 + n * n).fill(NaN);
          matmulTransposedInto(q.subarray(3), k, out.subarray(1), n, d, n, true);
          return out.subarray(1);
        });
        for (let i = 0; i < n; i++) sameBits(pool.subarray(i * n, i * n + i + 1), one.subarray(i * n, i * n + i + 1), `row ${i}`);
      });

      it('multi-head attention and the projections with checkpoints give the single-thread bits', () => {
        const [n, dModel, heads] = [300, 128, 4];
        const rng = new Xoshiro128(13);
        const x = tensor([n, dModel], randomMatrix(rng, n * dModel));
        const weights = randomMhaWeights({ dModel, heads, seed: 5, causal: true });
        for (const causal of [true, false]) {
          const [one, pool] = bothWays(2, () => multiHeadAttention(x, weights, { causal, trace: true, checkpoint: () => {} }));
          sameBits(pool.attnScores.data, one.attnScores.data, 'scores');
          sameBits(pool.attnWeights.data, one.attnWeights.data, 'weights');
          sameBits(pool.output.data, one.output.data, 'output');
        }
        const w = tensor([2000, dModel], randomMatrix(rng, 2000 * dModel));
        const [one, pool] = bothWays(2, () => [linear(x, tensor([dModel, 2000], w.data), undefined, 'l', () => {}), linearTransposed(x, w, undefined, 'lt', () => {})]);
        sameBits(pool[0].data, one[0].data, 'linear');
        sameBits(pool[1].data, one[1].data, 'linearTransposed');
      });
    });
  }

  it('a throwing checkpoint stops a projection between blocks, and the helpers are idle: the next product is right', () => {
    const rng = new Xoshiro128(14);
    const [m, k, n] = [96, 1024, 3000]; // above one projection block, so there are checkpoints
    const x = tensor([m, k], randomMatrix(rng, m * k));
    const w = tensor([n, k], randomMatrix(rng, n * k));
    const want = linearTransposed(x, w, undefined, 'proj');
    startNodeKernelThreads(2);
    let calls = 0;
    assert.throws(
      () =>
        linearTransposed(x, w, undefined, 'proj', () => {
          if (++calls === 1) throw new CancelledError();
        }),
      CancelledError,
    );
    sameBits(linearTransposed(x, w, undefined, 'proj').data, want.data, 'after a cancel');
  });

  it('kernel info and the status text: threads, or why one thread', () => {
    assert.equal(kernelInfo().threads, 1);
    assert.equal(kernelBackend(), kernelInfo().backend); // no threads asked for (CLI, tests)
    assert.equal(startNodeKernelThreads(2).threads, 2);
    assert.equal(kernelInfo().threads, 2);
    assert.match(kernelBackend(), /^wasm-(relaxed-)?simd ×2 threads$/);
    setKernelBackend('js');
    assert.equal(kernelBackend(), 'js');
    setKernelBackend('auto');
    assert.deepEqual(startNodeKernelThreads(1), { threads: 1, unavailable: '1 core' });
    assert.match(kernelBackend(), /^wasm-(relaxed-)?simd \(1 thread: 1 core\)$/);
  });

  it('falls back to one thread where there is no shared memory, and says so', () => {
    const saved = globalThis.SharedArrayBuffer;
    let started = 0;
    const start: StartHelper = () => {
      started++;
      return { terminate: () => {} };
    };
    try {
      (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer = undefined;
      assert.deepEqual(startKernelThreads(4, start), { threads: 1, unavailable: 'shared memory unavailable' });
    } finally {
      globalThis.SharedArrayBuffer = saved;
    }
    assert.equal(started, 0);
    assert.equal(activePool(), null);
    assert.match(kernelBackend(), /^wasm-(relaxed-)?simd \(1 thread: shared memory unavailable\)$/);
    const rng = new Xoshiro128(15);
    const A = randomMatrix(rng, 200 * 100), B = randomMatrix(rng, 100 * 150), C = new Float32Array(200 * 150);
    matmulInto(A, B, C, 200, 100, 150);
    assert.ok(C.every(Number.isFinite));

    // A helper that fails (src/worker/kernelThreads.ts reports its 'error' event) stops the pool.
    startNodeKernelThreads(2);
    kernelThreadsFailed('out of memory');
    assert.equal(activePool(), null);
    assert.match(kernelBackend(), /^wasm-(relaxed-)?simd \(1 thread: a helper thread failed: out of memory\)$/);
    const again = new Float32Array(200 * 150);
    matmulInto(A, B, again, 200, 100, 150);
    sameBits(again, C, 'after a helper failed');
  });

  it('stopKernelThreads ends the helpers; a worker that started them takes them with it when it ends', async () => {
    const exits: Promise<unknown>[] = [];
    startKernelThreads(3, (source, data) => {
      const worker = new Worker(source, { eval: true, workerData: data });
      exits.push(new Promise((resolve) => worker.once('exit', resolve)));
      return { terminate: () => undefined }; // they must return by themselves
    });
    const rng = new Xoshiro128(16);
    const A = randomMatrix(rng, 256 * 256), C = new Float32Array(256 * 256);
    matmulInto(A, A, C, 256, 256, 256);
    stopKernelThreads();
    await Promise.all(exits);
    assert.equal(exits.length, 2);

    if (process.platform !== 'linux') return;
    const threadsNow = () => Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
    const before = threadsNow();
    // A worker like the engine's: it starts the pool (3 threads: 2 helpers) and is then terminated.
    const worker = new Worker(
      `require('tsx/cjs'); require(${JSON.stringify(require.resolve('../../../src/worker/kernelThreads.ts'))}).startNodeKernelThreads(3); require('node:worker_threads').parentPort.postMessage('started');`,
      { eval: true },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    assert.ok(threadsNow() > before, 'no threads were started');
    await worker.terminate();
    for (let i = 0; i < 50 && threadsNow() > before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(threadsNow() <= before, `${threadsNow() - before} threads outlived the worker that started them`);
  });
});
