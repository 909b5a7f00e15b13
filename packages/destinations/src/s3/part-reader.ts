import { addAbortSignal, type Readable } from 'node:stream';
import { FleetError } from '@upload-fleet/core';
import type { UploadSource } from '../adapter.js';

/**
 * Reads byte ranges of the source, in increasing order, into buffers: one part at a time.
 *
 * One stream serves consecutive ranges; a range that does not start where the last one
 * ended (a resume that skips the parts S3 already has) reopens the source at its offset,
 * so skipped bytes are never read. Only the requested range is copied out, so memory
 * holds the part being filled plus one chunk of the stream.
 */
export class PartReader {
  private stream: Readable | undefined;
  private chunks: AsyncIterator<Buffer> | undefined;
  private position = 0;
  private leftover: Buffer | undefined;

  constructor(
    private readonly source: UploadSource,
    private readonly signal: AbortSignal,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    if (length === 0) return out;
    if (!this.chunks || this.position !== offset) await this.reopen(offset);
    let filled = 0;
    while (filled < length) {
      let chunk = this.leftover;
      this.leftover = undefined;
      if (!chunk) {
        const next = await this.chunks!.next();
        if (next.done) {
          throw new FleetError('UF_SOURCE_CHANGED', `The source ${this.source.description} ended at byte ${offset + filled}, before its announced size`, {
            destination: 's3',
          });
        }
        chunk = next.value;
      }
      const take = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, take);
      filled += take;
      if (take < chunk.length) this.leftover = chunk.subarray(take);
    }
    this.position = offset + length;
    return out;
  }

  /** Releases the open stream (a file handle, or the source's HTTP download). */
  close(): void {
    this.stream?.destroy();
    this.stream = undefined;
    this.chunks = undefined;
    this.leftover = undefined;
  }

  private async reopen(offset: number): Promise<void> {
    this.close();
    const stream = await this.source.open(offset);
    // An abort destroys the stream, so a read waiting on a slow source ends at once.
    addAbortSignal(this.signal, stream);
    this.stream = stream;
    this.chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    this.position = offset;
  }
}
