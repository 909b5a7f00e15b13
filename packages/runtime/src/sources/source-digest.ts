import { Transform, type Readable } from 'node:stream';
import type { SourceReader, UploadSource } from '@upload-fleet/destinations';
import { sha256For } from './sha256-thread.js';

/**
 * The whole file's SHA-256, computed from the bytes the adapter streams, never by a second
 * read of what it already read. The source the worker hands the adapter is wrapped: every
 * stream it opens is tapped, and the bytes at the hash's position are fed to one SHA-256
 * in file order. Bytes ahead of that position (parts read in parallel, as S3 and Azure do)
 * are kept until the bytes before them arrive, up to AHEAD_LIMIT_BYTES; bytes read again
 * (a retried part) are not hashed twice.
 *
 * What the adapter never streams in this attempt is read once at the end, from the source,
 * by `sha256()`: the prefix a resumed upload skips (the destination holds those bytes from
 * an earlier attempt, and Node's crypto cannot carry a hash state across processes, so it
 * is not persisted), and parallel bytes beyond AHEAD_LIMIT_BYTES. That is a read of those
 * parts only: for a path source, the local file; for a URL source, a Range request.
 *
 * A large file that the adapter reads into shared memory is hashed on a thread
 * (sha256-thread.ts), in place: a read into a buffer then waits until the thread has hashed
 * what the last read put there.
 */
export interface DigestingSource extends UploadSource {
  /** The file's SHA-256 (hex), reading once whatever this attempt did not stream. */
  sha256(): Promise<string>;
  /** Drops the hash of an attempt that ends without `sha256()`, and closes the source. */
  close(): Promise<void>;
}

/** Out-of-order bytes held for the hash at most; beyond that they are read again at the end. */
const AHEAD_LIMIT_BYTES = 64 * 1024 * 1024;

export function digestingSource(source: UploadSource): DigestingSource {
  const hash = sha256For(source.size);
  let hashedUpTo = 0;
  let finished: string | undefined;
  /** Chunks that start beyond the hash's position, by start offset. */
  const ahead = new Map<number, Buffer>();
  let aheadBytes = 0;

  /** Hashes or holds `chunk`; a promise while the thread reads the chunk's memory in place. */
  const feed = (start: number, chunk: Buffer): Promise<void> | undefined => {
    const end = start + chunk.length;
    if (finished !== undefined || end <= hashedUpTo) return undefined;
    if (start > hashedUpTo) {
      if (aheadBytes + chunk.length <= AHEAD_LIMIT_BYTES && !ahead.has(start)) {
        ahead.set(start, Buffer.from(chunk));
        aheadBytes += chunk.length;
      }
      return undefined;
    }
    const hashing = hash.update(chunk.subarray(hashedUpTo - start));
    hashedUpTo = end;
    // Bytes kept for later may now be next.
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const [at, held] of ahead) {
        if (at > hashedUpTo) continue;
        ahead.delete(at);
        aheadBytes -= held.length;
        if (at + held.length > hashedUpTo) {
          hash.update(held.subarray(hashedUpTo - at));
          hashedUpTo = at + held.length;
          progressed = true;
        }
      }
    }
    return hashing;
  };

  const tap = (stream: Readable, offset: number): Readable => {
    let position = offset;
    const tapped = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        const hashing = feed(position, chunk);
        position += chunk.length;
        if (hashing) hashing.then(() => callback(null, chunk), callback);
        else callback(null, chunk);
      },
    });
    stream.on('error', (error) => tapped.destroy(error));
    tapped.on('close', () => stream.destroy());
    return stream.pipe(tapped);
  };

  return {
    size: source.size,
    description: source.description,
    async open(offset = 0) {
      return tap(await source.open(offset), offset);
    },
    // A file source's positional reader, tapped the same way: the bytes are hashed from the
    // adapter's own buffer before the adapter refills it.
    ...(source.openReader
      ? {
          async openReader() {
            const reader = await source.openReader!();
            /** Memory the thread is still hashing in place, by the buffer it lies in. */
            const hashingIn = new Map<ArrayBufferLike, Promise<void>>();
            return {
              async read(buffer: Uint8Array, position: number) {
                // The thread hashes in order: the last chunk in this memory is the one to wait for.
                await hashingIn.get(buffer.buffer);
                hashingIn.delete(buffer.buffer);
                const bytes = await reader.read(buffer, position);
                if (bytes > 0) {
                  const hashing = feed(position, Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
                  // A thread that stopped fails the next read here and the digest: never unobserved.
                  if (hashing) hashingIn.set(buffer.buffer, hashing);
                  hashing?.catch(() => undefined);
                }
                return bytes;
              },
              close: () => reader.close(),
            };
          },
        }
      : {}),
    async sha256() {
      if (finished !== undefined) return finished;
      // What this attempt did not stream, gap by gap: each read once, up to the next bytes held.
      while (hashedUpTo < source.size) {
        const gapEnd = Math.min(source.size, ...[...ahead.keys()].filter((at) => at > hashedUpTo));
        if (source.openReader) {
          // A file: exactly the gap, through one buffer.
          await feedFromReader(await source.openReader(), hashedUpTo, gapEnd, feed);
          continue;
        }
        const stream = await source.open(hashedUpTo);
        let position = hashedUpTo;
        try {
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            await feed(position, chunk.subarray(0, Math.max(0, gapEnd - position)));
            position += chunk.length;
            if (position >= gapEnd) break;
          }
        } finally {
          stream.destroy();
        }
        if (position < gapEnd) throw new Error(`the source ended at byte ${position} of ${source.size} while its hash was computed`);
      }
      ahead.clear();
      finished = await hash.digest();
      return finished;
    },
    async close() {
      if (finished === undefined) hash.discard();
      ahead.clear();
      await source.close?.();
    },
  };
}

const GAP_READ_BYTES = 1024 * 1024;

/** Feeds the bytes [from, to) of a file source to the hash, read into one buffer. */
async function feedFromReader(reader: SourceReader, from: number, to: number, feed: (start: number, chunk: Buffer) => void): Promise<void> {
  const buffer = Buffer.alloc(Math.min(GAP_READ_BYTES, to - from));
  try {
    for (let position = from; position < to; ) {
      const bytes = await reader.read(buffer.subarray(0, Math.min(buffer.length, to - position)), position);
      if (bytes === 0) throw new Error(`the source ended at byte ${position} while its hash was computed`);
      await feed(position, buffer.subarray(0, bytes));
      position += bytes;
    }
  } finally {
    await reader.close();
  }
}
