import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/**
 * Writes text chunks to a stream in ~1 MB batches, waiting for 'drain', so results of hundreds of MB
 * never form one string. Resolves with the number of bytes written.
 */
export async function writeChunks(stream: Writable, chunks: Iterable<string>): Promise<number> {
  let bytes = 0;
  let pending: string[] = [];
  let size = 0;
  const flush = async () => {
    if (!pending.length) return;
    const text = pending.join('');
    pending = [];
    size = 0;
    bytes += Buffer.byteLength(text);
    if (stream.write(text)) return;
    // A failed write never drains: wait for whichever comes first, so a full disk rejects instead of hanging.
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        stream.off('drain', onDrain);
        reject(error);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    });
  };
  for (const chunk of chunks) {
    pending.push(chunk);
    size += chunk.length;
    if (size > 1 << 20) await flush();
  }
  await flush();
  return bytes;
}

/** writeChunks into a new file; an unwritable path rejects with the system's message. */
export async function writeChunksToFile(path: string, chunks: Iterable<string>): Promise<number> {
  const stream = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.once('open', () => resolve());
  });
  const bytes = await writeChunks(stream, chunks);
  await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return bytes;
}
