import type { Readable } from 'node:stream';
import { FleetError } from '@upload-fleet/core';

/**
 * Cuts the source stream into the exact chunks the upload sends, one chunk in memory at a
 * time. A chunk is held whole (not streamed through) so that its content hash can go in
 * the request's header and it can be sent again after a token refresh without re-reading.
 */
export class ChunkReader {
  private readonly iterator: AsyncIterator<Uint8Array | string>;
  private leftover: Buffer = Buffer.alloc(0);

  /** `position` is where in the file the stream starts, for messages. */
  constructor(
    private readonly stream: Readable,
    private position: number,
    private readonly size: number,
  ) {
    this.iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array | string>;
  }

  /** The next `length` bytes; throws UF_SOURCE_CHANGED when the source ends sooner. */
  async read(length: number): Promise<Buffer> {
    const chunk = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      if (this.leftover.length === 0) {
        const next = await this.iterator.next();
        if (next.done) throw sourceChanged(this.size, `ended at byte ${this.position + filled}`);
        this.leftover = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      }
      const take = Math.min(length - filled, this.leftover.length);
      this.leftover.copy(chunk, filled, 0, take);
      this.leftover = this.leftover.subarray(take);
      filled += take;
    }
    this.position += length;
    return chunk;
  }

  /** Throws UF_SOURCE_CHANGED when the source has bytes past its announced size. */
  async expectEnd(): Promise<void> {
    if (this.leftover.length > 0) throw sourceChanged(this.size, 'has more bytes');
    for (;;) {
      const next = await this.iterator.next();
      if (next.done) return;
      if (next.value.length > 0) throw sourceChanged(this.size, 'has more bytes');
    }
  }

  destroy(): void {
    this.stream.destroy();
  }
}

function sourceChanged(size: number, what: string): FleetError {
  return new FleetError('UF_SOURCE_CHANGED', `The source file changed while it was uploaded to Dropbox: announced as ${size} bytes, it ${what}`, {
    destination: 'dropbox',
  });
}
