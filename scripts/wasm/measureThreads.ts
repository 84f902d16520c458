/**
 * Kernel-thread scaling, 1 thread against the pool (src/engine/wasm/pool.ts), on shapes the engine runs:
 * the 512×768×768 GEMM (and 2048 rows, in more blocks than threads), a GPT-2-small layer's projections at 512 tokens (c_attn, attn c_proj, c_fc,
 * mlp c_proj), and multi-head attention d=768 h=12 causal at n=512. One and two threads alternate in
 * rounds, so a busy machine hurts both alike; each case prints its best and median time per side, the
 * ratio of the best times, and the CPU time per run of both (what the threads add in work, whatever the
 * load). Checks the results are bit-identical before timing. Scaling needs idle cores: look at the load.
 *
 *   npx tsx scripts/wasm/measureThreads.ts [rounds=5] [threads=cores]
 */
import { availableParallelism, loadavg } from 'node:os';
import { multiHeadAttention } from '../../src/engine/attention';
import { kernelInfo, matmulInto } from '../../src/engine/kernels';
import { randomMhaWeights, Xoshiro128 } from '../../src/engine/random';
import { tensor } from '../../src/engine/tensor';
import { kernelBackend } from '../../src/worker/backend';
import { startNodeKernelThreads, stopKernelThreads } from '../../src/worker/kernelThreads';

const rounds = Number(process.argv[2] ?? 5);
const threads = Number(process.argv[3] ?? availableParallelism());
const rng = new Xoshiro128(1);
const random = (size: number) => Float32Array.from({ length: size }, () => rng.uniform(1));

interface Case {
  readonly name: string;
  readonly flops: number;
  readonly run: () => Float32Array[];
}

function gemms(name: string, shapes: [number, number, number][]): Case {
  const ops = shapes.map(([m, k, n]) => ({ m, k, n, A: random(m * k), B: random(k * n), C: new Float32Array(m * n) }));
  return {
    name,
    flops: shapes.reduce((s, [m, k, n]) => s + 2 * m * k * n, 0),
    run: () =>
      ops.map(({ m, k, n, A, B, C }) => {
        C.fill(0);
        matmulInto(A, B, C, m, k, n);
        return C;
      }),
  };
}

const n = 512;
const x = tensor([n, 768], random(n * 768));
const weights = randomMhaWeights({ dModel: 768, heads: 12, seed: 1, causal: true });
const cases: Case[] = [
  gemms('GEMM 512×768×768', [[512, 768, 768]]),
  gemms('GEMM 2048×768×768 (8 blocks)', [[2048, 768, 768]]),
  gemms('GPT-2 small layer projections, n=512', [[n, 768, 2304], [n, 768, 768], [n, 768, 3072], [n, 3072, 768]]),
  {
    name: 'MHA d=768 h=12 causal, n=512',
    flops: 4 * 2 * n * 768 * 768 + 2 * 2 * n * n * 768,
    run: () => {
      const r = multiHeadAttention(x, weights, { causal: true });
      return [r.attnWeights.data, r.output.data];
    },
  },
];

/** CPU time (all threads of the process) per run, ms: on a machine busy with other work, wall time says little. */
const cpu: number[][][] = [[], []];

function time(c: Case, reps: number, cpuTimes?: number[]): number[] {
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const u = process.cpuUsage();
    const t = performance.now();
    c.run();
    times.push(performance.now() - t);
    const d = process.cpuUsage(u);
    cpuTimes?.push((d.user + d.system) / 1000);
  }
  return times;
}

const best = (t: number[]) => Math.min(...t);
const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];

console.log(`node ${process.version}, ${availableParallelism()} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const one: number[][] = cases.map(() => []);
const many: number[][] = cases.map(() => []);
let label = '';
for (let round = 0; round < rounds; round++) {
  for (const pooled of [false, true]) {
    if (pooled) startNodeKernelThreads(threads);
    else stopKernelThreads();
    if (pooled) label = kernelBackend();
    cases.forEach((c, i) => {
      if (round === 0) {
        // Bit-identity first: the pool's results against one thread's.
        stopKernelThreads();
        const want = c.run().map((a) => a.slice());
        startNodeKernelThreads(threads);
        const got = c.run();
        if (!pooled) stopKernelThreads();
        got.forEach((g, j) => {
          if (!Buffer.from(g.buffer, g.byteOffset, g.byteLength).equals(Buffer.from(want[j].buffer, want[j].byteOffset, want[j].byteLength))) throw new Error(`${c.name}: threads differ from one thread`);
        });
      }
      time(c, 2); // warm-up
      (cpu[pooled ? 1 : 0][i] ??= []);
      (pooled ? many : one)[i].push(...time(c, 5, cpu[pooled ? 1 : 0][i]));
    });
  }
}
stopKernelThreads();
console.log(`1 thread: ${kernelInfo().backend}; pool: ${label}; ${rounds} rounds × 5 runs each, alternating`);
cases.forEach((c, i) => {
  const gf = (ms: number) => (c.flops / ms / 1e6).toFixed(1);
  console.log(
    `${c.name.padEnd(40)} 1 thread ${best(one[i]).toFixed(2)} ms (median ${median(one[i]).toFixed(2)}, ${gf(best(one[i]))} GFLOP/s)  ` +
      `${threads} threads ${best(many[i]).toFixed(2)} ms (median ${median(many[i]).toFixed(2)}, ${gf(best(many[i]))} GFLOP/s)  ` +
      `scaling ${(best(one[i]) / best(many[i])).toFixed(2)}× (medians ${(median(one[i]) / median(many[i])).toFixed(2)}×)`,
  );
  // Work the threads add (copies, packing B again per block, waking and waiting): 1 = none.
  console.log(`${''.padEnd(40)} CPU time per run: 1 thread ${median(cpu[0][i]).toFixed(2)} ms, ${threads} threads ${median(cpu[1][i]).toFixed(2)} ms (medians; ratio ${(median(cpu[1][i]) / median(cpu[0][i])).toFixed(2)})`);
});
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
