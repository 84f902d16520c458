/**
 * `npm run bench`: speed and memory of the engine, each as a ratio against a reference measured in
 * the same run on the same machine (onnxruntime-node for compute, js-tiktoken for tokenising, the
 * tensors' own byte count for memory). Targets are printed beside the ratios; nothing here is a test.
 */
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import * as ort from 'onnxruntime-node';
import { multiHeadAttention } from '../../src/engine/attention';
import { inspectTokens } from '../../src/engine/inspect';
import { kernelInfo, matmulInto } from '../../src/engine/kernels';
import { randomMhaWeights, Xoshiro128 } from '../../src/engine/random';
import { tensor } from '../../src/engine/tensor';
import { createTokenizer } from '../../src/tokenize';

const D_MODEL = 768;
const HEADS = 12;

function randomData(size: number, seed: number): Float32Array {
  const rng = new Xoshiro128(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(1);
  return out;
}

/** Median wall time of `runs` calls after one warm-up call. */
async function median(runs: number, fn: () => unknown): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const rows: string[][] = [];
function report(name: string, ours: number, reference: number, refName: string, target: string, unit = 'ms'): void {
  const ratio = ours / reference;
  rows.push([name, `${ours.toFixed(1)} ${unit}`, `${reference.toFixed(1)} ${unit} (${refName})`, `${ratio.toFixed(2)}×`, target]);
  console.log(`${name}: ours ${ours.toFixed(1)} ${unit}, ${refName} ${reference.toFixed(1)} ${unit}, ratio ${ratio.toFixed(2)}× (target ${target})`);
}

async function benchMha(): Promise<void> {
  const modelPath = join(__dirname, '..', 'scripts', 'bench', 'mha-d768-h12.onnx');
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const weights = randomMhaWeights({ dModel: D_MODEL, heads: HEADS, seed: 1, causal: true });
  // The ONNX graph has no biases: drop ours so both engines do the same work.
  const noBias = { ...weights, bQuery: undefined, bKey: undefined, bValue: undefined, outProjBias: undefined };
  for (const n of [128, 512]) {
    const x = tensor([n, D_MODEL], randomData(n * D_MODEL, n));
    const mask = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) mask[i * n + j] = -Infinity;
    const feeds = {
      x: new ort.Tensor('float32', x.data, [n, D_MODEL]),
      w_query: new ort.Tensor('float32', weights.wQuery.data, [D_MODEL, D_MODEL]),
      w_key: new ort.Tensor('float32', weights.wKey.data, [D_MODEL, D_MODEL]),
      w_value: new ort.Tensor('float32', weights.wValue.data, [D_MODEL, D_MODEL]),
      out_proj: new ort.Tensor('float32', weights.outProj.data, [D_MODEL, D_MODEL]),
      mask: new ort.Tensor('float32', mask, [n, n]),
    };
    const runs = n <= 128 ? 9 : 5;
    const reference = await median(runs, () => session.run(feeds));
    // The two engines must agree before their times mean anything.
    const ours = multiHeadAttention(x, noBias, { causal: true });
    const theirs = (await session.run(feeds)).output.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(theirs[i] - ours.output.data[i]) / (Math.abs(theirs[i]) + 1e-3));
    if (worst > 1e-3) throw new Error(`bench: engine and onnxruntime disagree at n=${n} (relative ${worst})`);
    const time = await median(runs, () => multiHeadAttention(x, noBias, { causal: true }));
    report(`MHA forward d=768 h=12 causal n=${n}`, time, reference, 'onnxruntime-node, 1 thread', '≤ 3×');
  }
}

async function benchGemm(): Promise<void> {
  const [m, k, n] = [512, 768, 768];
  const a = randomData(m * k, 1), b = randomData(k * n, 2), out = new Float32Array(m * n);
  const time = await median(5, () => {
    out.fill(0);
    matmulInto(a, b, out, m, k, n);
  });
  const gflops = (2 * m * k * n) / (time * 1e6);
  console.log(`GEMM ${m}×${k}×${n}: ${time.toFixed(1)} ms, ${gflops.toFixed(1)} GFLOP/s (fp32 peak of this machine's core ≈ 110)`);
  rows.push([`GEMM ${m}×${k}×${n}`, `${gflops.toFixed(1)} GFLOP/s`, '≈ 110 GFLOP/s (core peak)', `${(gflops / 110).toFixed(2)}× of peak`, '—']);
}

async function benchTokenizer(): Promise<void> {
  const sentence = 'The quick brown fox, 狐狸, jumps over the lazy dog 🐕 while tabs\tand\r\nnewlines pass by. ';
  const text = sentence.repeat(Math.ceil(100_000 / sentence.length));
  const encoding = getEncoding('gpt2');
  const reference = await median(5, () => encoding.encode(text, 'all'));
  const tokenizer = createTokenizer('gpt2');
  const ours = await median(5, () => tokenizer.encode(text));
  report(`GPT-2 tokenize ${text.length} chars with offsets`, ours, reference, 'js-tiktoken encode, ids only', '≤ 2×');
}

async function benchMemory(): Promise<void> {
  const n = 2048;
  const ids = Array.from({ length: n }, (_, i) => (i * 7919) % 50000);
  const global = globalThis as { gc?: () => void };
  global.gc?.();
  const before = process.memoryUsage().arrayBuffers;
  let peak = before;
  const poll = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
  const inspection = inspectTokens(ids, { kind: 'random', config: { dModel: 64, heads: 4, seed: 1, causal: true } }, { traceLayer: 0 });
  peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  clearInterval(poll);
  // What the result must hold at least: scores and weights, [heads, n, n] float32 each.
  const essential = 2 * inspection.heads * n * n * 4;
  const used = peak - before;
  report(`memory: random model with step trace, n=${n}`, used / 2 ** 20, essential / 2 ** 20, 'scores + weights bytes', '≤ 3×', 'MiB');
}

async function main(): Promise<void> {
  console.log(`Attention Inspector benchmark — node ${process.version}, ${process.arch}, kernel ${kernelInfo().backend}`);
  await benchGemm();
  await benchMha();
  await benchTokenizer();
  await benchMemory();
  console.log('\n| case | ours | reference | ratio | target |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
