import type { DestinationType } from '@upload-fleet/destinations/definitions';
import type { UploadSource } from '../adapter.js';
import { SourceRangeReader } from '../source-ranges.js';

/**
 * Reads the file chunk by chunk from one open stream of the source, so a path or URL
 * source is opened once per attempt rather than once per chunk.
 *
 * A chunk is held in memory (RESUMABLE_CHUNK_BYTES, 8 MiB): the body must carry an exact
 * Content-Length, and when Google keeps fewer bytes than were sent the rest is resent
 * from memory. Only a jump the stream cannot serve (an interruption that lost bytes
 * before this chunk, a resume in a new attempt) reopens the source at the offset.
 */
export class ChunkReader {
  private readonly ranges: SourceRangeReader;
  /** The last chunk read, for resending its tail. */
  private held: { offset: number; bytes: Buffer } | undefined;

  constructor(
    source: UploadSource,
    private readonly size: number,
    /** The destination type, for the source's errors. */
    destination: DestinationType,
  ) {
    this.ranges = new SourceRangeReader(source, destination);
  }

  /** The file's bytes [offset, offset + length). */
  async read(offset: number, length: number): Promise<Buffer> {
    const held = this.held;
    let out: Buffer;
    if (held && offset >= held.offset && offset < held.offset + held.bytes.length) {
      // Google kept fewer bytes than were sent: the start of this chunk is still in memory.
      const kept = held.bytes.subarray(offset - held.offset, Math.min(held.bytes.length, offset - held.offset + length));
      out = kept.length === length ? Buffer.from(kept) : Buffer.concat([kept, await this.ranges.read(offset + kept.length, length - kept.length)]);
    } else {
      out = await this.ranges.read(offset, length);
    }
    // A source longer than its announced size would make Google store a different file.
    if (offset + length === this.size) await this.ranges.expectEnd();
    this.held = { offset, bytes: out };
    return out;
  }

  close(): void {
    this.ranges.close();
  }
}
