/**
 * Conversion of the floating-point storage types found in safetensors files to float32.
 * All conversions work on raw little-endian bytes and are bit-exact: F16 and BF16 values are all exactly
 * representable in float32 (NaN payloads included), and F64 rounds to nearest-even as a Float32Array store does.
 */

export const SUPPORTED_DTYPES = ['F32', 'F16', 'BF16', 'F64'] as const;
export type SupportedDtype = (typeof SUPPORTED_DTYPES)[number];

/** Bytes per element of each supported dtype. */
export const DTYPE_BYTES: Readonly<Record<SupportedDtype, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** Dtypes defined by the safetensors format that we recognise but cannot turn into float weights. */
export const KNOWN_UNSUPPORTED_DTYPES: readonly string[] = [
  'BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'I32', 'U64', 'I64',
  'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64',
];

/**
 * Bytes per element of the dtypes we cannot decode, so a tensor we skip is still checked against its
 * byte range. The sub-byte F6 and F4 types are packed and have no whole size here.
 */
export const UNSUPPORTED_DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, I32: 4, U64: 8, I64: 8, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1, C64: 8,
};

export function isSupportedDtype(dtype: string): dtype is SupportedDtype {
  return (SUPPORTED_DTYPES as readonly string[]).includes(dtype);
}

/** safetensors is little-endian; on the (rare) big-endian host every read goes through a DataView. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A fresh, zero-offset copy. Never use `.slice()` here: on a Node Buffer it returns a view, not a copy. */
function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** The bytes as little-endian u16 words; a view when aligned, otherwise a copy (typed views need alignment). */
function u16Words(bytes: Uint8Array): Uint16Array {
  const count = bytes.length >>> 1;
  if (!HOST_IS_LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, true);
    return out;
  }
  const source = bytes.byteOffset % 2 === 0 ? bytes : copyBytes(bytes);
  return new Uint16Array(source.buffer, source.byteOffset, count);
}

let f16ToF32BitsTable: Uint32Array | undefined;

/** float32 bit pattern of every float16 bit pattern (256 KB, built on first use). */
function f16Table(): Uint32Array {
  if (f16ToF32BitsTable !== undefined) return f16ToF32BitsTable;
  const table = new Uint32Array(65536);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32Bits(h, scratch, scratchBits);
  f16ToF32BitsTable = table;
  return table;
}

function f16BitsToF32Bits(h: number, scratch: Float32Array, scratchBits: Uint32Array): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0x1f) {
    // Inf (mantissa 0) or NaN; keep the payload in the top mantissa bits as numpy/PyTorch do.
    return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  }
  if (exponent === 0) {
    // Zero or subnormal: mantissa · 2^-24 is exact in float32 (it becomes a normal number there).
    scratch[0] = mantissa * 2 ** -24;
    return (sign | scratchBits[0]) >>> 0;
  }
  return (sign | ((exponent - 15 + 127) << 23) | (mantissa << 13)) >>> 0;
}

/** Decodes one float16 bit pattern (for tests and single values). */
export function float16BitsToNumber(bits: number): number {
  const out = new Float32Array(1);
  new Uint32Array(out.buffer)[0] = f16Table()[bits & 0xffff];
  return out[0];
}

/** Decodes one bfloat16 bit pattern: it is the upper half of a float32. */
export function bfloat16BitsToNumber(bits: number): number {
  const out = new Float32Array(1);
  new Uint32Array(out.buffer)[0] = (bits & 0xffff) << 16;
  return out[0];
}

/**
 * Widens `count` 16-bit floats (F16 or BF16, little-endian) that sit in the upper half of `buffer`
 * (bytes [2·count, 4·count)) to float32 over the whole buffer, in place: a file's tensor is read straight
 * into the memory its float32 values will occupy, with no second buffer. Going forward is safe: value i
 * is read from 16-bit word count + i before word 2i + 1 is written, and count + i ≥ 2i. Little-endian hosts only.
 */
export function widen16InPlace(dtype: 'F16' | 'BF16', buffer: ArrayBuffer, count: number): Float32Array {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('widen16InPlace: needs a little-endian host');
  if (buffer.byteLength !== count * 4) throw new RangeError(`widen16InPlace: ${count} values need a buffer of ${count * 4} bytes, got ${buffer.byteLength}`);
  const words = new Uint16Array(buffer);
  const outBits = new Uint32Array(buffer);
  if (dtype === 'BF16') {
    for (let i = 0; i < count; i++) outBits[i] = words[count + i] << 16;
  } else {
    const table = f16Table();
    for (let i = 0; i < count; i++) outBits[i] = table[words[count + i]];
  }
  return new Float32Array(buffer);
}

/**
 * Converts the raw little-endian bytes of `count` elements of `dtype` to float32.
 * For F32 on a little-endian host with a 4-byte-aligned input and `copy` false, the result is a view
 * sharing memory with `bytes` (no copy); in every other case it is freshly allocated.
 */
export function decodeToFloat32(dtype: SupportedDtype, bytes: Uint8Array, count: number, copy: boolean): Float32Array {
  if (bytes.length !== count * DTYPE_BYTES[dtype]) {
    throw new RangeError(`decodeToFloat32: ${count} ${dtype} values need ${count * DTYPE_BYTES[dtype]} bytes, got ${bytes.length}`);
  }
  if (count === 0) return new Float32Array(0);
  switch (dtype) {
    case 'F32': {
      if (!HOST_IS_LITTLE_ENDIAN) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const out = new Float32Array(count);
        for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
        return out;
      }
      const source = !copy && bytes.byteOffset % 4 === 0 ? bytes : copyBytes(bytes);
      return new Float32Array(source.buffer, source.byteOffset, count);
    }
    case 'F16': {
      const words = u16Words(bytes);
      const table = f16Table();
      const outBits = new Uint32Array(count);
      // Integer copies keep NaN payloads intact (a float round trip through JS numbers might not).
      for (let i = 0; i < count; i++) outBits[i] = table[words[i]];
      return new Float32Array(outBits.buffer);
    }
    case 'BF16': {
      const words = u16Words(bytes);
      const outBits = new Uint32Array(count);
      for (let i = 0; i < count; i++) outBits[i] = words[i] << 16;
      return new Float32Array(outBits.buffer);
    }
    case 'F64': {
      let doubles: Float64Array;
      if (!HOST_IS_LITTLE_ENDIAN) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        doubles = new Float64Array(count);
        for (let i = 0; i < count; i++) doubles[i] = view.getFloat64(i * 8, true);
      } else {
        const source = bytes.byteOffset % 8 === 0 ? bytes : copyBytes(bytes);
        doubles = new Float64Array(source.buffer, source.byteOffset, count);
      }
      const out = new Float32Array(count);
      out.set(doubles); // element-wise conversion, rounding to nearest float32
      return out;
    }
  }
}
