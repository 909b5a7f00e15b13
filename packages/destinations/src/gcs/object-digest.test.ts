import { createHash, randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { ObjectDigest } from './object-digest.js';

const file = randomBytes(10_000);
/** A chunk source over `file` that counts the bytes it served. */
function source() {
  const reads: [number, number][] = [];
  return {
    reads,
    async read(offset: number, length: number) {
      reads.push([offset, length]);
      return Buffer.from(file.subarray(offset, offset + length));
    },
  };
}
const crcBase64 = (bytes: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32c(bytes) >>> 0);
  return out.toString('base64');
};

describe('ObjectDigest', () => {
  it('computes the CRC32C (Castagnoli) of "123456789" as e3069283', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
  });

  it('hashes each byte once, however often a range is sent again', async () => {
    const digest = new ObjectDigest(source(), 4096);
    await digest.read(0, 4096);
    await digest.read(1000, 4096); // the server kept only 1000 bytes: resent from there
    await digest.read(5096, file.length - 5096);
    expect(digest.crc32cBase64()).toBe(crcBase64(file));
    expect(digest.md5Base64()).toBe(createHash('md5').update(file).digest('base64'));
  });

  it('continues a saved CRC32C, reading only the bytes the saved state did not cover, and has no MD5 then', async () => {
    const first = new ObjectDigest(source(), 4096);
    await first.read(0, 4096);
    const saved = first.state();
    const reader = source();
    const resumed = new ObjectDigest(reader, 4096, saved);
    // The server holds 8192 bytes: the gap [4096, 8192) is read once to be hashed.
    await resumed.read(8192, file.length - 8192);
    expect(reader.reads).toEqual([[4096, 4096], [8192, file.length - 8192]]);
    expect(resumed.crc32cBase64()).toBe(crcBase64(file));
    expect(resumed.md5Base64()).toBeUndefined();
  });

  it('hashUpTo covers what was never read (a session found finished on resume)', async () => {
    const digest = new ObjectDigest(source(), 3000, { crc32c: 0, hashed_to: 0 });
    await digest.hashUpTo(file.length);
    expect(digest.crc32cBase64()).toBe(crcBase64(file));
    expect(digest.state()).toEqual({ crc32c: crc32c(file), hashed_to: file.length });
  });
});
