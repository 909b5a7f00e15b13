import { describe, expect, it } from 'vitest';
import { blockId, isUploadId, newUploadId, parseBlockId } from './block-ids.js';
import { BlockSet } from './block-set.js';

describe('block ids', () => {
  const uploadId = '0123456789ab';

  it('are base64 of "uf<upload id>-<6-digit index>": 28 characters for every index', () => {
    expect(blockId(uploadId, 0)).toBe(Buffer.from('uf0123456789ab-000000').toString('base64'));
    expect(Buffer.from(blockId(uploadId, 49_999), 'base64').toString()).toBe('uf0123456789ab-049999');
    const lengths = new Set([0, 1, 9, 10, 999, 12_345, 49_999, 999_999].map((i) => blockId(uploadId, i).length));
    expect([...lengths]).toEqual([28]);
  });

  it('decode to text that sorts in block order', () => {
    const decoded = [3, 10, 2, 100, 1].map((i) => Buffer.from(blockId(uploadId, i), 'base64').toString());
    expect([...decoded].sort()).toEqual([1, 2, 3, 10, 100].map((i) => Buffer.from(blockId(uploadId, i), 'base64').toString()));
  });

  it('parse back to upload id and index', () => {
    expect(parseBlockId(blockId(uploadId, 4711))).toEqual({ uploadId, index: 4711 });
  });

  it.each([
    ['another format', Buffer.from('block-000001').toString('base64')],
    ['a longer index', Buffer.from('uf0123456789ab-0000001').toString('base64')],
    ['upper-case upload id', Buffer.from('uf0123456789AB-000001').toString('base64')],
    ['not base64 at all', '!!!'],
    ['an empty id', ''],
  ])('ignore ids of other uploaders: %s', (_name, id) => {
    expect(parseBlockId(id)).toBeUndefined();
  });

  it('refuse indexes and upload ids they cannot encode', () => {
    expect(() => blockId(uploadId, -1)).toThrow(RangeError);
    expect(() => blockId(uploadId, 1_000_000)).toThrow(RangeError);
    expect(() => blockId(uploadId, 1.5)).toThrow(RangeError);
    expect(() => blockId('xyz', 0)).toThrow(RangeError);
  });

  it('use a fresh random upload id per upload', () => {
    const ids = new Set(Array.from({ length: 50 }, newUploadId));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(isUploadId(id)).toBe(true);
  });
});

describe('BlockSet', () => {
  it('lists staged and missing blocks as runs', () => {
    const set = new BlockSet(10);
    for (const i of [0, 1, 2, 5, 7, 8]) set.add(i);
    expect(set.size).toBe(6);
    expect(set.runs()).toEqual([
      [0, 2],
      [5, 5],
      [7, 8],
    ]);
    expect(set.missingRuns()).toEqual([
      [3, 4],
      [6, 6],
      [9, 9],
    ]);
  });

  it('round-trips through runs, ignoring duplicates and indexes out of range', () => {
    const set = BlockSet.fromRuns(6, [
      [0, 1],
      [1, 2],
      [4, 9],
    ]);
    expect(set.size).toBe(5);
    expect(set.runs()).toEqual([
      [0, 2],
      [4, 5],
    ]);
    set.add(-1);
    set.add(6);
    set.add(2);
    expect(set.size).toBe(5);
  });

  it('is all missing when empty and has no runs when it has no blocks', () => {
    expect(new BlockSet(3).missingRuns()).toEqual([[0, 2]]);
    expect(new BlockSet(0).runs()).toEqual([]);
    expect(new BlockSet(0).missingRuns()).toEqual([]);
  });
});
