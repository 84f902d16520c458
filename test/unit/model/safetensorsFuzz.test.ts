/** Whatever bytes arrive, parsing either succeeds with consistent tensors or throws ModelFileError. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tensor } from '../../../src/engine/tensor';
import { ModelFileError, parseSafetensors, serializeSafetensors } from '../../../src/model';
import { concatBytes, rawSafetensors, u16Bytes } from './helpers';

/** Valid files: an aligned all-F32 one and one mixing F16, BF16 and an unaligned F32 tensor. */
const FILES = [
  serializeSafetensors({ w: tensor([2, 3], [1, 2, 3, 4, 5, 6]), b: tensor([3], [-1, 0.5, 9]) }, { format: 'pt' }),
  rawSafetensors(
    {
      __metadata__: { format: 'pt' },
      h: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
      g: { dtype: 'BF16', shape: [3], data_offsets: [8, 14] },
      f: { dtype: 'F32', shape: [1], data_offsets: [14, 18] },
    },
    concatBytes(u16Bytes([0x3c00, 0xc000, 0x0001, 0x7c00, 0x3f80, 0x4000, 0xbf80]), new Uint8Array([0, 0, 0x80, 0x3f])),
  ),
];

/** Parses and, on success, checks every tensor is internally consistent. */
function parseOrModelError(bytes: Uint8Array): void {
  let tensors;
  try {
    tensors = parseSafetensors(bytes);
  } catch (error) {
    if (!(error instanceof ModelFileError)) throw error;
    assert.ok(error.message.length > 0);
    return;
  }
  for (const t of tensors.values()) {
    assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
  }
}

describe('safetensors fuzzing', () => {
  it('random byte mutations never throw anything but ModelFileError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FILES),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (file, mutations) => {
          const bytes = file.slice();
          for (const [position, value] of mutations) bytes[position % bytes.length] = value;
          parseOrModelError(bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('mutations aimed at the length and header bytes never throw anything but ModelFileError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FILES),
        fc.array(fc.tuple(fc.nat({ max: 200 }), fc.constantFrom(0x00, 0x22, 0x2c, 0x2d, 0x30, 0x39, 0x5b, 0x5d, 0x7b, 0x7d, 0xff, 0x31)), {
          minLength: 1,
          maxLength: 4,
        }),
        (file, mutations) => {
          const bytes = file.slice();
          for (const [position, value] of mutations) bytes[position % bytes.length] = value;
          parseOrModelError(bytes);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('truncations and extensions never throw anything but ModelFileError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FILES), fc.nat(), fc.uint8Array({ maxLength: 16 }), (file, cut, extra) => {
        parseOrModelError(file.slice(0, cut % (file.length + 1)));
        parseOrModelError(concatBytes(file, extra));
      }),
      { numRuns: 1000 },
    );
  });

  it('arbitrary JSON headers never throw anything but ModelFileError', () => {
    const entryValue = fc.record(
      {
        dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I64', 'BOOL'), fc.jsonValue()),
        shape: fc.oneof(fc.array(fc.oneof(fc.integer({ min: -2, max: 6 }), fc.double())), fc.jsonValue()),
        data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -2, max: 40 }), fc.integer({ min: -2, max: 40 })), fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.oneof(fc.string(), fc.constant('__metadata__')), fc.oneof(entryValue, fc.jsonValue()), { maxKeys: 4 }),
        fc.nat({ max: 40 }),
        (header, dataLength) => parseOrModelError(rawSafetensors(header, dataLength)),
      ),
      { numRuns: 2000 },
    );
  });

  it('random bytes never throw anything but ModelFileError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => parseOrModelError(bytes)), { numRuns: 1000 });
  });
});
