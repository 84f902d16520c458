/**
 * Starts the engine's kernel threads with worker_threads: (cores − 1) helpers beside the calling thread,
 * sharing one WebAssembly.Memory (src/engine/wasm/pool.ts, which stays free of node:* imports). The
 * helpers are unref'd, so they never keep a process alive, and they end with the thread that started them
 * (a worker's own workers are terminated with it).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { kernelThreadsFailed, startKernelThreads, stopKernelThreads, type KernelThreadsInfo } from '../engine/wasm/pool';

/** Starts the pool on this thread: `threads` in all (default: every core), 1 turns it off. */
export function startNodeKernelThreads(threads = availableParallelism()): KernelThreadsInfo {
  return startKernelThreads(threads, (source, data) => {
    // A helper holds no JS data of its own (the products live in the shared memory): a small heap.
    const worker = new Worker(source, { eval: true, workerData: data, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    worker.unref();
    // Products go on without it (this thread claims every block), and kernelBackend says why.
    worker.once('error', (e) => kernelThreadsFailed(e.message));
    return worker;
  });
}

export { stopKernelThreads };
