/**
 * The bench's memory case for a 0.5B model (issue 7): in a fresh child process, load the Qwen2.5-0.5B-shaped
 * BF16 checkpoint and inspect 512 tokens the way the extension's worker does, then ask for layers and
 * traces the way the webview does. The peak resident memory is compared with the weights in float32;
 * the target is at most 1.5× (about 2.96 GB for 494M parameters).
 *
 * What runs is the worker's code path on token ids (the checkpoint has no tokenizer.json): loadModel on the
 * folder, runPipeline with the worker's options (interactive, its memory budget, top 10, a checkpoint
 * between steps, the grid's thumbnails summarised per layer), an InspectionSession answering layer and
 * trace requests, and the copies the worker makes to send them (layers sliced, traces sliced per head,
 * the summary serialised as postMessage does).
 */
import { spawn } from 'node:child_process';
import { serialize } from 'node:v8';
import { thumbnail } from '../../src/engine/downsample';
import { kernelInfo } from '../../src/engine/kernels';
import { inspectionBytes } from '../../src/engine/limits';
import { modelShape } from '../../src/engine/inspection';
import type { AttentionResult } from '../../src/engine/attention';
import { Xoshiro128 } from '../../src/engine/random';
import { loadGpt2Folder } from '../../src/model';
import { loadModel } from '../../src/pipeline/model';
import { defaultMemoryBudget, runPipeline } from '../../src/pipeline/run';
import { THUMBNAIL_SIZE } from '../../src/protocol';
import { InspectionSession, INTERACTIVE_BYTES } from '../../src/worker/session';
import { QWEN_CONFIG } from './qwenCheckpoint';

export const QWEN_CHILD_FLAG = '--qwen-memory-child';
export const QWEN_TOKENS = 512;
/** Peak resident memory allowed, as a multiple of the weights in float32. */
export const QWEN_MEMORY_TARGET = 1.5;

export interface QwenMemoryResult {
  readonly parameters: number;
  /** The weights in float32 (a tied LM head counted once). */
  readonly weightBytes: number;
  readonly tokens: number;
  /** process.resourceUsage().maxRSS, in bytes: the whole process's high-water mark. */
  readonly maxRss: number;
  /** Highest values sampled between steps (process.memoryUsage()). */
  readonly sampled: { readonly rss: number; readonly external: number; readonly arrayBuffers: number; readonly heapUsed: number };
  readonly rssBeforeLoad: number;
  readonly rssAfterLoad: number;
  readonly maxRssAfterLoad: number;
  /** limits.ts's estimate for this inspection (what the worker checks against its budget). */
  readonly estimate: number;
  readonly loadMs: number;
  readonly inspectMs: number;
  /** The webview's requests after the summary: each layer or trace and its time. */
  readonly requests: readonly { readonly what: string; readonly ms: number }[];
  readonly perplexity: number | null;
  /** Bytes of the summary as postMessage serialises it. */
  readonly summaryBytes: number;
  /** WebAssembly memory the kernels hold at the end (grown to the largest product, never shrunk). */
  readonly wasmBytes: number;
  /** Peak RSS when the forward pass and the summary were done, before the webview's requests. */
  readonly maxRssAfterInspect: number;
}

const maxRssBytes = () => process.resourceUsage().maxRSS * 1024;

