/**
 * The engine's side of a compute case, in a fresh Node process as the extension's worker runs it, so
 * its peak resident memory (process.resourceUsage().maxRSS) belongs to that case alone. Over IPC:
 *   child → parent  { type: 'checked', files }     after one run, its outputs written as raw float32
 *   parent → child  { type: 'time', runs }         once the parent has compared them with the references
 *   child → parent  { type: 'timed', ... }          the timed runs and the peak memory
 * No timed run starts before the parent has checked the numbers.
 */
import { fork } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelInfo } from '../../src/engine/kernels';
import { COMPUTE_CASES, inspectGpt2, randomGpt2Small } from './computeCases';

export const ENGINE_CHILD_FLAG = '--engine-child';

/** The whole-inspection case: no reference graph, only the engine (its targets are absolute). */
export const INSPECT_CASE = 'inspect-1024';
const INSPECT_TOKENS = 1024;

const maxRssBytes = () => process.resourceUsage().maxRSS * 1024;

export interface EngineTimes {
  /** Wall times of the timed runs, ms, in order. */
  readonly times: readonly number[];
  /** The process's peak resident memory over setup, the checked run and the timed runs. */
  readonly maxRss: number;
  /** Resident memory once the inputs and weights were built, before the engine ran. */
  readonly rssAfterSetup: number;
  /** Wall time of the first (checked, cold) run. */
  readonly firstMs: number;
  readonly backend: string;
  /** The engine's kernel threads (kernelInfo().threads). */
  readonly threads: number;
  readonly extra?: Readonly<Record<string, unknown>>;
}

type ToParent = { type: 'checked'; files: string[]; firstMs: number } | ({ type: 'timed' } & EngineTimes);
type ToChild = { type: 'time'; runs: number };

function send(message: ToParent): Promise<void> {
  return new Promise((resolve, reject) => process.send?.(message, undefined, {}, (error) => (error ? reject(error) : resolve())));
}

function nextMessage(): Promise<ToChild> {
  return new Promise((resolve) => process.once('message', (m) => resolve(m as ToChild)));
}

function timeRuns(runs: number, fn: () => unknown): number[] {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times;
}

/** The child's main. */
export async function engineChild(name: string): Promise<void> {
  if (name === INSPECT_CASE) {
    const model = randomGpt2Small();
    const rssAfterSetup = process.memoryUsage.rss();
    const t0 = performance.now();
    const first = inspectGpt2(model, INSPECT_TOKENS);
    const firstMs = performance.now() - t0;
    await send({ type: 'checked', files: [], firstMs });
    const { runs } = await nextMessage();
    const times = timeRuns(runs, () => inspectGpt2(model, INSPECT_TOKENS));
    await send({ type: 'timed', times, maxRss: maxRssBytes(), rssAfterSetup, firstMs, backend: kernelInfo().backend, threads: kernelInfo().threads, extra: { perplexity: first.perplexity, layers: first.layers } });
    return;
  }
  const spec = COMPUTE_CASES.find((c) => c.name === name);
  if (!spec) throw new Error(`bench: no compute case ${name}`);
  const data = spec.setup();
  const rssAfterSetup = process.memoryUsage.rss();
  const t0 = performance.now();
  const outputs = data.engine();
  const firstMs = performance.now() - t0;
  const files = outputs.map((o, i) => {
    const file = join(tmpdir(), `attention-inspector-bench-${process.pid}-${i}.f32`);
    writeFileSync(file, new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
    return file;
  });
  outputs.length = 0;
  await send({ type: 'checked', files, firstMs });
  // The parent asks for runs until it is done and then ends this process.
  for (;;) {
    const { runs } = await nextMessage();
    await send({ type: 'timed', times: timeRuns(runs, data.engine), maxRss: maxRssBytes(), rssAfterSetup, firstMs, backend: kernelInfo().backend, threads: kernelInfo().threads });
  }
}

/** The parent's handle on one child: its checked outputs, then its timed runs when asked. */
export interface EngineRun {
  readonly outputs: Float32Array[];
  readonly firstMs: number;
  time(runs: number): Promise<EngineTimes>;
  kill(): void;
}

export function startEngineChild(script: string, name: string): Promise<EngineRun> {
  const child = fork(script, [ENGINE_CHILD_FLAG, name], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const messages: ToParent[] = [];
  const waiting: ((m: ToParent) => void)[] = [];
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure = error;
    for (const w of waiting.splice(0)) w({ type: 'checked', files: [], firstMs: NaN });
  };
  child.on('message', (m) => {
    const w = waiting.shift();
    if (w) w(m as ToParent);
    else messages.push(m as ToParent);
  });
  child.on('exit', (code) => {
    if (code !== 0) failAll(new Error(`bench: the engine child for ${name} exited with ${code}`));
  });
  child.on('error', failAll);
  const next = () =>
    new Promise<ToParent>((resolve, reject) => {
      if (failure) return reject(failure);
      const m = messages.shift();
      if (m) return resolve(m);
      waiting.push((msg) => (failure ? reject(failure) : resolve(msg)));
    });
  return next().then((checked) => {
    if (checked.type !== 'checked') throw new Error('bench: the engine child answered out of order');
    const outputs = checked.files.map((file) => {
      const bytes = readFileSync(file);
      rmSync(file);
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    });
    return {
      outputs,
      firstMs: checked.firstMs,
      time: async (runs: number) => {
        outputs.length = 0;
        child.send({ type: 'time', runs } satisfies ToChild);
        const timed = await next();
        if (timed.type !== 'timed') throw new Error('bench: the engine child answered out of order');
        const { type: _type, ...result } = timed;
        return result;
      },
      kill: () => void child.kill(),
    };
  });
}
