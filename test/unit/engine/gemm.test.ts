import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { assembleGemm, generateGemmModule, GENERATED_PATH, lowerRelaxedMadd, shareMemory, WAT_PATH } from '../../../scripts/wasm/assemble';
import { multiHeadAttention } from '../../../src/engine/attention';
import {
  kernelInfo,
  matmul,
  matmulInto,
  matmulIntoJs,
  matmulTransposed,
  matmulTransposedInto,
  setKernelBackend,
} from '../../../src/engine/kernels';
import { randomMhaWeights, Xoshiro128 } from '../../../src/engine/random';
import { sharedGemmBytes } from '../../../src/engine/wasm/gemmRuntime';
import { tensor } from '../../../src/engine/tensor';
import { assertClose } from '../helpers';

/** Relative tolerance against the float64 reference, scaled by Σ|a·b| (summation order differs). */
const RTOL = 1e-5;

function randomMatrix(rng: Xoshiro128, size: number, bound = 1): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(bound);
  return out;
}

/**
 * Checks out = C0 + A·B (B [k, n]) or A·Bᵀ (B [n, k]) against a float64 triple loop. Non-finite
 * reference entries must match exactly (NaN for NaN, the same infinity); finite ones within
 * RTOL·(|C0| + Σ|a·b|). `lowerOnly` checks only j ≤ i.
 */
function checkProduct(
  got: Float32Array,
  A: Float32Array,
  B: Float32Array,
  C0: Float32Array | null,
  m: number,
  k: number,
  n: number,
  opts: { transposed?: boolean; lowerOnly?: boolean; what?: string } = {},
): void {
  const what = opts.what ?? `${m}×${k}×${n}`;
  for (let i = 0; i < m; i++) {
    const cols = opts.lowerOnly ? Math.min(n, i + 1) : n;
    for (let j = 0; j < cols; j++) {
      let s = C0 ? C0[i * n + j] : 0;
      let mag = Math.abs(s);
      for (let p = 0; p < k; p++) {
        const prod = A[i * k + p] * (opts.transposed ? B[j * k + p] : B[p * n + j]);
        s += prod;
        mag += Math.abs(prod);
      }
      const g = got[i * n + j];
      if (!Number.isFinite(s)) {
        assert.ok(Object.is(g, s) || (Number.isNaN(g) && Number.isNaN(s)), `${what} [${i}, ${j}]: expected ${s}, got ${g}`);
      } else {
        assert.ok(Math.abs(g - s) <= RTOL * mag, `${what} [${i}, ${j}]: expected ${s}, got ${g} (tolerance ${RTOL * mag})`);
      }
    }
  }
}

const EDGE = [1, 3, 4, 5, 15, 16, 17, 63, 65];

const available = kernelInfo().available;

