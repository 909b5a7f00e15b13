import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blockDigestsOf, contentHashOfDigests, FileContentHash } from './content-hash.js';
import { dropboxPathOf } from './index.js';

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();

describe('Dropbox content hash', () => {
  it('is the SHA-256 of the SHA-256 of each 4 MiB block', () => {
    const data = randomBytes(9 * MiB + 5);
    const blocks = [data.subarray(0, 4 * MiB), data.subarray(4 * MiB, 8 * MiB), data.subarray(8 * MiB)];
    const expected = sha256(Buffer.concat(blocks.map(sha256))).toString('hex');
    expect(contentHashOfDigests(blockDigestsOf(data))).toBe(expected);
  });

  it('of an empty file is the SHA-256 of nothing', () => {
    expect(contentHashOfDigests(blockDigestsOf(Buffer.alloc(0)))).toBe(createHash('sha256').digest('hex'));
  });

  it('of a file is the same whether fed whole or in 4 MiB-aligned chunks', () => {
    const data = randomBytes(12 * MiB + 1);
    const file = new FileContentHash();
    for (let at = 0; at < data.length; at += 8 * MiB) file.add(blockDigestsOf(data.subarray(at, at + 8 * MiB)));
    expect(file.digest()).toBe(contentHashOfDigests(blockDigestsOf(data)));
  });
});

describe('dropboxPathOf', () => {
  it.each([
    ['Videos/welcome.mp4', '/Videos/welcome.mp4'],
    ['/Videos/welcome.mp4', '/Videos/welcome.mp4'],
    ['welcome.mp4', '/welcome.mp4'],
  ])('%s -> %s', (filename, path) => {
    expect(dropboxPathOf(filename)).toBe(path);
  });
});
