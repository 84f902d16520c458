import assert from 'node:assert/strict';
import { tensor } from '../../../src/engine/tensor';
import { MAX_HEADER_BYTES, ModelFileError, parseSafetensors, readSafetensors, serializeSafetensors } from '../../../src/model';
import { assertModelError, concatBytes, f32Bytes, rawSafetensors, rawWithHeaderBytes } from './helpers';

/** A header entry (F32 unless told). */
function entry(shape: number[], begin: number, end: number, dtype = 'F32'): unknown {
  return { dtype, shape, data_offsets: [begin, end] };
}

describe('safetensors: round trip', () => {
  it('serialize → parse gives back names, shapes, values and metadata', () => {
    const input = {
      matrix: tensor([2, 3], [1, -2, 3.5, 0, -0, 1e-30]),
      vector: tensor([4], [Infinity, -Infinity, NaN, 42]),
      scalar: tensor([], [7]),
      empty: tensor([0, 5]),
    };
    const bytes = serializeSafetensors(input, { format: 'pt', note: 'hello' });
    const { tensors, metadata } = readSafetensors(bytes);
    assert.deepEqual([...tensors.keys()], ['matrix', 'vector', 'scalar', 'empty']);
    for (const [name, t] of Object.entries(input)) {
      const got = tensors.get(name);
      assert.ok(got);
      assert.deepEqual(got.shape, t.shape);
      assert.deepEqual([...got.data], [...t.data]);
      assert.ok(Object.is(got.data[4] ?? 0, t.data[4] ?? 0)); // −0 survives
    }
    assert.deepEqual({ ...metadata }, { format: 'pt', note: 'hello' });
  });

  it('accepts a Map and pads the header to a multiple of 8 so the data is aligned', () => {
    const bytes = serializeSafetensors(new Map([['a', tensor([3], [1, 2, 3])]]));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerLength % 8, 0);
    assert.equal(readSafetensors(bytes).metadata, undefined);
  });

  it('an empty file (no tensors) round-trips', () => {
    assert.equal(parseSafetensors(serializeSafetensors({})).size, 0);
  });

  it('views aligned F32 data without copying, and copies when asked', () => {
    const bytes = serializeSafetensors({ a: tensor([2, 2], [1, 2, 3, 4]) });
    const view = parseSafetensors(bytes).get('a');
    assert.ok(view);
    assert.equal(view.data.buffer, bytes.buffer);
    const copy = parseSafetensors(bytes, { copy: true }).get('a');
    assert.ok(copy);
    assert.notEqual(copy.data.buffer, bytes.buffer);
    bytes.fill(0);
    assert.deepEqual([...copy.data], [1, 2, 3, 4]);
  });

  it('reads F32 data at unaligned offsets by copying', () => {
    // Pad the header to 1 mod 4 bytes so the data section starts at an odd offset.
    const json = JSON.stringify({ a: entry([2], 0, 8) });
    const header = json.padEnd(json.length + ((5 - (json.length % 4)) % 4), ' ');
    const file = rawSafetensors(header, f32Bytes([1.5, -2.25]));
    assert.equal((8 + new TextEncoder().encode(header).length) % 4, 1);
    assert.deepEqual([...(parseSafetensors(file).get('a')?.data ?? [])], [1.5, -2.25]);

    // The same file inside a larger buffer at an odd byte offset, including as a Node Buffer (whose
    // .slice() is a view, a classic trap for "copy").
    const big = new Uint8Array(file.length + 2);
    big.set(file, 2);
    const shifted = big.subarray(2);
    assert.deepEqual([...(parseSafetensors(shifted).get('a')?.data ?? [])], [1.5, -2.25]);
    const nodeBuffer = Buffer.from(big.buffer, 2, file.length); // data now at an address ≡ 3 (mod 4)
    const fromBuffer = parseSafetensors(nodeBuffer).get('a');
    nodeBuffer.fill(0);
    assert.deepEqual([...(fromBuffer?.data ?? [])], [1.5, -2.25]);
  });

  it('parses a 64 MB F32 file without copying its data', () => {
    const big = tensor([4096, 4096]);
    big.data.fill(0.5);
    big.data[big.data.length - 1] = 3;
    const bytes = serializeSafetensors({ big });
    const started = performance.now();
    const parsed = parseSafetensors(bytes).get('big');
    const elapsed = performance.now() - started;
    assert.ok(parsed);
    assert.equal(parsed.data.buffer, bytes.buffer);
    assert.equal(parsed.data[parsed.data.length - 1], 3);
    assert.ok(elapsed < 200, `parsing took ${elapsed} ms`);
  });

  it('keeps a "__proto__" tensor name and metadata key as ordinary entries', () => {
    const bytes = serializeSafetensors({ ['__proto__']: tensor([1], [9]) } as never, { ['__proto__']: 'x' } as never);
    const { tensors } = readSafetensors(bytes);
    assert.deepEqual([...(tensors.get('__proto__')?.data ?? [])], [9]);
  });
});

