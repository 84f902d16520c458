/** Builders for hand-crafted safetensors bytes, so each test controls exactly what is malformed. */
import assert from 'node:assert/strict';
import { ModelFileError } from '../../../src/model';

/** [u64 LE length][header text][data]; `headerLength` overrides the stored length (to lie about it). */
export function rawSafetensors(header: unknown, data: Uint8Array | number = 0, headerLength?: number | bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(text);
  return rawWithHeaderBytes(headerBytes, data, headerLength);
}

export function rawWithHeaderBytes(headerBytes: Uint8Array, data: Uint8Array | number = 0, headerLength?: number | bigint): Uint8Array {
  const dataBytes = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + headerBytes.length + dataBytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(dataBytes, 8 + headerBytes.length);
  return out;
}

export function f32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

export function u16Bytes(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(words.length * 2);
  const view = new DataView(out.buffer);
  words.forEach((word, i) => view.setUint16(i * 2, word, true));
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Asserts `fn` throws a ModelFileError whose message contains every fragment (and the tensor name, if given). */
export function assertModelError(fn: () => unknown, fragments: readonly (string | RegExp)[], tensorName?: string): ModelFileError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  return checkModelError(caught, fragments, tensorName);
}

export async function assertModelErrorAsync(
  fn: () => Promise<unknown>,
  fragments: readonly (string | RegExp)[],
  tensorName?: string,
): Promise<ModelFileError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  return checkModelError(caught, fragments, tensorName);
}

function checkModelError(caught: unknown, fragments: readonly (string | RegExp)[], tensorName?: string): ModelFileError {
  assert.ok(caught !== undefined, 'expected a ModelFileError, but nothing was thrown');
  assert.ok(caught instanceof ModelFileError, `expected ModelFileError, got ${String(caught)}`);
  for (const fragment of fragments) {
    if (typeof fragment === 'string') assert.ok(caught.message.includes(fragment), `"${caught.message}" should contain "${fragment}"`);
    else assert.match(caught.message, fragment);
  }
  if (tensorName !== undefined) {
    assert.equal(caught.tensorName, tensorName);
    assert.ok(caught.message.includes(`"${tensorName}"`), `"${caught.message}" should name tensor "${tensorName}"`);
  }
  return caught;
}
