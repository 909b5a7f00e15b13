import { describe, expect, it } from 'vitest';
import { choosePartSize, MAX_OBJECT_SIZE, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, partCount, partRange, partsInFlightFor } from './part-size.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

describe('choosePartSize', () => {
  it.each([
    ['an empty file', 0, 5 * MiB],
    ['1 byte', 1, 5 * MiB],
    ['100 MiB', 100 * MiB, 5 * MiB],
    ['exactly 10,000 parts of 5 MiB', 10_000 * 5 * MiB, 5 * MiB],
    ['one byte more than that', 10_000 * 5 * MiB + 1, 6 * MiB],
    ['1 TB (10^12 bytes)', 1e12, 96 * MiB],
    ['1 TiB', TiB, 105 * MiB],
    ['5 TiB, the largest object', 5 * TiB, 525 * MiB],
  ])('%s -> %d bytes per part', (_name, size, expected) => {
    expect(choosePartSize(size)).toBe(expected);
  });

  it('always fits S3\'s limits: at least 5 MiB, at most 5 GiB, at most 10,000 parts, whole MiB', () => {
    const sizes = [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 48 * GiB, 49 * GiB, 100 * GiB + 7, 999_999_999_999, TiB + 1, 3 * TiB + 12_345, MAX_OBJECT_SIZE];
    for (const size of sizes) {
      const partSize = choosePartSize(size);
      expect(partSize, String(size)).toBeGreaterThanOrEqual(MIN_PART_SIZE);
      expect(partSize, String(size)).toBeLessThanOrEqual(MAX_PART_SIZE);
      expect(partSize % MiB, String(size)).toBe(0);
      expect(partCount(size, partSize), String(size)).toBeLessThanOrEqual(MAX_PARTS);
      expect(partCount(size, partSize) * partSize, String(size)).toBeGreaterThanOrEqual(size);
    }
  });

  it('refuses sizes S3 cannot store and sizes that are not sizes', () => {
    expect(() => choosePartSize(MAX_OBJECT_SIZE + 1)).toThrow(RangeError);
    expect(() => choosePartSize(-1)).toThrow(RangeError);
    expect(() => choosePartSize(1.5)).toThrow(RangeError);
  });
});

describe('choosePartSize with an operator part size (S3_PART_SIZE_MIB) and parts in flight', () => {
  it.each([
    ['a 1 GiB file, 16 MiB × 4: exactly the setting', GiB, 16, 4, 16 * MiB],
    ['a 640 MiB file, 16 MiB × 4: four parts fill its tenth', 640 * MiB, 16, 4, 16 * MiB],
    ['a 256 MiB file, 16 MiB × 4: smaller parts keep four in flight within a tenth', 256 * MiB, 16, 4, 6 * MiB],
    ['a 64 MiB file, 16 MiB × 4: never under 5 MiB', 64 * MiB, 16, 4, 5 * MiB],
    ['a 10 MiB file, 16 MiB × 4: still two parts, as before', 10 * MiB, 16, 4, 5 * MiB],
    ['a 1 TiB file, 16 MiB × 4: grown to fit 10,000 parts', TiB, 16, 4, 105 * MiB],
    ['a 5 TiB file, 64 MiB × 4: grown to fit 10,000 parts', 5 * TiB, 64, 4, 525 * MiB],
    ['a 100 GiB file, 5 GiB × 1: S3\'s largest part', 100 * GiB, 5120, 1, MAX_PART_SIZE],
    ['a 100 GiB file, 64 MiB × 1', 100 * GiB, 64, 1, 64 * MiB],
  ])('%s', (_name, size, partMiB, inFlight, expected) => {
    expect(choosePartSize(size, partMiB * MiB, inFlight)).toBe(expected);
  });

  it('always fits S3\'s limits and keeps the parts in flight within a tenth of the file', () => {
    const sizes = [6 * MiB, 64 * MiB, 200 * MiB + 5, 256 * MiB, GiB, 4 * GiB + 1, 48 * GiB, TiB + 1, MAX_OBJECT_SIZE];
    for (const size of sizes) {
      for (const [partMiB, configured] of [[5, 4], [16, 4], [64, 8], [5120, 1], [16, 32]] as const) {
        const partSize = choosePartSize(size, partMiB * MiB, configured);
        const what = `${size} bytes, ${partMiB} MiB × ${configured}`;
        expect(partSize, what).toBeGreaterThanOrEqual(MIN_PART_SIZE);
        expect(partSize, what).toBeLessThanOrEqual(Math.max(partMiB * MiB, choosePartSize(size)));
        expect(partSize % MiB, what).toBe(0);
        expect(partCount(size, partSize), what).toBeLessThanOrEqual(MAX_PARTS);
        const inFlight = partsInFlightFor(configured, partSize, size);
        if (partSize > MIN_PART_SIZE) expect(inFlight * partSize, what).toBeLessThanOrEqual(size * 0.1);
      }
    }
  });
});

describe('partRange', () => {
  it('numbers parts from 1, the last one holding the rest', () => {
    const size = 12 * MiB + 3;
    expect(partCount(size, 5 * MiB)).toBe(3);
    expect(partRange(1, size, 5 * MiB)).toEqual({ offset: 0, length: 5 * MiB });
    expect(partRange(2, size, 5 * MiB)).toEqual({ offset: 5 * MiB, length: 5 * MiB });
    expect(partRange(3, size, 5 * MiB)).toEqual({ offset: 10 * MiB, length: 2 * MiB + 3 });
  });

  it('gives an exact multiple of the part size full parts only', () => {
    expect(partCount(10 * MiB, 5 * MiB)).toBe(2);
    expect(partRange(2, 10 * MiB, 5 * MiB)).toEqual({ offset: 5 * MiB, length: 5 * MiB });
  });
});

describe('partsInFlightFor', () => {
  it.each([
    [4, 5 * MiB, 4],
    [1, 5 * MiB, 1],
    [16, 96 * MiB, 5],
    [4, 200 * MiB, 2],
    [4, 525 * MiB, 1],
  ])('%d configured with %d-byte parts -> %d at once (memory stays under 512 MiB)', (configured, partSize, expected) => {
    expect(partsInFlightFor(configured, partSize, 5 * TiB)).toBe(expected);
  });

  it.each([
    [64 * MiB, 1],
    [100 * MiB, 2],
    [150 * MiB, 3],
    [200 * MiB, 4],
    [GiB, 4],
    [MiB, 1],
    [0, 1],
  ])('a %d-byte file in 5 MiB parts -> %d at once (a crash resends at most a tenth of it)', (size, expected) => {
    const inFlight = partsInFlightFor(4, 5 * MiB, size);
    expect(inFlight).toBe(expected);
    if (size >= 64 * MiB) expect(inFlight * 5 * MiB).toBeLessThanOrEqual(size * 0.1);
  });
});
