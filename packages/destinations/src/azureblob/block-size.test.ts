import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { blockId } from './block-ids.js';
import { BlockSet } from './block-set.js';
import { MAX_BLOB_SIZE, MAX_BLOCKS, MAX_BLOCK_SIZE, MiB, chooseBlockSize, planBlocks } from './block-size.js';

const GiB = 1024 * MiB;
const TB = 1e12;

describe('chooseBlockSize', () => {
  it.each([
    ['an empty file', 0, 4 * MiB],
    ['1 byte', 1, 4 * MiB],
    ['just below one block', 4 * MiB - 1, 4 * MiB],
    ['100 MiB', 100 * MiB, 4 * MiB],
    ['the most that fits 50,000 blocks of 4 MiB', MAX_BLOCKS * 4 * MiB, 4 * MiB],
    ['one byte more', MAX_BLOCKS * 4 * MiB + 1, 5 * MiB],
    ['1 TB', TB, 20 * MiB],
    ['1 TiB', 1024 * GiB, 21 * MiB],
    ['10 TiB', 10 * 1024 * GiB, 210 * MiB],
    ['the largest block blob', MAX_BLOB_SIZE, MAX_BLOCK_SIZE],
  ])('chooses for %s (%i bytes) %i-byte blocks', (_name, size, expected) => {
    expect(chooseBlockSize(size)).toBe(expected);
  });

  it('keeps every size within 50,000 blocks of whole MiB, at least 4 MiB and at most 4000 MiB', () => {
    const sizes = [1, 123_456_789, 200 * GiB, 200 * GiB + 1, TB - 1, TB, TB + 1, 5 * TB + 7, 100 * 1024 * GiB, MAX_BLOB_SIZE - 1, MAX_BLOB_SIZE];
    for (let size = 1; size < MAX_BLOB_SIZE; size = Math.floor(size * 1.7) + 13) sizes.push(size);
    for (const size of sizes) {
      const blockSize = chooseBlockSize(size);
      expect(blockSize % MiB, `size ${size}`).toBe(0);
      expect(blockSize, `size ${size}`).toBeGreaterThanOrEqual(4 * MiB);
      expect(blockSize, `size ${size}`).toBeLessThanOrEqual(MAX_BLOCK_SIZE);
      expect(Math.ceil(size / blockSize), `size ${size}`).toBeLessThanOrEqual(MAX_BLOCKS);
      // And it is the smallest such size: one MiB less would need more than 50,000 blocks.
      if (blockSize > 4 * MiB) expect(Math.ceil(size / (blockSize - MiB)), `size ${size}`).toBeGreaterThan(MAX_BLOCKS);
    }
  });

  it('refuses a file larger than a block blob can hold, as a permanent UF_FILE_TOO_LARGE', () => {
    let error: unknown;
    try {
      chooseBlockSize(MAX_BLOB_SIZE + 1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('UF_FILE_TOO_LARGE');
    expect((error as FleetError).category).toBe('permanent');
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects the size %s as a programming error', (size) => {
    expect(() => chooseBlockSize(size)).toThrow(RangeError);
  });
});

describe('planBlocks', () => {
  it('cuts a file into full blocks and a shorter last one', () => {
    const plan = planBlocks(10 * MiB + 5, 4 * MiB);
    expect(plan.count).toBe(3);
    expect([0, 1, 2].map((i) => [plan.offsetOf(i), plan.lengthOf(i)])).toEqual([
      [0, 4 * MiB],
      [4 * MiB, 4 * MiB],
      [8 * MiB, 2 * MiB + 5],
    ]);
  });

  it('has no short block when the size is a multiple of the block size', () => {
    const plan = planBlocks(8 * MiB, 4 * MiB);
    expect(plan.count).toBe(2);
    expect(plan.lengthOf(1)).toBe(4 * MiB);
  });

  it('handles a 1 TB file: block count, last offset, ids and the staged set all stay in range', () => {
    const blockSize = chooseBlockSize(TB);
    const plan = planBlocks(TB, blockSize);
    expect(plan.count).toBe(Math.ceil(TB / (20 * MiB)));
    expect(plan.count).toBeLessThanOrEqual(MAX_BLOCKS);
    const last = plan.count - 1;
    expect(plan.offsetOf(last) + plan.lengthOf(last)).toBe(TB);
    expect(plan.lengthOf(last)).toBeGreaterThan(0);
    expect(Number.isSafeInteger(plan.offsetOf(last))).toBe(true);
    // Every block id of the file has the same length (an Azure requirement).
    expect(blockId('0123456789ab', last)).toHaveLength(blockId('0123456789ab', 0).length);
    const staged = new BlockSet(plan.count);
    for (let i = 0; i < plan.count; i += 2) staged.add(i);
    expect(staged.missingRuns()).toHaveLength(Math.floor(plan.count / 2));
  });
});
