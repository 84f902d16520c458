/** A dense row-major float32 tensor. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Thrown when an operation receives tensors whose shapes do not fit; names the op and both shapes. */
export class ShapeError extends Error {
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0) throw new ShapeError('tensor', `invalid dimension ${dim} in ${fmtShape(shape)}`);
    size *= dim;
  }
  return size;
}

/** Creates a tensor; without data it is zero-filled. */
export function tensor(shape: readonly number[], data?: Float32Array | ArrayLike<number>): Tensor {
  const size = sizeOf(shape);
  const buf = data === undefined ? new Float32Array(size) : data instanceof Float32Array ? data : Float32Array.from(data);
  if (buf.length !== size) {
    throw new ShapeError('tensor', `shape ${fmtShape(shape)} needs ${size} values but got ${buf.length}`);
  }
  return { shape: [...shape], data: buf };
}

/** Asserts `t` has exactly `expected` dims; -1 in `expected` matches any size. */
export function expectShape(op: string, what: string, t: Tensor, expected: readonly number[]): void {
  const ok = t.shape.length === expected.length && expected.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) {
    const want = expected.map((d) => (d === -1 ? '*' : String(d))).join(', ');
    throw new ShapeError(op, `${what} has shape ${fmtShape(t.shape)}, expected [${want}]`);
  }
}

/** Same data, new shape (a view: no copy). */
export function reshape(op: string, t: Tensor, shape: readonly number[]): Tensor {
  if (sizeOf(shape) !== t.data.length) {
    throw new ShapeError(op, `cannot reshape ${fmtShape(t.shape)} to ${fmtShape(shape)}`);
  }
  return { shape: [...shape], data: t.data };
}

/** Row `i` of a 2-D tensor, as a view. */
export function row(t: Tensor, i: number): Float32Array {
  const cols = t.shape[t.shape.length - 1];
  return t.data.subarray(i * cols, (i + 1) * cols);
}

/** Nested number arrays (for JSON); -Infinity becomes null when `nullForNegInf`. */
export function toNested(t: Tensor, nullForNegInf = false): unknown {
  const conv = (v: number): number | null => (nullForNegInf && v === -Infinity ? null : v);
  const build = (dim: number, offset: number): unknown => {
    const n = t.shape[dim];
    if (dim === t.shape.length - 1) {
      const out: (number | null)[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = conv(t.data[offset + i]);
      return out;
    }
    const stride = sizeOf(t.shape.slice(dim + 1));
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = build(dim + 1, offset + i * stride);
    return out;
  };
  if (t.shape.length === 0) return conv(t.data[0]);
  return build(0, 0);
}
