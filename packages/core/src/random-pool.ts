import { randomBytes } from 'node:crypto';

/**
 * Random bytes from the system's CSPRNG (crypto.randomBytes), fetched 4 KiB at a time and
 * handed out in order, each byte once. A randomBytes call for a few bytes is a call into
 * OpenSSL of about 3 µs: per submitted delivery two of them (its token, its secrets' IV) cost
 * more than the AES-GCM itself. Node's crypto.randomUUID pools its entropy the same way.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

export function pooledRandomBytes(size: number): Buffer {
  if (size > POOL_BYTES) return randomBytes(size);
  if (offset + size > pool.length) {
    // A new buffer, not a refill: bytes handed out before stay as they were.
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + size);
  offset += size;
  return bytes;
}