/** Runs in the child: everything the worker does for one inspection and a few webview requests. */
export async function qwenMemoryChild(folder: string, tokens = QWEN_TOKENS): Promise<QwenMemoryResult> {
  const peak = { rss: 0, external: 0, arrayBuffers: 0, heapUsed: 0 };
  let lastSample = 0;
  const sample = (force = false) => {
    const now = performance.now();
    if (!force && now - lastSample < 5) return;
    lastSample = now;
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  };
  sample(true);
  const rssBeforeLoad = process.memoryUsage.rss();
  // Loading awaits file reads, so a timer samples it; the inspection is synchronous and samples at its checkpoints.
  const timer = setInterval(() => sample(true), 5);
  const t0 = performance.now();
  const loaded = await loadModel({ kind: 'folder', folder, label: 'qwen2.5-0.5b-shaped' }, { loadGpt2: loadGpt2Folder });
  const loadMs = performance.now() - t0;
  clearInterval(timer);
  sample(true);
  const rssAfterLoad = process.memoryUsage.rss();
  const maxRssAfterLoad = maxRssBytes();

  const rng = new Xoshiro128(7);
  const ids = Array.from({ length: tokens }, () => rng.nextUint32() % QWEN_CONFIG.vocab_size);
  const checkpoint = () => sample();
  const shape = modelShape(loaded.model);
  const t1 = performance.now();
  // The worker's options (src/worker/session.ts runInspection), on ids instead of text.
  let thumbnails: Float32Array | undefined;
  let first: AttentionResult | undefined;
  const result = runPipeline({ ids }, loaded, {
    maxTokens: tokens,
    memoryBudget: (s) => Math.min(defaultMemoryBudget(), s.weightBytes + INTERACTIVE_BYTES),
    interactive: true,
    topK: 10,
    checkpoint,
    onLayer: () => sample(),
    onAttention: (layer, attention) => {
      checkpoint();
      const { heads, n } = attention;
      const side = Math.min(THUMBNAIL_SIZE, n);
      thumbnails ??= new Float32Array(loaded.info.layers * heads * side * side);
      thumbnails.set(thumbnail(attention.attnWeights.data, heads, n, side), layer * heads * side * side);
      if (layer === 0) first = attention;
    },
  });
  if (result.truncation) throw new Error(`bench: the worker's limits cut the input to ${result.truncation.keptTokens} tokens (${result.truncation.reason})`);
  if (!first || !thumbnails) throw new Error('bench: no attention for layer 0');
  const session = new InspectionSession(1, result);
  // postMessage serialises the summary (layer 0's matrices, the thumbnails) to send it to the host.
  const summaryBytes = serialize({ weights: first.attnWeights.data, scores: first.attnScores.data, thumbnails, metrics: result.inspection.metrics }).length;
  sample(true);
  const inspectMs = performance.now() - t1;
  const maxRssAfterInspect = maxRssBytes();

  // The webview: the step trace of head 0 on layer 0, then other layers with their traces.
  const requests: { what: string; ms: number }[] = [];
  const time = (what: string, fn: () => void) => {
    const t = performance.now();
    fn();
    requests.push({ what, ms: performance.now() - t });
    sample(true);
  };
  const last = shape.layers - 1;
  for (const [layer, withLayer] of [[0, false], [last, true], [Math.floor(last / 2), true]] as const) {
    if (withLayer) {
      time(`layer ${layer}`, () => {
        const data = session.layer(layer, checkpoint);
        // Copies, as src/worker/main.ts makes them for transfer; the host takes them away.
        void [data.weights.slice(), data.scores.slice()];
      });
    }
    time(`trace ${layer}/0`, () => void session.trace(layer, 0, checkpoint));
  }
  return {
    summaryBytes,
    wasmBytes: kernelInfo().wasmMemoryBytes,
    maxRssAfterInspect,
    parameters: shape.weightBytes / 4,
    weightBytes: shape.weightBytes,
    tokens: result.inspection.n,
    maxRss: maxRssBytes(),
    sampled: peak,
    rssBeforeLoad,
    rssAfterLoad,
    maxRssAfterLoad,
    estimate: inspectionBytes(shape, tokens, { keep: 'inputs', trace: true, transfer: true }),
    loadMs,
    inspectMs,
    requests,
    perplexity: result.inspection.perplexity,
  };
}

/** Runs `script QWEN_CHILD_FLAG folder tokens` in a fresh Node process and returns what it measured. */
export function runQwenMemoryChild(script: string, folder: string, tokens = QWEN_TOKENS): Promise<QwenMemoryResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, QWEN_CHILD_FLAG, folder, String(tokens)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench: the memory child exited with ${code}`));
      try {
        resolvePromise(JSON.parse(out.trim().split('\n').pop() ?? '') as QwenMemoryResult);
      } catch (error) {
        reject(error);
      }
    });
  });
}
