import assert from 'node:assert/strict';
import { bfloat16BitsToNumber, float16BitsToNumber, parseSafetensors } from '../../../src/model';
import { decodeToFloat32, widen16InPlace } from '../../../src/model/dtypes';
import { rawSafetensors, u16Bytes } from './helpers';

/** float32 bit pattern of a value, to compare NaN payloads and signed zeros exactly. */
function f32Bits(value: number): number {
  const f = new Float32Array([value]);
  return new Uint32Array(f.buffer)[0];
}

function dataBits(data: Float32Array): number[] {
  return [...new Uint32Array(data.buffer, data.byteOffset, data.length)];
}

/** Independent float16 decoder, straight from the IEEE 754 definition. */
function referenceF16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

describe('dtype conversion', () => {
  it('decodes known float16 bit patterns', () => {
    assert.equal(float16BitsToNumber(0x3c00), 1);
    assert.equal(float16BitsToNumber(0xc000), -2);
    assert.equal(float16BitsToNumber(0x0001), 2 ** -24); // smallest subnormal
    assert.equal(float16BitsToNumber(0x03ff), 1023 * 2 ** -24); // largest subnormal
    assert.equal(float16BitsToNumber(0x0400), 2 ** -14); // smallest normal
    assert.equal(float16BitsToNumber(0x7bff), 65504); // largest finite
    assert.equal(float16BitsToNumber(0x7c00), Infinity);
    assert.equal(float16BitsToNumber(0xfc00), -Infinity);
    assert.ok(Number.isNaN(float16BitsToNumber(0x7e00)));
    assert.ok(Object.is(float16BitsToNumber(0x8000), -0));
    assert.ok(Object.is(float16BitsToNumber(0x0000), 0));
  });

  it('decodes every one of the 65536 float16 patterns exactly', () => {
    const words = Array.from({ length: 65536 }, (_, i) => i);
    const decoded = parseSafetensors(rawSafetensors({ all: { dtype: 'F16', shape: [65536], data_offsets: [0, 131072] } }, u16Bytes(words))).get('all');
    assert.ok(decoded);
    for (let bits = 0; bits < 65536; bits++) {
      const expected = referenceF16(bits);
      const got = decoded.data[bits];
      if (Number.isNaN(expected)) assert.ok(Number.isNaN(got), `0x${bits.toString(16)}`);
      else assert.ok(Object.is(got, expected), `0x${bits.toString(16)}: got ${got}, expected ${expected}`);
    }
  });

  it('keeps float16 NaN sign and payload (as numpy/PyTorch do)', () => {
    const data = parseSafetensors(rawSafetensors({ n: { dtype: 'F16', shape: [3], data_offsets: [0, 6] } }, u16Bytes([0x7e00, 0x7e01, 0xfc01]))).get('n')?.data;
    assert.ok(data);
    assert.deepEqual(dataBits(data), [0x7fc00000, 0x7fc02000, 0xff802000]);
  });

  it('decodes bfloat16 as the upper half of a float32', () => {
    assert.equal(bfloat16BitsToNumber(0x3f80), 1);
    assert.equal(bfloat16BitsToNumber(0xc000), -2);
    assert.equal(bfloat16BitsToNumber(0x7f80), Infinity);
    assert.equal(bfloat16BitsToNumber(0xff80), -Infinity);
    assert.ok(Number.isNaN(bfloat16BitsToNumber(0x7fc0)));
    const words = [0x3f80, 0xc000, 0x0001, 0x8000, 0x7fc1, 0x4049];
    const data = parseSafetensors(rawSafetensors({ b: { dtype: 'BF16', shape: [2, 3], data_offsets: [0, 12] } }, u16Bytes(words))).get('b')?.data;
    assert.ok(data);
    assert.deepEqual(dataBits(data), words.map((w) => (w << 16) >>> 0));
  });

  it('rounds F64 to the nearest float32', () => {
    const values = [0.1, 1 / 3, -1e300, 1e-50, 123456789.123, -0];
    const bytes = new Uint8Array(new Float64Array(values).buffer);
    const data = parseSafetensors(rawSafetensors({ d: { dtype: 'F64', shape: [6], data_offsets: [0, 48] } }, bytes)).get('d')?.data;
    assert.ok(data);
    assert.deepEqual(dataBits(data), values.map((v) => f32Bits(Math.fround(v))));
  });

  it('decodes F16, BF16 and F64 at unaligned offsets', () => {
    // Header length 1 mod 8, so every tensor starts at an odd address.
    const header = {
      h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] },
      d: { dtype: 'F64', shape: [1], data_offsets: [6, 14] },
      f: { dtype: 'F32', shape: [1], data_offsets: [14, 18] },
    };
    const json = JSON.stringify(header);
    const padded = json.padEnd(json.length + ((9 - (json.length % 8)) % 8), ' ');
    const data = new Uint8Array(18);
    const view = new DataView(data.buffer);
    view.setUint16(0, 0x3c00, true);
    view.setUint16(2, 0xc000, true);
    view.setUint16(4, 0x3f80, true);
    view.setFloat64(6, 2.5, true);
    view.setFloat32(14, -7.25, true);
    const tensors = parseSafetensors(rawSafetensors(padded, data));
    assert.deepEqual([...(tensors.get('h')?.data ?? [])], [1, -2]);
    assert.deepEqual([...(tensors.get('b')?.data ?? [])], [1]);
    assert.deepEqual([...(tensors.get('d')?.data ?? [])], [2.5]);
    assert.deepEqual([...(tensors.get('f')?.data ?? [])], [-7.25]);
  });

  it('widens F16 and BF16 in place from the upper half of the buffer, bit for bit as decodeToFloat32', () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      for (const count of [1, 2, 3, 65536]) {
        const words = Uint16Array.from({ length: count }, (_, i) => (count === 65536 ? i : (i * 40503 + 12345) & 0xffff));
        const raw = new Uint8Array(words.buffer);
        const buffer = new ArrayBuffer(count * 4);
        new Uint8Array(buffer, count * 2).set(raw);
        const widened = widen16InPlace(dtype, buffer, count);
        assert.equal(widened.buffer, buffer);
        assert.deepEqual(dataBits(widened), dataBits(decodeToFloat32(dtype, raw, count, true)), `${dtype} × ${count}`);
      }
    }
    assert.throws(() => widen16InPlace('BF16', new ArrayBuffer(6), 2), /2 values need a buffer of 8 bytes, got 6/);
  });
});