describe('safetensors: serialize errors', () => {
  it('refuses data whose length does not match the shape', () => {
    assertModelError(() => serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }), ['[2, 2]', '4 values', '3'], 'w');
  });
  it('refuses the reserved name __metadata__', () => {
    assertModelError(() => serializeSafetensors({ __metadata__: tensor([1]) }), ['reserved']);
  });
});

describe('safetensors: malformed files', () => {
  it('file shorter than 8 bytes', () => {
    for (const length of [0, 1, 7]) assertModelError(() => parseSafetensors(new Uint8Array(length)), [`${length} bytes`, 'too short']);
  });

  it('header length beyond the end of the file', () => {
    const file = rawSafetensors({}, 0, 1000);
    assertModelError(() => parseSafetensors(file), ['header length 1000', 'past the end of the file', `${file.length} bytes`]);
  });

  it('absurdly large header length (including the high 32 bits)', () => {
    assertModelError(() => parseSafetensors(rawSafetensors({}, 0, MAX_HEADER_BYTES + 1)), ['exceeds the 100 MB limit']);
    assertModelError(() => parseSafetensors(rawSafetensors({}, 0, 2n ** 63n)), ['9223372036854775808', 'limit']);
    assertModelError(() => parseSafetensors(rawSafetensors({}, 0, 2n ** 32n)), ['4294967296', 'limit']);
  });

  it('header that is not UTF-8', () => {
    assertModelError(() => parseSafetensors(rawWithHeaderBytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))), ['not valid UTF-8']);
  });

  it('header that is not JSON', () => {
    assertModelError(() => parseSafetensors(rawSafetensors('{"a": ')), ['not valid JSON']);
    assertModelError(() => parseSafetensors(rawSafetensors('')), ['not valid JSON']);
  });

  it('header that is not an object', () => {
    assertModelError(() => parseSafetensors(rawSafetensors('[1, 2]')), ['must be a JSON object', 'array']);
    assertModelError(() => parseSafetensors(rawSafetensors('null')), ['must be a JSON object', 'null']);
    assertModelError(() => parseSafetensors(rawSafetensors('42')), ['must be a JSON object', 'number 42']);
  });

  it('entry that is not an object', () => {
    assertModelError(() => parseSafetensors(rawSafetensors({ w: 5 })), ['must be an object'], 'w');
    assertModelError(() => parseSafetensors(rawSafetensors({ w: [1] })), ['must be an object'], 'w');
  });

  for (const missing of ['dtype', 'shape', 'data_offsets']) {
    it(`entry missing "${missing}"`, () => {
      const fields: Record<string, unknown> = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };
      delete fields[missing];
      assertModelError(() => parseSafetensors(rawSafetensors({ 'h.0.w': fields }, 4)), [`missing "${missing}"`], 'h.0.w');
    });
  }

  it('entry fields of the wrong type', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ dtype: 32, shape: [1], data_offsets: [0, 4] }, '"dtype" must be a string'],
      [{ dtype: 'F32', shape: '1', data_offsets: [0, 4] }, '"shape" must be an array'],
      [{ dtype: 'F32', shape: [1], data_offsets: 4 }, '"data_offsets" must be a [begin, end] pair'],
      [{ dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] }, '"data_offsets" must be a [begin, end] pair'],
      [{ dtype: 'F32', shape: [1], data_offsets: ['0', 4] }, 'must be non-negative integers'],
      [{ dtype: 'F32', shape: [1], data_offsets: [-4, 4] }, 'must be non-negative integers'],
      [{ dtype: 'F32', shape: [1], data_offsets: [0.5, 4] }, 'must be non-negative integers'],
    ];
    for (const [fields, message] of cases) assertModelError(() => parseSafetensors(rawSafetensors({ w: fields }, 4)), [message], 'w');
  });

  it('unsupported dtype names the dtype and the supported ones', () => {
    assertModelError(() => parseSafetensors(rawSafetensors({ ids: entry([1], 0, 8, 'I64') }, 8)), ['unsupported dtype "I64"', 'F32, F16, BF16, F64'], 'ids');
    assertModelError(() => parseSafetensors(rawSafetensors({ q: entry([1], 0, 1, 'Q7') }, 1)), ['unknown dtype "Q7"', 'F32, F16, BF16, F64'], 'q');
  });

  it('negative, fractional or non-numeric dimensions', () => {
    for (const bad of [-1, 1.5, '2', null]) {
      assertModelError(() => parseSafetensors(rawSafetensors({ w: entry([2, bad as number], 0, 8) }, 8)), ['not a non-negative integer'], 'w');
    }
  });

  it('shape × dtype size different from the byte range', () => {
    assertModelError(() => parseSafetensors(rawSafetensors({ w: entry([2, 2], 0, 12) }, 12)), ['[2, 2]', 'needs 16 bytes', 'hold 12'], 'w');
    assertModelError(() => parseSafetensors(rawSafetensors({ h: entry([3], 0, 12, 'F16') }, 12)), ['needs 6 bytes', 'hold 12'], 'h');
  });

  it('absurd shapes fail cleanly instead of overflowing', () => {
    const huge = 2 ** 40;
    assertModelError(() => parseSafetensors(rawSafetensors({ w: entry([huge, huge, huge], 0, 8) }, 8)), ['needs more than 8 bytes'], 'w');
    // A zero dimension makes the tensor empty whatever the others are.
    const empty = parseSafetensors(rawSafetensors({ w: entry([huge, 0], 0, 0) })).get('w');
    assert.equal(empty?.data.length, 0);
  });

  it('byte range outside the data section', () => {
    assertModelError(() => parseSafetensors(rawSafetensors({ w: entry([2], 0, 8) }, 4)), ['[0, 8]', 'past the end of the data section (4 bytes'], 'w');
  });

  it('byte range that ends before it begins', () => {
    assertModelError(() => parseSafetensors(rawSafetensors({ w: entry([0], 8, 4) }, 8)), ['end before they begin'], 'w');
  });

  it('overlapping byte ranges name both tensors', () => {
    const header = { a: entry([2], 0, 8), b: entry([2], 4, 12) };
    const error = assertModelError(() => parseSafetensors(rawSafetensors(header, 12)), ['overlap', '"a"'], 'b');
    assert.match(error.message, /\[4, 12\].*\[0, 8\]/);
  });

  it('gaps between tensors and unused trailing bytes', () => {
    assertModelError(() => parseSafetensors(rawSafetensors({ a: entry([1], 0, 4), b: entry([1], 8, 12) }, 12)), ['gap', '[4, 8)'], 'b');
    assertModelError(() => parseSafetensors(rawSafetensors({ a: entry([1], 4, 8) }, 8)), ['gap', '[0, 4)'], 'a');
    assertModelError(() => parseSafetensors(rawSafetensors({ a: entry([1], 0, 4) }, 10)), ['6 bytes after the last tensor']);
  });

  it('bad __metadata__', () => {
    assertModelError(() => parseSafetensors(rawSafetensors({ __metadata__: [1] })), ['"__metadata__" must be an object']);
    assertModelError(() => parseSafetensors(rawSafetensors({ __metadata__: { format: 1 } })), ['"format" must be a string']);
  });

  it('tensors given in any header order, and empty tensors anywhere, are fine', () => {
    const header = { second: entry([1], 4, 8), empty: entry([0], 4, 4), first: entry([1], 0, 4) };
    const tensors = parseSafetensors(rawSafetensors(header, f32Bytes([1, 2])));
    assert.deepEqual([...tensors.keys()], ['second', 'empty', 'first']);
    assert.equal(tensors.get('first')?.data[0], 1);
    assert.equal(tensors.get('second')?.data[0], 2);
  });

  it('accepts trailing spaces after the JSON header (the reference writer pads with them)', () => {
    const tensors = parseSafetensors(rawSafetensors(`${JSON.stringify({ a: entry([1], 0, 4) })}       `, f32Bytes([5])));
    assert.equal(tensors.get('a')?.data[0], 5);
  });

  it('errors are ModelFileError instances with name and detail', () => {
    const error = assertModelError(() => parseSafetensors(concatBytes(new Uint8Array(3))), ['too short']);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'ModelFileError');
    assert.equal(error.tensorName, undefined);
    assert.ok(error instanceof ModelFileError);
  });
});
