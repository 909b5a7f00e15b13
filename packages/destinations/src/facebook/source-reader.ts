import type { Readable } from 'node:stream';
import { FleetError } from '@upload-fleet/core';
import type { UploadSource } from '../adapter.js';

/**
 * Reads byte ranges of the source for the chunks Graph asks for. Chunks usually follow each
 * other, so one stream serves them all (a URL source is one download, not one per chunk);
 * a range that does not start where the stream stands (a resent chunk, an offset Graph
 * corrected) reopens the source at that offset. Nothing beyond one stream piece is held.
 *
 * A range whose request failed may be left half-read by the HTTP client, possibly with a
 * read still pending; a newer range never shares state with it: it starts from a fresh
 * stream unless the current one is idle at exactly the right offset, and an older range
 * that wakes up finds it has been superseded and stops.
 */
export class SourceReader {
  private cursor: Cursor | undefined;
  private generation = 0;

  constructor(private readonly source: UploadSource) {}

  /** Exactly `length` bytes from `offset`, in pieces, as they are read. */
  async *range(offset: number, length: number): AsyncGenerator<Uint8Array> {
    const generation = ++this.generation;
    let cursor = this.cursor;
    if (!cursor || cursor.pending || cursor.position !== offset) cursor = await this.reopen(offset);
    let remaining = length;
    while (remaining > 0) {
      if (cursor.leftover.length === 0) {
        cursor.pending = true;
        let next: IteratorResult<Buffer>;
        try {
          next = await cursor.iterator.next();
        } finally {
          cursor.pending = false;
        }
        if (generation !== this.generation) return;
        if (next.done) throw sourceChanged(this.source.size, cursor.position);
        cursor.leftover = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
        continue;
      }
      const piece = cursor.leftover.subarray(0, remaining);
      cursor.leftover = cursor.leftover.subarray(piece.length);
      cursor.position += piece.length;
      remaining -= piece.length;
      yield piece;
      if (generation !== this.generation) return;
    }
  }

  /** Releases the file handle or the source's download. */
  close(): void {
    this.cursor?.stream.destroy();
    this.cursor = undefined;
  }

  private async reopen(offset: number): Promise<Cursor> {
    this.close();
    const stream = await this.source.open(offset);
    // The iterator is driven by hand: a for-await loop would destroy the stream when a
    // chunk ends in the middle of one of its pieces.
    const cursor: Cursor = { stream, iterator: (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator](), leftover: Buffer.alloc(0), position: offset, pending: false };
    this.cursor = cursor;
    return cursor;
  }
}

interface Cursor {
  stream: Readable;
  iterator: AsyncIterator<Buffer>;
  /** Bytes read from the stream but not handed out yet; they start at `position`. */
  leftover: Buffer;
  /** File offset of the next byte this cursor hands out. */
  position: number;
  /** A read is in flight: the stream's next bytes belong to whoever asked. */
  pending: boolean;
}

function sourceChanged(size: number, at: number): FleetError {
  return new FleetError('UF_SOURCE_CHANGED', `The source ended after ${at} bytes although it had ${size} when the upload started`, { destination: 'facebook' });
}
