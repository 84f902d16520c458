import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../src/errors';
import {
  parseIndexSpec,
  selectedHeadBytes,
  writeNpy,
  writeSafetensors,
  type LayerSource,
  type Selection,
} from '../../../src/export/binary';
import { parseSafetensors, readSafetensors } from '../../../src/model/safetensors';
import { readNpy } from './npyReader';

const N = 5;
const LAYERS = 4;
const HEADS = 3;

// A causal fake model: every (layer, head, row, col) gets its own score, so a block written to the wrong
// slot cannot match by accident. Weights are the row softmax, masked cells 0 and their scores -Infinity.
function score(l: number, h: number, i: number, j: number): number {
  if (j > i) return -Infinity;
  return Math.fround((((l * 7 + h * 3 + i * 2 - j) % 11) - 5) * 0.37 + l * 0.011 + h * 0.0013 + j * 0.00017);
}

function weight(l: number, h: number, i: number, j: number): number {
  if (j > i) return 0;
  let max = -Infinity;
  for (let c = 0; c <= i; c++) max = Math.max(max, score(l, h, i, c));
  let sum = 0;
  for (let c = 0; c <= i; c++) sum += Math.exp(score(l, h, i, c) - max);
  return Math.fround(Math.exp(score(l, h, i, j) - max) / sum);
}

/** The fake source; `calls` records every layer() request and `onLayer` runs inside each. */
function fakeSource(onLayer?: (index: number) => void): LayerSource & { calls: number[] } {
  const calls: number[] = [];
  return {
    n: N,
    layers: LAYERS,
    heads: HEADS,
    calls,
    layer(index) {
      calls.push(index);
      onLayer?.(index);
      const weights = new Float32Array(HEADS * N * N); // [heads, n, n]
      const scores = new Float32Array(HEADS * N * N);
      let at = 0;
      for (let h = 0; h < HEADS; h++) {
        for (let i = 0; i < N; i++) {
          for (let j = 0; j < N; j++, at++) {
            weights[at] = weight(index, h, i, j);
            scores[at] = score(index, h, i, j);
          }
        }
      }
      return { weights, scores };
    },
  };
}

/** What the [layers', heads', n, n] tensor must hold, built straight from the formulas. */
function expected(kind: 'weights' | 'scores', selection: Selection): number[] {
  const f = kind === 'weights' ? weight : score;
  const out: number[] = [];
  for (const l of selection.layers) for (const h of selection.heads) for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) out.push(f(l, h, i, j));
  return out;
}

function assertSameValues(actual: ArrayLike<number>, wanted: readonly number[], what: string): void {
  assert.equal(actual.length, wanted.length, `${what}: length`);
  for (let i = 0; i < wanted.length; i++) {
    if (!Object.is(actual[i], wanted[i])) assert.fail(`${what}[${i}]: expected ${wanted[i]}, got ${actual[i]}`);
  }
  assert.ok(wanted.includes(-Infinity) || what.startsWith('weights'), `${what}: the fixture should include masked cells`);
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ai-binary-'));
}

const FULL: Selection = { layers: [0, 1, 2, 3], heads: [0, 1, 2] };
const PARTIAL: Selection = { layers: [1, 3], heads: [0, 2] };
const SIDECAR = { model: 'fake', tokens: ['a', 'b', 'c', 'd', 'e'], causal: true };

function shapeOf(selection: Selection): number[] {
  return [selection.layers.length, selection.heads.length, N, N];
}

/** The sidecar file holds the caller's fields plus what was written; returns it parsed. */
function assertSidecar(path: string, selection: Selection, files: Record<string, string>): unknown {
  const json: unknown = JSON.parse(readFileSync(path, 'utf8'));
  assert.deepEqual(json, { ...SIDECAR, shape: shapeOf(selection), layers: selection.layers, heads: selection.heads, files });
  return json;
}

