import { kernelInfo } from '../engine/kernels';

/**
 * Which matrix kernel the engine uses and on how many threads, for the status line and the benchmark:
 * "wasm-simd ×2 threads", "wasm-simd (1 thread: shared memory unavailable)", or the backend alone when
 * no kernel threads were asked for (the CLI, tests) or it is JS.
 */
export function kernelBackend(): string {
  const info = kernelInfo();
  if (info.threads > 1) return `${info.backend} ×${info.threads} threads`;
  if (info.threadsUnavailable) return `${info.backend} (1 thread: ${info.threadsUnavailable})`;
  return info.backend;
}
