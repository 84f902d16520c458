/**
 * `npm run bench`: speed and memory of the engine, each as a ratio against a reference measured in
 * the same run on the same machine (onnxruntime-node for compute, js-tiktoken for tokenising, the
 * tensors' own byte count for memory). Targets are printed beside the ratios; nothing here is a test.
 */
import { join } from 'node:path';
import { getEncoding } from 'js-tiktoken';
import type * as Ort from 'onnxruntime-node';
import { multiHeadAttention } from '../../src/engine/attention';
import { inspect } from '../../src/engine/inspection';
import { gpt2Forward } from '../../src/engine/gpt2';
import { kernelInfo, layerNorm, matmulInto } from '../../src/engine/kernels';
import type { Gpt2Config } from '../../src/engine/types';
import { gpt2TensorShapes, gpt2WeightsFromTensors } from '../../src/model';
import { randomMhaWeights, Xoshiro128 } from '../../src/engine/random';
import { tensor } from '../../src/engine/tensor';
import { createTokenizer } from '../../src/tokenize';
import { DEFAULT_QWEN_FOLDER, ensureQwenCheckpoint } from './qwenCheckpoint';
import { ensureQwenTokenizer, QWEN_CHILD_FLAG, QWEN_MEMORY_TARGET, qwenMemoryChild, runQwenMemoryChild } from './qwenMemory';

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

/** onnxruntime-node, loaded only by the cases that compare with it (the memory case's child never pays for it). */
const onnxRuntime = (): Promise<typeof Ort> => import('onnxruntime-node');

async function benchMha(): Promise<void> {
  const ort = await onnxRuntime();
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

/** GPT-2 small's transformer body (12 blocks + ln_f, no LM head) on random weights, against 12 ORT block runs. */
async function benchGpt2Body(): Promise<void> {
  const ort = await onnxRuntime();
  const config: Gpt2Config = { nLayer: 12, nHead: 12, nEmbd: 768, nPositions: 1024, vocabSize: 50257, layerNormEpsilon: 1e-5 };
  const rng = new Xoshiro128(3);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of gpt2TensorShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const gain = /ln_\d?\.?weight|ln_f\.weight/.test(name);
    for (let i = 0; i < data.length; i++) data[i] = gain ? 1 + rng.uniform(0.1) : rng.uniform(0.05);
    tensors.set(name, { shape, data });
  }
  const model = gpt2WeightsFromTensors(config, tensors);
  const session = await ort.InferenceSession.create(join(__dirname, '..', 'scripts', 'bench', 'gpt2-block-d768-h12.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const d = config.nEmbd;
  for (const n of [128, 512]) {
    const ids = Array.from({ length: n }, (_, i) => (i * 7919) % config.vocabSize);
    const mask = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) mask[i * n + j] = -Infinity;
    const t = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
    const reference = async () => {
      let h: Float32Array = new Float32Array(n * d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) h[i * d + j] = model.wte.data[ids[i] * d + j] + model.wpe.data[i * d + j];
      for (const b of model.blocks) {
        const out = await session.run({
          h: t(h, [n, d]), ln1_w: t(b.ln1.weight.data, [d]), ln1_b: t(b.ln1.bias.data, [d]), c_attn_w: t(b.cAttnWeight.data, [d, 3 * d]), c_attn_b: t(b.cAttnBias.data, [3 * d]),
          c_proj_w: t(b.cProjWeight.data, [d, d]), c_proj_b: t(b.cProjBias.data, [d]), ln2_w: t(b.ln2.weight.data, [d]), ln2_b: t(b.ln2.bias.data, [d]),
          fc_w: t(b.fcWeight.data, [d, 4 * d]), fc_b: t(b.fcBias.data, [4 * d]), mlp_proj_w: t(b.mlpProjWeight.data, [4 * d, d]), mlp_proj_b: t(b.mlpProjBias.data, [d]), mask: t(mask, [n, n]),
        });
        h = out.out.data as Float32Array;
      }
      return layerNorm({ shape: [n, d], data: h }, model.lnF.weight, model.lnF.bias, config.layerNormEpsilon).data;
    };
    const ours = () => gpt2Forward(model, ids, { lmHead: false }).lastHidden.data;
    const a = ours(), b = await reference();
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + 1e-2));
    if (worst > 1e-2) throw new Error(`bench: GPT-2 body disagrees with onnxruntime at n=${n} (relative ${worst})`);
    const runs = n <= 128 ? 5 : 3;
    const refTime = await median(runs, reference);
    const time = await median(runs, ours);
    report(`GPT-2 small body (12 blocks + ln_f) n=${n}`, time, refTime, 'onnxruntime-node, 1 thread', '≤ 3×');
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
  const inspection = inspect(ids, { kind: 'random', config: { dModel: 64, heads: 4, seed: 1, causal: true } });
  const traced = inspection.trace(0);
  peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  clearInterval(poll);
  // What the result must hold at least: scores and weights, [heads, n, n] float32 each.
  const essential = 2 * inspection.heads * n * n * 4;
  const used = peak - before;
  if (traced.attnWeights.data.length !== essential / 8) throw new Error('bench: the trace has the wrong size');
  report(`memory: random model with step trace, n=${n}`, used / 2 ** 20, essential / 2 ** 20, 'scores + weights bytes', '≤ 3×', 'MiB');
}

