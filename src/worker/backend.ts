import { kernelInfo } from '../engine/kernels';

/** Which matrix kernel the engine uses (e.g. "wasm-simd"), for the status line and the benchmark. */
export function kernelBackend(): string {
  return kernelInfo().backend;
}
