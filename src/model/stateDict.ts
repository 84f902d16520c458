/** Small helpers shared by the state-dict loaders: key lookup with helpful errors, shape checks, transposes. */
import type { Tensor } from '../engine/tensor';
import { fmtShape } from '../engine/tensor';
import { ModelFileError } from './errors';

export type TensorMap = ReadonlyMap<string, Tensor>;

/** "found keys: a, b, c, ... and 12 more" — enough to spot a prefix or naming mismatch. */
export function describeKeys(tensors: TensorMap, otherKeys: readonly string[] = [], limit = 20): string {
  const keys = [...tensors.keys(), ...otherKeys];
  if (keys.length === 0) return 'the state dict is empty';
  const shown = keys.slice(0, limit).join(', ');
  return `found keys: ${shown}${keys.length > limit ? `, ... and ${keys.length - limit} more` : ''}`;
}

/** Checks a tensor's shape; the error names the tensor and both shapes. */
export function expectTensorShape(name: string, t: Tensor, expected: readonly number[], hint = ''): void {
  const ok = t.shape.length === expected.length && expected.every((dim, i) => dim === t.shape[i]);
  if (!ok) {
    throw new ModelFileError(`shape ${fmtShape(t.shape)} does not match the expected ${fmtShape(expected)}${hint}`, { tensorName: name });
  }
}

/**
 * Rows [firstRow, firstRow + rows) of a row-major [*, cols] matrix, transposed into a new [cols, rows]
 * tensor. Turns nn.Linear weights ([d_out, d_in]) into the lecture layout [d_in, d_out].
 */
export function transposeRows(source: Tensor, firstRow: number, rows: number): Tensor {
  const cols = source.shape[1];
  const src = source.data;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const srcRow = (firstRow + r) * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[srcRow + c];
  }
  return { shape: [cols, rows], data: out };
}

/** Elements [start, start + length) of a 1-D tensor as a new tensor (a copy, so it owns its memory). */
export function sliceVector(source: Tensor, start: number, length: number): Tensor {
  return { shape: [length], data: source.data.slice(start, start + length) };
}