const MB = 2 ** 20;

/**
 * Issue 7: a Qwen2.5-0.5B-shaped BF16 checkpoint (generated once into .cache/bench/) loaded and inspected
 * on 512 tokens in a fresh process, as the worker does it; peak RSS against the weights in float32.
 */
async function benchQwenMemory(): Promise<void> {
  const root = join(__dirname, '..');
  const folder = join(root, DEFAULT_QWEN_FOLDER);
  await ensureQwenCheckpoint(folder, (line) => console.log(`  ${line}`));
  await ensureQwenTokenizer(folder, root);
  const r = await runQwenMemoryChild(__filename, folder);
  const ratio = r.maxRss / r.weightBytes;
  const mark = ratio <= QWEN_MEMORY_TARGET ? 'pass' : 'FAIL';
  const gb = (b: number) => `${(b / 1e9).toFixed(2)} GB`;
  console.log(
    `Qwen2.5-0.5B-shaped (BF16, ${(r.parameters / 1e6).toFixed(0)}M parameters), ${r.tokens} tokens: weights in float32 ${gb(r.weightBytes)}, ` +
      `peak RSS ${gb(r.maxRss)} = ${ratio.toFixed(2)}× (target ≤ ${QWEN_MEMORY_TARGET}×: ${mark}); peak RSS after loading ${gb(r.maxRssAfterLoad)} ` +
      `(resident then ${gb(r.rssAfterLoad)}, before ${gb(r.rssBeforeLoad)}); sampled peaks: external ${gb(r.sampled.external)}, ` +
      `arrayBuffers ${gb(r.sampled.arrayBuffers)}, heap ${(r.sampled.heapUsed / MB).toFixed(0)} MiB; limits.ts estimate ${gb(r.estimate)}`,
  );
  console.log(
    `  load ${(r.loadMs / 1000).toFixed(2)} s, inspect ${(r.inspectMs / 1000).toFixed(2)} s (perplexity ${r.perplexity?.toFixed(0)}); ` +
      r.requests.map((q) => `${q.what} ${q.ms.toFixed(0)} ms`).join(', '),
  );
  rows.push([`memory: Qwen2.5-0.5B-shaped BF16, n=${r.tokens}, worker path (peak RSS)`, `${(r.maxRss / MB).toFixed(0)} MiB`, `${(r.weightBytes / MB).toFixed(0)} MiB (weights in float32)`, `${ratio.toFixed(2)}× ${mark}`, `≤ ${QWEN_MEMORY_TARGET}×`]);
  rows.push([`Qwen2.5-0.5B-shaped load / inspect n=${r.tokens}`, `${(r.loadMs / 1000).toFixed(2)} s / ${(r.inspectMs / 1000).toFixed(2)} s`, '—', '—', '—']);
}

/** `node dist/bench.js [case …]` runs only the named cases (gemm, mha, gpt2, tokenizer, memory, qwen); none runs all. */
const CASES: Record<string, () => Promise<void>> = {
  gemm: benchGemm,
  mha: benchMha,
  gpt2: benchGpt2Body,
  tokenizer: benchTokenizer,
  memory: benchMemory,
  qwen: benchQwenMemory,
};

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !(name in CASES));
  if (unknown.length) throw new Error(`bench: unknown case ${unknown.join(', ')}; the cases are ${Object.keys(CASES).join(', ')}`);
  console.log(`Attention Inspector benchmark — node ${process.version}, ${process.arch}, kernel ${kernelInfo().backend}`);
  for (const [name, run] of Object.entries(CASES)) if (!asked.length || asked.includes(name)) await run();
  console.log('\n| case | ours | reference | ratio | target |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

const done = (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
};
if (process.argv[2] === QWEN_CHILD_FLAG) {
  // The memory case's child: one JSON line on stdout.
  qwenMemoryChild(process.argv[3], process.argv[4] ? Number(process.argv[4]) : undefined).then((result) => console.log(JSON.stringify(result)), done);
} else {
  main().catch(done);
}
