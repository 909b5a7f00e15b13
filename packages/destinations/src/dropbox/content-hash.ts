import { createHash } from 'node:crypto';

/**
 * Dropbox's content hash (https://www.dropbox.com/developers/reference/content-hash): split
 * the data into 4 MiB blocks, take the SHA-256 of each, and the SHA-256 of those digests
 * concatenated. Requests carry it as `content_hash` so Dropbox checks every request's data
 * (`content_hash_mismatch` otherwise), and FileMetadata reports it for the whole file.
 *
 * The adapter's chunks are multiples of the block size, so a chunk's block digests are
 * also the file's: each block is hashed once and serves both.
 */
export const DROPBOX_HASH_BLOCK_BYTES = 4 * 1024 * 1024;

/** SHA-256 digests of the 4 MiB blocks of `data` (the last one may be shorter). */
export function blockDigestsOf(data: Uint8Array): Buffer[] {
  const digests: Buffer[] = [];
  for (let at = 0; at < data.byteLength; at += DROPBOX_HASH_BLOCK_BYTES) {
    digests.push(createHash('sha256').update(data.subarray(at, at + DROPBOX_HASH_BLOCK_BYTES)).digest());
  }
  return digests;
}

/** The content hash of data whose block digests these are, hex. */
export function contentHashOfDigests(digests: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const digest of digests) hash.update(digest);
  return hash.digest('hex');
}

/** The content hash of a whole file, fed block digests in order. */
export class FileContentHash {
  private readonly hash = createHash('sha256');

  add(digests: readonly Buffer[]): void {
    for (const digest of digests) this.hash.update(digest);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