describe('gemm (WebAssembly kernel and JS fallback)', () => {
  afterEach(() => setKernelBackend('auto'));

  describe('build', () => {
    it('the committed src/engine/wasm/gemmWasm.ts is what `npm run build:wasm` makes from gemm.wat', async function () {
      this.timeout(60_000);
      const fresh = await generateGemmModule();
      assert.ok(fresh === readFileSync(GENERATED_PATH, 'utf8'), 'gemmWasm.ts is stale: run `npm run build:wasm` and commit the result');
    });

    it('the shared-memory builds (kernel threads) are the private ones with the memory import’s flag set to shared', async function () {
      this.timeout(60_000);
      const wat = readFileSync(WAT_PATH, 'utf8');
      const [mine, shared] = await Promise.all([assembleGemm(wat), assembleGemm(shareMemory(wat))]);
      assert.deepEqual(sharedGemmBytes(mine.relaxed), Uint8Array.from(shared.relaxed));
      assert.deepEqual(sharedGemmBytes(mine.simd), Uint8Array.from(shared.simd));
      assert.throws(() => sharedGemmBytes(new Uint8Array(8)), /expected one import of env.memory/);
      assert.throws(() => shareMemory('(module)'), /expected exactly one/);
    });

    it('lowers relaxed_madd to mul + add for the plain SIMD build, and refuses malformed uses', () => {
      assert.equal(
        lowerRelaxedMadd('(local.set $c (f32x4.relaxed_madd (local.get $a) (local.get $b) (local.get $c))) ;; (f32x4.relaxed_madd a b c)'),
        '(local.set $c (f32x4.add (local.get $c) (f32x4.mul (local.get $a) (local.get $b)))) ;; (f32x4.relaxed_madd a b c)',
      );
      assert.throws(() => lowerRelaxedMadd('(f32x4.relaxed_madd (local.get 0) (local.get 1))'), /exactly three operands|expected '\('/);
      assert.throws(() => lowerRelaxedMadd('(f32x4.relaxed_madd $a (local.get 1) (local.get 2))'), /expected '\('/);
    });
  });

  describe('backend selection', () => {
    it('reports a usable backend: plain SIMD128 always validates on Node ≥ 20, JS is always there', () => {
      const info = kernelInfo();
      assert.ok(info.available.includes('wasm-simd'), `wasm-simd missing: ${info.unavailable}`);
      assert.equal(info.available[info.available.length - 1], 'js');
      assert.equal(info.requested, 'auto');
      assert.equal(info.backend, info.available[0]);
      assert.ok(info.minWasmMacs > 0);
      // Relaxed SIMD is detected by validating the module, not guessed from the Node version.
      assert.equal(info.available.includes('wasm-relaxed-simd'), info.unavailable === undefined);
    });

    it('setKernelBackend forces a backend, refuses one the runtime lacks, and auto restores the default', () => {
      setKernelBackend('js');
      assert.equal(kernelInfo().backend, 'js');
      assert.equal(kernelInfo().requested, 'js');
      setKernelBackend('wasm-simd');
      assert.equal(kernelInfo().backend, 'wasm-simd');
      if (!available.includes('wasm-relaxed-simd')) {
        assert.throws(() => setKernelBackend('wasm-relaxed-simd'), /wasm-relaxed-simd is not available/);
        assert.equal(kernelInfo().backend, 'wasm-simd');
      }
      setKernelBackend('auto');
      assert.equal(kernelInfo().backend, available[0]);
    });

    it('auto: small products in JS, large ones in WebAssembly, both correct', () => {
      const rng = new Xoshiro128(7);
      for (const [m, k, n] of [[3, 4, 5], [64, 64, 64], [130, 70, 33]]) {
        const A = randomMatrix(rng, m * k), B = randomMatrix(rng, k * n), C0 = randomMatrix(rng, m * n);
        const out = C0.slice();
        matmulInto(A, B, out, m, k, n);
        checkProduct(out, A, B, C0, m, k, n);
      }
    });
  });

  for (const backend of available) {
    describe(`backend ${backend} (forced)`, () => {
      beforeEach(() => setKernelBackend(backend));

      it('matmulInto accumulates A·B into a non-zero out for every edge size of m, k and n', () => {
        const rng = new Xoshiro128(1);
        for (const m of EDGE) {
          for (const k of EDGE) {
            for (const n of EDGE) {
              const A = randomMatrix(rng, m * k), B = randomMatrix(rng, k * n), C0 = randomMatrix(rng, m * n, 4);
              const out = C0.slice();
              matmulInto(A, B, out, m, k, n);
              checkProduct(out, A, B, C0, m, k, n);
            }
          }
        }
      });

      it('matmulTransposedInto overwrites out with A·Bᵀ for every edge size', () => {
        const rng = new Xoshiro128(2);
        for (const m of EDGE) {
          for (const k of EDGE) {
            for (const n of EDGE) {
              const A = randomMatrix(rng, m * k), B = randomMatrix(rng, n * k);
              const out = new Float32Array(m * n).fill(NaN); // never read
              matmulTransposedInto(A, B, out, m, k, n);
              checkProduct(out, A, B, null, m, k, n, { transposed: true });
            }
          }
        }
      });

      it('crosses the kernel’s k and m blocks (KC = 256, MC = 160) and larger shapes', () => {
        const rng = new Xoshiro128(3);
        for (const [m, k, n] of [[130, 70, 33], [161, 257, 9], [170, 600, 21], [321, 513, 40], [7, 1000, 130]]) {
          const A = randomMatrix(rng, m * k), B = randomMatrix(rng, k * n), C0 = randomMatrix(rng, m * n);
          const out = C0.slice();
          matmulInto(A, B, out, m, k, n);
          checkProduct(out, A, B, C0, m, k, n);
          const Bt = randomMatrix(rng, n * k);
          const outT = new Float32Array(m * n);
          matmulTransposedInto(A, Bt, outT, m, k, n);
          checkProduct(outT, A, Bt, null, m, k, n, { transposed: true });
        }
      });

      it('matches the float64 reference on random shapes and values (property)', () => {
        fc.assert(
          fc.property(
            fc.integer({ min: 1, max: 70 }),
            fc.integer({ min: 1, max: 70 }),
            fc.integer({ min: 1, max: 70 }),
            fc.integer(),
            fc.boolean(),
            (m, k, n, seed, transposed) => {
              const rng = new Xoshiro128(seed);
              const A = randomMatrix(rng, m * k, 100), B = randomMatrix(rng, k * n, 0.01);
              if (transposed) {
                const out = new Float32Array(m * n);
                matmulTransposedInto(A, B, out, m, k, n);
                checkProduct(out, A, B, null, m, k, n, { transposed });
              } else {
                const C0 = randomMatrix(rng, m * n);
                const out = C0.slice();
                matmulInto(A, B, out, m, k, n);
                checkProduct(out, A, B, C0, m, k, n);
              }
            },
          ),
          { numRuns: 60 },
        );
      });

      it('lowerOnly computes every entry with j ≤ i (the causal scores)', () => {
        const rng = new Xoshiro128(4);
        for (const [m, k, n] of [[1, 1, 1], [17, 64, 17], [65, 3, 65], [40, 16, 70], [70, 16, 40], [200, 64, 200]]) {
          const A = randomMatrix(rng, m * k), B = randomMatrix(rng, n * k);
          const out = new Float32Array(m * n);
          matmulTransposedInto(A, B, out, m, k, n, true);
          checkProduct(out, A, B, null, m, k, n, { transposed: true, lowerOnly: true });
        }
      });

      it('reads and writes through subarray views at any offset', () => {
        const rng = new Xoshiro128(5);
        const [m, k, n] = [37, 29, 23];
        const bigA = randomMatrix(rng, m * k + 11), bigB = randomMatrix(rng, k * n + 5), bigC = randomMatrix(rng, m * n + 6);
        const A = bigA.subarray(3, 3 + m * k), B = bigB.subarray(5), C = bigC.subarray(1, 1 + m * n);
        const C0 = C.slice();
        const outside = [bigC[0], ...bigC.subarray(1 + m * n)];
        matmulInto(A, B, C, m, k, n);
        checkProduct(C, A, B, C0, m, k, n);
        assert.deepEqual([bigC[0], ...bigC.subarray(1 + m * n)], outside, 'entries outside the view are untouched');
      });

      it('a small product after a large one (memory reuse) leaks nothing from the previous call', () => {
        const rng = new Xoshiro128(6);
        for (const [m, k, n] of [[300, 300, 300], [3, 2, 5], [120, 9, 130], [1, 1, 1]]) {
          const A = randomMatrix(rng, m * k), B = randomMatrix(rng, k * n);
          const out = new Float32Array(m * n);
          matmulInto(A, B, out, m, k, n);
          checkProduct(out, A, B, null, m, k, n);
        }
      });

      it('propagates NaN and ±Infinity like plain float math (0·Inf is NaN, no skipping of zeros)', () => {
        const [m, k, n] = [9, 21, 19];
        const rng = new Xoshiro128(8);
        const A = randomMatrix(rng, m * k), B = randomMatrix(rng, k * n), C0 = randomMatrix(rng, m * n);
        A[2 * k + 5] = NaN; // row 2 becomes NaN everywhere
        A[4 * k + 7] = Infinity; // row 4: ±Infinity, NaN where B[7, j] = 0 …
        B[7 * n + 3] = 0;
        A[6 * k + 1] = 0; // … and an exact zero times an infinity in B is NaN too, not skipped
        A.fill(0, 6 * k, 7 * k);
        B[1 * n + 11] = -Infinity;
        B[9 * n + 13] = Infinity; // column 13 is +Inf for rows whose A[i, 9] > 0, -Inf where < 0
        C0[8 * n + 0] = Infinity; // an infinite initial out stays infinite …
        C0[8 * n + 1] = NaN; // … and NaN stays NaN
        A[8 * k + 9] = 0.5;
        const out = C0.slice();
        matmulInto(A, B, out, m, k, n);
        checkProduct(out, A, B, C0, m, k, n, { what: 'NaN/Inf' });
        assert.ok(Number.isNaN(out[2 * n + 0]) && Number.isNaN(out[4 * n + 3]) && Number.isNaN(out[6 * n + 11]));
        assert.equal(out[8 * n + 0], Infinity);
        assert.ok(Number.isNaN(out[8 * n + 1]));

        const Bt = new Float32Array(n * k);
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) Bt[j * k + p] = B[p * n + j];
        const outT = new Float32Array(m * n);
        matmulTransposedInto(A, Bt, outT, m, k, n);
        checkProduct(outT, A, Bt, null, m, k, n, { transposed: true, what: 'NaN/Inf transposed' });
      });

      it('agrees with the JS kernel, and the Tensor API (matmul, matmulTransposed) uses it', () => {
        const rng = new Xoshiro128(9);
        const [m, k, n] = [45, 33, 27];
        const A = randomMatrix(rng, m * k), B = randomMatrix(rng, k * n);
        const viaJs = new Float32Array(m * n);
        matmulIntoJs(A, B, viaJs, m, k, n);
        const got = matmul(tensor([m, k], A), tensor([k, n], B));
        assert.deepEqual(got.shape, [m, n]);
        assertClose(got.data, viaJs, 'matmul vs JS kernel', 1e-5, 1e-5);
        const Bt = new Float32Array(n * k);
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) Bt[j * k + p] = B[p * n + j];
        assertClose(matmulTransposed(tensor([m, k], A), tensor([n, k], Bt)).data, viaJs, 'matmulTransposed vs JS kernel', 1e-5, 1e-5);
      });

      it('does nothing for empty products and zeroes out for k = 0 in matmulTransposedInto', () => {
        const out = Float32Array.of(7, 8, 9);
        matmulInto(new Float32Array(0), new Float32Array(0), out, 3, 0, 1);
        assert.deepEqual(Array.from(out), [7, 8, 9]);
        matmulInto(new Float32Array(0), new Float32Array(6), out, 0, 2, 3);
        assert.deepEqual(Array.from(out), [7, 8, 9]);
        matmulTransposedInto(new Float32Array(0), new Float32Array(0), out, 3, 0, 1);
        assert.deepEqual(Array.from(out), [0, 0, 0]);
      });

      it('multi-head attention gives the same result as on the JS kernel (causal and not, traced and not)', () => {
        const [n, dModel, heads] = [70, 64, 4];
        const rng = new Xoshiro128(10);
        const x = tensor([n, dModel], randomMatrix(rng, n * dModel));
        const weights = randomMhaWeights({ dModel, heads, seed: 3, causal: true });
        for (const causal of [true, false]) {
          for (const trace of [false, true]) {
            const got = multiHeadAttention(x, weights, { causal, trace });
            setKernelBackend('js');
            const want = multiHeadAttention(x, weights, { causal, trace });
            setKernelBackend(backend);
            const what = `${causal ? 'causal' : 'full'}${trace ? ', traced' : ''}`;
            // Scores: masked entries must be exactly -Infinity on both (assertClose checks that).
            assertClose(got.attnScores.data, want.attnScores.data, `scores (${what})`, 1e-4, 1e-5);
            assertClose(got.attnWeights.data, want.attnWeights.data, `weights (${what})`, 1e-4, 1e-6);
            assertClose(got.output.data, want.output.data, `output (${what})`, 1e-4, 1e-5);
            if (trace) {
              const raw = (r: typeof got) => r.trace?.find((s) => s.id === 'rawScores')?.tensor.data ?? new Float32Array(0);
              assertClose(raw(got), raw(want), `raw scores (${what})`, 1e-4, 1e-5);
            }
          }
        }
      });
    });
  }
});
