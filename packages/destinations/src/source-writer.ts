import type { Writable } from 'node:stream';
import { FleetError } from '@upload-fleet/core';
import type { DestinationType } from '@upload-fleet/destinations/definitions';
import type { UploadSource } from './adapter.js';

/**
 * Bytes per read and write: two buffers of it per upload. A loopback HTTP PUT of 512 MiB
 * with SHA-256 (read, hash, got write, as here) cost 1.47 CPU s/GiB with 1 MiB writes,
 * 1.42 with 2 MiB, 1.31 with 4 MiB and 1.29 with 8 MiB (4 interleaved runs each, 2-core
 * machine): the socket takes a large write with fewer wake-ups and system calls. 4 MiB
 * keeps most of that for 8 MiB of buffers per upload.
 */
export const SOURCE_WRITE_CHUNK_BYTES = 4 * 1024 * 1024;

/** Read buffers from this size on lie in a SharedArrayBuffer (see `writeSource`). */
const SHARED_BUFFER_MIN_BYTES = 1024 * 1024;

/**
 * Writes the source's bytes from `offset` to its end into `sink`, exactly `size - offset` of
 * them: a source that ends early or goes on past its size is UF_SOURCE_CHANGED, since the
 * destination was promised that many (a Content-Length, an FTP file that must not end
 * "complete" and short). Does not end `sink`. The check comes before the last byte is
 * written: a destination that has all it was promised may answer at once (an HTTP 200),
 * and a file that has grown must not be delivered as if complete.
 *
 * File sources (`openReader`) are read into two buffers (SOURCE_WRITE_CHUNK_BYTES) that take turns: one is filled
 * while the other is written, and a buffer is filled again only once its write has called
 * back (the socket has taken the bytes), so a reused buffer never changes bytes still
 * queued. Allocating a buffer per chunk instead (what a file stream does) makes the
 * garbage collector run full collections every few dozen MiB; on a worker's heap those
 * cost several times the CPU of the transfer. Other sources are streamed.
 */
export async function writeSource(
  source: UploadSource,
  offset: number,
  sink: Writable,
  options: {
    destination: DestinationType;
    signal?: AbortSignal;
    /** Called with a chunk's size once the sink has taken it (its write called back): progress. */
    onWritten?: (bytes: number) => void;
  },
): Promise<void> {
  const changed = (what: string) =>
    new FleetError('UF_SOURCE_CHANGED', `The source changed while it was uploaded: ${source.description} had ${source.size} bytes when the upload started, but ${what}`, {
      destination: options.destination,
    });
  // A sink destroyed under a write (the request failed, the upload was aborted) may never
  // call back: its close ends the wait.
  const write = (chunk: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      if (sink.destroyed) return reject(sink.errored ?? new Error('the connection closed before the file was sent'));
      const onClose = () => reject(sink.errored ?? new Error('the connection closed before the file was sent'));
      sink.once('close', onClose);
      sink.write(chunk, (error) => {
        sink.off('close', onClose);
        if (error) return reject(error);
        options.onWritten?.(chunk.byteLength);
        resolve();
      });
    });

  if (!source.openReader) {
    const stream = await source.open(offset);
    try {
      let position = offset;
      // The chunk that reaches the size waits for the stream's end, which proves there is no more.
      let last: Buffer | undefined;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        options.signal?.throwIfAborted();
        position += chunk.byteLength;
        if (position > source.size) throw changed('it has more bytes');
        if (position === source.size) last = chunk;
        else await write(chunk);
      }
      if (position !== source.size) throw changed(`it ended at byte ${position}`);
      if (last) await write(last);
    } finally {
      stream.destroy();
    }
    return;
  }

  const reader = await source.openReader();
  try {
    // No larger than what is left to send, and one byte (see below): two full-size buffers
    // for a 1 KiB file were megabytes of external memory per upload, and at a few hundred
    // tiny uploads a second the collections they forced cost half the worker's CPU.
    const bufferBytes = Math.min(SOURCE_WRITE_CHUNK_BYTES, source.size - offset + 1);
    // Shared memory, so that the worker's whole-file SHA-256 hashes the bytes on its own
    // thread without copying them (runtime's sources/sha256-thread.ts); a small file's
    // buffers stay plain.
    const allocate = () => (bufferBytes >= SHARED_BUFFER_MIN_BYTES ? Buffer.from(new SharedArrayBuffer(bufferBytes)) : Buffer.allocUnsafeSlow(bufferBytes));
    // The second only once a file needs more than one read.
    const buffers: Buffer[] = [allocate()];
    let position = offset;
    let turn = 0;
    // The write of the other buffer, still under way while this one is filled.
    let writing: Promise<void> = Promise.resolve();
    // A failed write must not go unobserved while the next read runs.
    writing.catch(() => undefined);
    while (position < source.size) {
      options.signal?.throwIfAborted();
      const buffer = (buffers[turn] ??= allocate());
      turn = 1 - turn;
      // The last read asks for one byte past the size where the buffer has room: a byte
      // there means the file has grown, and a read of a regular file that stops at the size
      // shows it ends there, with no read more to prove it (a tiny upload's one read).
      const remaining = source.size - position;
      const asked = Math.min(buffer.length, remaining + 1);
      const bytes = await reader.read(buffer.subarray(0, asked), position);
      if (bytes === 0) throw changed(`it ended at byte ${position}`);
      if (bytes > remaining) throw changed('it has more bytes');
      position += bytes;
      if (position === source.size && asked === remaining && (await reader.read(Buffer.alloc(1), position)) > 0) throw changed('it has more bytes');
      await writing;
      writing = write(buffer.subarray(0, bytes));
      writing.catch(() => undefined);
    }
    await writing;
    // An empty source (nothing read above) is checked here.
    if (position === offset && (await reader.read(buffers[0]!, position)) > 0) throw changed('it has more bytes');
  } finally {
    await reader.close();
  }
}
