import { describe, expect, it } from 'vitest';
import { usableCheckpoint } from './checkpoint.js';

describe('usableCheckpoint', () => {
  const blob = 'http://127.0.0.1:10000/devstoreaccount1/videos/a.mp4';
  const saved = { version: 1, blob, size: 10_000_000, blockSize: 4_194_304, uploadId: '0123456789ab', staged: [[0, 1]] };

  it('takes the checkpoint of the same blob and size, with its block size', () => {
    expect(usableCheckpoint(structuredClone(saved), blob, 10_000_000)).toEqual(saved);
  });

  it.each([
    ['nothing saved', undefined],
    ['another blob', { ...saved, blob: `${blob}.2` }],
    ['another size (the source changed)', { ...saved, size: 10_000_001 }],
    ['another format version', { ...saved, version: 2 }],
    ['a bad upload id', { ...saved, uploadId: 'nope' }],
    ['a malformed staged list', { ...saved, staged: [[0]] }],
    ['negative indexes', { ...saved, staged: [[-1, 2]] }],
    ['a zero block size', { ...saved, blockSize: 0 }],
    ['a block size that needs more than 50,000 blocks', { ...saved, blockSize: 100 }],
    ['a block size over 4000 MiB', { ...saved, blockSize: 4001 * 1024 * 1024 }],
    ['something else entirely', 'session-uri'],
  ])('ignores %s', (_name, value) => {
    expect(usableCheckpoint(value, blob, 10_000_000)).toBeUndefined();
  });
});
