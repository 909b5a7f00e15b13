import { addAbortSignal, type Readable } from 'node:stream';
import { FleetError } from '@upload-fleet/core';
import type { DestinationType } from '@upload-fleet/destinations/definitions';
import type { SourceReader, UploadSource } from './adapter.js';

/**
 * Reads byte ranges of the source into buffers, for the adapters that send a file in
 * parts (S3 parts, Azure blocks, YouTube and Dropbox chunks).
 *
 * One stream serves consecutive ranges (a URL source is one download, not one per part);
 * a range that does not start where the last one ended (a resume that skips what the
 * destination already has) reopens the source at its offset, so skipped bytes are never
 * read. Memory holds the range being filled plus one piece of the stream. A source that
 * ends before its announced size, or goes on past it (`expectEnd`), is UF_SOURCE_CHANGED:
 * the destination would otherwise store a different file.
 */
export class SourceRangeReader {
  private stream: Readable | undefined;
  private pieces: AsyncIterator<Buffer | Uint8Array> | undefined;
  /** File offset of the next byte the stream gives (the first byte of `leftover`). */
  private position = 0;
  private leftover: Buffer = Buffer.alloc(0);
  /** A file source's positional reader (`openReader`): the range is read straight into its buffer. */
  private reader: Promise<SourceReader> | undefined;

  constructor(
    private readonly source: UploadSource,
    private readonly destination: DestinationType,
    /** An abort destroys the open stream, so a read waiting on a slow source ends at once. */
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * The file's bytes [offset, offset + length), in a new buffer or, given `into` (exactly
   * `length` bytes), in that one: an adapter that reuses its part buffers (S3).
   */
  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    if (into && into.length !== length) throw new RangeError(`a range of ${length} bytes cannot be read into ${into.length} bytes`);
    const out = into ?? Buffer.allocUnsafe(length);
    if (length === 0) return out;
    if (this.source.openReader) {
      // No stream chunks to allocate and copy: each range is one positional read (or a few).
      this.reader ??= this.source.openReader();
      const reader = await this.reader;
      let filled = 0;
      while (filled < length) {
        this.signal?.throwIfAborted();
        const bytes = await reader.read(out.subarray(filled), offset + filled);
        if (bytes === 0) throw this.changed(`it ended at byte ${offset + filled}`);
        filled += bytes;
      }
      this.position = offset + length;
      return out;
    }
    if (!this.pieces || this.position !== offset) await this.reopen(offset);
    let filled = 0;
    while (filled < length) {
      if (this.leftover.length === 0) {
        const next = await this.pieces!.next();
        if (next.done) throw this.changed(`it ended at byte ${this.position}`);
        this.leftover = asBuffer(next.value);
        continue;
      }
      const n = this.leftover.copy(out, filled, 0, Math.min(this.leftover.length, length - filled));
      this.leftover = this.leftover.subarray(n);
      this.position += n;
      filled += n;
    }
    return out;
  }

  /** Throws UF_SOURCE_CHANGED when the source has bytes past its announced size. */
  async expectEnd(): Promise<void> {
    if (this.reader) {
      if ((await (await this.reader).read(Buffer.alloc(1), this.position)) > 0) throw this.changed('it has more bytes');
      return;
    }
    if (!this.pieces) return;
    if (this.leftover.length > 0) throw this.changed('it has more bytes');
    for (;;) {
      const next = await this.pieces.next();
      if (next.done) return;
      if (next.value.length > 0) throw this.changed('it has more bytes');
    }
  }

  /** Releases the open stream (a file handle, or the source's download). */
  close(): void {
    void this.reader?.then((reader) => reader.close()).catch(() => undefined);
    this.reader = undefined;
    this.stream?.destroy();
    this.stream = undefined;
    this.pieces = undefined;
    this.leftover = Buffer.alloc(0);
  }

  private async reopen(offset: number): Promise<void> {
    this.close();
    const stream = await this.source.open(offset);
    if (this.signal) addAbortSignal(this.signal, stream);
    this.stream = stream;
    // Driven by hand: a for-await loop would destroy the stream when a piece ends in the
    // middle of a range.
    this.pieces = (stream as AsyncIterable<Buffer | Uint8Array>)[Symbol.asyncIterator]();
    this.position = offset;
  }

  private changed(what: string): FleetError {
    return new FleetError(
      'UF_SOURCE_CHANGED',
      `The source ${this.source.description} changed while it was uploaded: it had ${this.source.size} bytes when the upload started, but ${what}`,
      { destination: this.destination },
    );
  }
}

function asBuffer(piece: Buffer | Uint8Array | string): Buffer {
  if (typeof piece === 'string') return Buffer.from(piece);
  return Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}