describe('binary export: npy', () => {
  for (const [label, selection] of [['every layer and head', FULL], ['some layers and heads', PARTIAL]] as const) {
    it(`${label}: both arrays read back value for value, with a 64-aligned v1.0 header`, async () => {
      const dir = join(tempDir(), 'nested', 'out'); // missing folders are created
      const source = fakeSource();
      const result = await writeNpy(dir, source, selection, SIDECAR);

      assert.deepEqual(source.calls, selection.layers);
      assert.deepEqual(result.files, [join(dir, 'attentions.npy'), join(dir, 'scores.npy'), join(dir, 'inspection.json')]);
      assert.equal(result.bytes, result.files.reduce((sum, f) => sum + statSync(f).size, 0));
      for (const [file, kind] of [['attentions.npy', 'weights'], ['scores.npy', 'scores']] as const) {
        const array = readNpy(readFileSync(join(dir, file)));
        assert.equal(array.version, 1);
        assert.equal(array.dataOffset % 64, 0, 'the header total is a multiple of 64');
        assert.equal(array.fortranOrder, false);
        assert.deepEqual(array.shape, shapeOf(selection));
        assertSameValues(array.data, expected(kind, selection), `${kind} ${file}`);
      }
      assertSidecar(join(dir, 'inspection.json'), selection, { attentions: 'attentions.npy', scores: 'scores.npy' });
    });
  }

  it('streams: each layer is on disk before the next one is asked for', async () => {
    const dir = tempDir();
    const blockBytes = PARTIAL.heads.length * N * N * 4;
    const seen: number[] = [];
    const source = fakeSource((index) => {
      const k = PARTIAL.layers.indexOf(index);
      if (k === 0) return;
      const file = readFileSync(join(dir, 'attentions.npy'));
      const dataOffset = readNpyDataOffset(file);
      const previous = new Float32Array(file.buffer.slice(file.byteOffset + dataOffset + (k - 1) * blockBytes, file.byteOffset + dataOffset + k * blockBytes));
      const one = { layers: [PARTIAL.layers[k - 1]], heads: PARTIAL.heads };
      assertSameValues(previous, expected('weights', one), 'weights of the previous layer');
      seen.push(index);
    });
    await writeNpy(dir, source, PARTIAL, SIDECAR);
    assert.deepEqual(seen, [3]);
  });

  it('a throwing checkpoint cancels: layer() stops, the partial files and the folder it made are removed', async () => {
    const parent = tempDir();
    const dir = join(parent, 'made', 'here');
    const source = fakeSource();
    let checks = 0;
    const cancel = new Error('cancelled by test');
    const checkpoint = () => {
      if (++checks === 2) throw cancel;
    };
    await assert.rejects(writeNpy(dir, source, FULL, SIDECAR, { checkpoint }), (e) => e === cancel);
    assert.deepEqual(source.calls, [0]);
    assert.deepEqual(readdirSync(parent), []);
  });

  it('a failing layer in an existing folder removes the files but keeps the folder', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const source: LayerSource = {
      ...fakeSource(),
      layer: (index) => {
        if (index === 2) throw new Error('layer 2 failed');
        return fakeSource().layer(index);
      },
    };
    await assert.rejects(writeNpy(dir, source, FULL, SIDECAR), /layer 2 failed/);
    assert.deepEqual(readdirSync(dir), ['keep.txt']);
  });

  it('a layer of the wrong size is refused and nothing is left', async () => {
    const dir = tempDir();
    const source: LayerSource = { ...fakeSource(), layer: () => ({ weights: new Float32Array(7), scores: new Float32Array(7) }) };
    await assert.rejects(writeNpy(dir, source, FULL, SIDECAR), /weights has 7 values/);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('an unwritable folder rejects with the system error', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    await assert.rejects(writeNpy(join(file, 'out'), fakeSource(), FULL, SIDECAR), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR' || e.code === 'EEXIST');
  });

  it('an invalid selection is a bug, refused before anything is written', async () => {
    const dir = join(tempDir(), 'never');
    for (const selection of [
      { layers: [2, 1], heads: [0] },
      { layers: [1, 1], heads: [0] },
      { layers: [4], heads: [0] },
      { layers: [0], heads: [-1] },
    ]) {
      await assert.rejects(writeNpy(dir, fakeSource(), selection, SIDECAR), /must be ascending, distinct and below/);
    }
    assert.equal(existsSync(dir), false);
  });
});

describe('binary export: safetensors', () => {
  for (const [label, selection] of [['every layer and head', FULL], ['some layers and heads', PARTIAL]] as const) {
    it(`${label}: the project's parser reads both tensors value for value, header 8-aligned`, async () => {
      const dir = tempDir();
      const path = join(dir, 'run.safetensors');
      const source = fakeSource();
      const result = await writeSafetensors(path, source, selection, SIDECAR);

      assert.deepEqual(source.calls, selection.layers);
      assert.deepEqual(result.files, [path, join(dir, 'run.json')]);
      assert.equal(result.bytes, statSync(path).size + statSync(join(dir, 'run.json')).size);
      const bytes = readFileSync(path);
      const headerLength = Number(bytes.readBigUInt64LE(0));
      assert.equal(headerLength % 8, 0);
      const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
      const tensorBytes = shapeOf(selection).reduce((a, b) => a * b) * 4;
      assert.deepEqual(header.attentions.data_offsets, [0, tensorBytes]);
      assert.deepEqual(header.scores.data_offsets, [tensorBytes, 2 * tensorBytes]);

      const tensors = parseSafetensors(bytes, { copy: true });
      for (const [name, kind] of [['attentions', 'weights'], ['scores', 'scores']] as const) {
        const t = tensors.get(name);
        assert.ok(t, name);
        assert.deepEqual(t.shape, shapeOf(selection));
        assertSameValues(t.data, expected(kind, selection), `${kind} ${name}`);
      }
      const sidecar = assertSidecar(join(dir, 'run.json'), selection, { attentions: 'run.safetensors', scores: 'run.safetensors' });
      const { metadata } = readSafetensors(bytes);
      assert.ok(metadata?.inspection && !metadata.inspection.includes('\n'), 'compact JSON');
      assert.deepEqual(JSON.parse(metadata.inspection), sidecar);
    });
  }

  it('a throwing checkpoint removes both files', async () => {
    const dir = tempDir();
    const source = fakeSource();
    let checks = 0;
    const checkpoint = () => {
      if (++checks === 2) throw new Error('stop');
    };
    await assert.rejects(writeSafetensors(join(dir, 'x.safetensors'), source, PARTIAL, SIDECAR, { checkpoint }), /stop/);
    assert.deepEqual(source.calls, [1]);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('an unwritable path rejects with the system error', async () => {
    const dir = tempDir();
    await assert.rejects(writeSafetensors(join(dir, 'no', 'such', 'x.safetensors'), fakeSource(), FULL, SIDECAR), { code: 'ENOENT' });
    // The sidecar cannot be opened (a folder has its name): the data file already opened is removed.
    mkdirSync(join(dir, 'y.json'));
    await assert.rejects(writeSafetensors(join(dir, 'y.safetensors'), fakeSource(), FULL, SIDECAR), { code: 'EISDIR' });
    assert.deepEqual(readdirSync(dir), ['y.json']);
  });
});

describe('binary export: little-endian bytes', () => {
  it('picks the selected heads in order and byte-swaps on a big-endian host', () => {
    const plane = 2;
    const data = Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]); // [4 heads, plane 2]
    const block = new Float32Array(2 * plane);
    const picked = selectedHeadBytes(data, [1, 3], plane, block, true);
    assert.deepEqual([...new Float32Array(picked.slice().buffer)], [10, 11, 30, 31]);

    const swapped = selectedHeadBytes(data, [1, 3], plane, new Float32Array(2 * plane), false);
    const native = new Uint8Array(Float32Array.from([10, 11, 30, 31]).buffer);
    for (let i = 0; i < native.length; i++) assert.equal(swapped[i], native[i - (i % 4) + 3 - (i % 4)], `byte ${i}`);
  });

  it('every head on a little-endian host is the layer itself, not a copy', () => {
    const data = Float32Array.from([1, 2, 3, 4]);
    const bytes = selectedHeadBytes(data, [0, 1], 2, new Float32Array(0), true);
    assert.equal(bytes.buffer, data.buffer);
  });
});

describe('binary export: parseIndexSpec', () => {
  it('accepts all, single indices, lists, ranges and mixes, with spaces; ascending and distinct', () => {
    assert.deepEqual(parseIndexSpec('all', 4, 'layer'), [0, 1, 2, 3]);
    assert.deepEqual(parseIndexSpec(' ALL ', 2, 'head'), [0, 1]);
    assert.deepEqual(parseIndexSpec('3', 12, 'layer'), [3]);
    assert.deepEqual(parseIndexSpec('0,2,5', 12, 'layer'), [0, 2, 5]);
    assert.deepEqual(parseIndexSpec('4-7', 12, 'layer'), [4, 5, 6, 7]);
    assert.deepEqual(parseIndexSpec(' 0, 3 - 5 ,9 ', 12, 'head'), [0, 3, 4, 5, 9]);
    assert.deepEqual(parseIndexSpec('9,1,1,2-3,3', 12, 'layer'), [1, 2, 3, 9]);
    assert.deepEqual(parseIndexSpec('11', 12, 'layer'), [11]);
    assert.deepEqual(parseIndexSpec('5-5', 12, 'layer'), [5]);
  });

  it('names the flag and the valid range when the value is wrong', () => {
    const rejects = (spec: string, count: number, what: 'layer' | 'head', message: RegExp | string) =>
      assert.throws(
        () => parseIndexSpec(spec, count, what),
        (e: unknown) => {
          assert.ok(e instanceof UserError, `${spec}: a UserError`);
          if (typeof message === 'string') assert.equal(e.message, message);
          else assert.match(e.message, message);
          return true;
        },
      );
    rejects('12', 12, 'layer', '--layers: 12 is out of range; the model has 12 layers (0–11)');
    rejects('3-20', 12, 'head', '--heads: 20 is out of range; the model has 12 heads (0–11)');
    rejects('1', 1, 'head', '--heads: 1 is out of range; the model has 1 head (0)');
    rejects('', 12, 'layer', /^--layers: is empty .*; the model has 12 layers \(0–11\)$/);
    rejects('   ', 12, 'head', /^--heads: is empty/);
    rejects('5-3', 12, 'layer', /^--layers: the range 5-3 is reversed \(write 3-5\)/);
    rejects('-1', 12, 'layer', /^--layers: -1 is negative; the model has 12 layers/);
    rejects('0,-2-4', 12, 'layer', /-2-4 is negative/);
    for (const bad of ['a', '1.5', '1-', '-', '1-2-3', 'all,3', 'two', '0x3', '+3']) rejects(bad, 12, 'layer', /is not an index \(3\) or a range \(4-7\)/);
    for (const bad of ['1,,2', '1,', ',1']) rejects(bad, 12, 'layer', /has an empty item/);
  });
});

/** The data offset from the 2-byte length field of a v1.0 file, read independently of readNpy. */
function readNpyDataOffset(file: Buffer): number {
  return 10 + file.readUInt16LE(8);
}
