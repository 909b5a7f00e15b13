import { createHash, type Hash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import type { ChunkSource } from '../google/resumable-session.js';

/**
 * The CRC32C (and, where it can, the MD5) of the whole file, computed from the bytes on
 * their way to Cloud Storage: every byte is hashed once, in file order, when it is first
 * read for a chunk. Bytes sent again (GCS kept fewer than were sent, a session restarted)
 * are not hashed again; bytes GCS has but this process never read (it resumed another
 * process's session, whose last chunk landed after its checkpoint) are read once to be
 * hashed, and only those. The file is never read a second time to check it.
 *
 * CRC32C can continue from a saved value (`@node-rs/crc32`'s crc32c takes the running
 * CRC as its second argument), so the checkpoint carries it and a resumed upload still
 * checks the whole object. Node's MD5 cannot be saved and restored, so the MD5 is only
 * known when one process hashed the file from its first byte; GCS's documented check is
 * CRC32C anyway (https://cloud.google.com/storage/docs/data-validation).
 */
export interface DigestState {
  /** CRC32C of bytes [0, hashed_to). */
  crc32c: number;
  hashed_to: number;
}

export class ObjectDigest implements ChunkSource {
  private crc: number;
  private hashedTo: number;
  private readonly md5: Hash | undefined;

  constructor(
    private readonly reader: ChunkSource,
    private readonly chunkBytes: number,
    saved?: DigestState,
  ) {
    this.crc = saved?.crc32c ?? 0;
    this.hashedTo = saved?.hashed_to ?? 0;
    this.md5 = this.hashedTo === 0 ? createHash('md5') : undefined;
  }

  /** Bytes [offset, offset + length) for a chunk, hashing what was not hashed yet. */
  async read(offset: number, length: number): Promise<Buffer> {
    await this.hashUpTo(offset);
    const bytes = await this.reader.read(offset, length);
    this.hash(offset, bytes);
    return bytes;
  }

  /** Hashes the file up to `end` (reading what was never read): before reading the answer's checksum. */
  async hashUpTo(end: number): Promise<void> {
    while (this.hashedTo < end) {
      const start = this.hashedTo;
      this.hash(start, await this.reader.read(start, Math.min(this.chunkBytes, end - start)));
    }
  }

  state(): DigestState {
    return { crc32c: this.crc, hashed_to: this.hashedTo };
  }

  /** Base64 of the big-endian CRC32C, as GCS writes it. */
  crc32cBase64(): string {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(this.crc >>> 0);
    return bytes.toString('base64');
  }

  /** Base64 MD5, or undefined when this process did not see the file from its start. */
  md5Base64(): string | undefined {
    return this.md5?.copy().digest('base64');
  }

  private hash(offset: number, bytes: Buffer): void {
    const fresh = bytes.subarray(Math.max(0, this.hashedTo - offset));
    if (offset > this.hashedTo || fresh.length === 0) return;
    this.crc = crc32c(fresh, this.crc);
    this.md5?.update(fresh);
    this.hashedTo += fresh.length;
  }
}
