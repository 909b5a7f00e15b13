import type { Readable } from 'node:stream';
import { FleetError } from '@upload-fleet/core';
import type { UploadSource } from '../adapter.js';

/**
 * Reads the file chunk by chunk from one open stream of the source, so a path or URL
 * source is opened once per attempt rather than once per chunk.
 *
 * A chunk is held in memory (CHUNK_BYTES, 8 MiB): the body must carry an exact
 * Content-Length, and when YouTube keeps fewer bytes than were sent the rest is resent
 * from memory. Only a jump the stream cannot serve (an interruption that lost bytes
 * before this chunk, a resume in a new attempt) reopens the source at the offset.
 */
export class ChunkReader {
  private stream: Readable | undefined;
  private iterator: AsyncIterator<Buffer> | undefined;
  /** File offset of the first byte of `leftover`, i.e. the next byte the stream gives. */
  private position = 0;
  private leftover: Buffer = Buffer.alloc(0);
  /** The last chunk read, for resending its tail. */
  private held: { offset: number; bytes: Buffer } | undefined;

  constructor(
    private readonly source: UploadSource,
    private readonly size: number,
  ) {}

  /** The file's bytes [offset, offset + length). */
  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    const held = this.held;
    if (held && offset >= held.offset && offset < held.offset + held.bytes.length) {
      filled = held.bytes.copy(out, 0, offset - held.offset, Math.min(held.bytes.length, offset - held.offset + length));
    }
    if (filled < length) {
      const from = offset + filled;
      if (!this.iterator || this.position !== from) await this.reopen(from);
      while (filled < length) {
        if (this.leftover.length === 0) {
          const next = await this.iterator!.next();
          if (next.done) throw sourceChanged(this.size, `it ended at byte ${this.position}`);
          this.leftover = next.value;
        }
        const n = this.leftover.copy(out, filled, 0, Math.min(this.leftover.length, length - filled));
        this.leftover = this.leftover.subarray(n);
        this.position += n;
        filled += n;
      }
    }
    if (offset + length === this.size && this.iterator) await this.expectEnd();
    this.held = { offset, bytes: out };
    return out;
  }

  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.iterator = undefined;
  }

  private async reopen(offset: number): Promise<void> {
    this.close();
    this.stream = await this.source.open(offset);
    this.iterator = (this.stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    this.position = offset;
    this.leftover = Buffer.alloc(0);
  }

  /** A source longer than its announced size would make YouTube store a different file. */
  private async expectEnd(): Promise<void> {
    if (this.leftover.length > 0 || !(await this.iterator!.next()).done) throw sourceChanged(this.size, 'it has more bytes');
  }
}

function sourceChanged(size: number, what: string): FleetError {
  return new FleetError('UF_SOURCE_CHANGED', `The source changed while it was being uploaded: it was ${size} bytes, but ${what}`, { destination: 'youtube' });
}
