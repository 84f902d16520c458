/**
 * The bench's references, run in the bench's own process on the graphs of computeCases.ts:
 * onnxruntime-node on every core (os.availableParallelism(), the native runtime a Python user gets),
 * onnxruntime-node on one thread, and onnxruntime-web's WebAssembly backend with the threads the
 * engine uses (what in-browser tools run). onnxruntime-web reads its thread count once, when its
 * WebAssembly module starts, so one process has one count; the probe below runs in a child.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type * as OrtNode from 'onnxruntime-node';
import type * as OrtWeb from 'onnxruntime-web';
import type { Feed } from './computeCases';
import { GraphBuilder } from './onnxGraph';

/**
 * Loaded at run time by name, so the bundler leaves both packages in node_modules (onnxruntime-node has
 * native binaries, onnxruntime-web its .wasm files and the worker script its threads start).
 */
const load = createRequire(__filename);
export const ortNode = (): typeof OrtNode => load('onnxruntime-node') as typeof OrtNode;
export const ortWeb = (): typeof OrtWeb => load('onnxruntime-web') as typeof OrtWeb;

export const CORES = availableParallelism();

export interface Reference {
  readonly name: string;
  readonly threads: number;
  run(): Promise<Float32Array[]>;
  release(): Promise<void>;
}

interface AnySession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}

function reference(name: string, threads: number, session: AnySession, feeds: Record<string, unknown>, outputs: readonly string[]): Reference {
  return {
    name,
    threads,
    run: async () => {
      const result = await session.run(feeds);
      return outputs.map((o) => result[o].data as Float32Array);
    },
    release: () => session.release(),
  };
}

export async function ortNodeReference(model: Uint8Array, feeds: Readonly<Record<string, Feed>>, outputs: readonly string[], threads: number): Promise<Reference> {
  const ort = ortNode();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor('float32', f.data, f.dims)]));
  return reference(`onnxruntime-node ${threads === 1 ? '1 thread' : `${threads} threads`}`, threads, session as unknown as AnySession, tensors, outputs);
}

let webThreads: number | undefined;

/** Sets onnxruntime-web's thread count; only before its first session (the WebAssembly module starts once). */
export function configureOrtWeb(threads: number): void {
  const ort = ortWeb();
  if (webThreads !== undefined && webThreads !== threads) throw new Error(`bench: onnxruntime-web already runs ${webThreads} threads`);
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  webThreads = threads;
}

export async function ortWebReference(model: Uint8Array, feeds: Readonly<Record<string, Feed>>, outputs: readonly string[]): Promise<Reference> {
  const ort = ortWeb();
  if (webThreads === undefined) configureOrtWeb(1);
  const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor('float32', f.data, f.dims as number[])]));
  const threads = webThreads ?? 1;
  return reference(`onnxruntime-web wasm ${threads === 1 ? '1 thread' : `${threads} threads`}`, threads, session as unknown as AnySession, tensors, outputs);
}

export interface WebThreadProbe {
  readonly threads: number;
  /** Median wall time of one 1024×768×3072 product. */
  readonly ms: number;
  /** Process CPU time over wall time while it ran: near the thread count when the threads really work. */
  readonly cpuPerWall: number;
  /** OS threads of the process once the session ran (Linux /proc/self/task): its thread pool's workers show here. */
  readonly osThreads?: number;
  readonly error?: string;
}

/** In a child process: onnxruntime-web with `threads` threads on one GEMM, timed, with the CPU it used. */
export async function webThreadProbe(threads: number): Promise<WebThreadProbe> {
  const [m, k, n] = [1024, 768, 3072];
  try {
    configureOrtWeb(threads);
    const g = new GraphBuilder();
    const b = new Float32Array(k * n).map((_, i) => ((i * 7) % 13) / 13 - 0.5);
    g.op('MatMul', ['a', g.weight('b', [k, n], b)], undefined, 'c');
    const model = g.build([{ name: 'a', dims: [m, k] }], [{ name: 'c', dims: [m, n] }]);
    const ref = await ortWebReference(model, { a: { data: new Float32Array(m * k).fill(0.5), dims: [m, k] } }, ['c']);
    await ref.run();
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await ref.run();
      times.push(performance.now() - t);
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await ref.release();
    times.sort((a, c) => a - c);
    let osThreads: number | undefined;
    try {
      osThreads = readdirSync('/proc/self/task').length;
    } catch {
      // not Linux
    }
    return { threads, ms: times[3], cpuPerWall: (cpu.user + cpu.system) / 1000 / wall, osThreads };
  } catch (error) {
    return { threads, ms: NaN, cpuPerWall: NaN, error: error instanceof Error ? error.message : String(error) };
  }
}
