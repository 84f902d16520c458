import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { csvField, jsonNumber } from '../../src/export/format';
import { writeChunks, writeChunksToFile } from '../../src/export/write';

describe('export writing', () => {
  it('writes every chunk, in order, and counts UTF-8 bytes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ai-write-')), 'out.txt');
    const chunks = Array.from({ length: 3000 }, (_, i) => `${i}·`);
    const bytes = await writeChunksToFile(file, chunks);
    const text = readFileSync(file, 'utf8');
    assert.equal(text, chunks.join(''));
    assert.equal(bytes, Buffer.byteLength(text));
  });

  it('rejects instead of hanging when the stream fails mid-write (a full disk)', async () => {
    let writes = 0;
    const failing = new Writable({
      highWaterMark: 16,
      write(_chunk, _enc, callback) {
        writes++;
        callback(writes > 1 ? new Error('ENOSPC: no space left on device') : null);
      },
    });
    const big = Array.from({ length: 50 }, () => 'x'.repeat(100_000));
    await assert.rejects(writeChunks(failing, big), /ENOSPC/);
  });

  it('an unwritable path rejects with the system message', async () => {
    await assert.rejects(writeChunksToFile(join(tmpdir(), 'no', 'such', 'dir', 'x.json'), ['{}']), /ENOENT/);
  });

  it('numbers: 9 significant digits round-trip float32, masked scores become null', () => {
    const v = Math.fround(0.1234567891);
    assert.equal(Math.fround(Number(jsonNumber(v))), v);
    assert.equal(jsonNumber(-Infinity), 'null');
    assert.equal(jsonNumber(NaN), 'null');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('plain'), 'plain');
  });
});
