import { describe, expect, it } from 'vitest';
import { MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, chunkPlanProblem, chunkRange, planChunks } from './chunk-plan.js';

const MiB = 1024 * 1024;

describe('planChunks', () => {
  it.each([
    ['a 1-byte video goes whole', 1, 16 * MiB, { chunkSize: 1, totalChunkCount: 1 }],
    ['a video under 5 MiB goes whole', 5 * MiB - 1, 16 * MiB, { chunkSize: 5 * MiB - 1, totalChunkCount: 1 }],
    ['a video smaller than one chunk is one chunk', 10 * MiB, 16 * MiB, { chunkSize: 10 * MiB, totalChunkCount: 1 }],
    ["TikTok's example: 50,000,123 bytes in 10,000,000-byte chunks is 5 chunks", 50_000_123, 10_000_000, { chunkSize: 10_000_000, totalChunkCount: 5 }],
    ['100 MiB + 12,345 in 16 MiB chunks: 6, the last with the rest', 100 * MiB + 12_345, 16 * MiB, { chunkSize: 16 * MiB, totalChunkCount: 6 }],
    ['a video over 64 MB with a 64 MB setting is split in two', 100_000_001, MAX_CHUNK_BYTES, { chunkSize: 50_000_000, totalChunkCount: 2 }],
    ['over 1000 chunks: larger chunks', 1000 * 6 * MiB, MIN_CHUNK_BYTES, { chunkSize: 6 * MiB, totalChunkCount: 1000 }],
  ])('%s', (_name, size, preferred, expected) => {
    const plan = planChunks(size, preferred);
    expect(plan).toEqual({ videoSize: size, ...expected });
    expect(chunkPlanProblem(plan)).toBeUndefined();
    const last = chunkRange(plan, plan.totalChunkCount - 1);
    expect(last.end).toBe(size);
    expect(chunkRange(plan, 0).start).toBe(0);
  });

  it('gives the final chunk the trailing bytes and every chunk starts where the one before ended', () => {
    const plan = planChunks(50_000_123, 10_000_000);
    const ranges = Array.from({ length: plan.totalChunkCount }, (_, i) => chunkRange(plan, i));
    expect(ranges.at(-1)).toEqual({ start: 40_000_000, end: 50_000_123 });
    ranges.slice(1).forEach((r, i) => expect(r.start).toBe(ranges[i]!.end));
  });

  it('refuses an empty video', () => {
    expect(() => planChunks(0, 16 * MiB)).toThrow(/at least one byte/);
  });
});

describe('chunkPlanProblem', () => {
  it.each([
    ['a count that is not rounded down', { videoSize: 50_000_123, chunkSize: 10_000_000, totalChunkCount: 6 }, /rounded down/],
    ['chunks under 5 MB', { videoSize: 20 * MiB, chunkSize: 4 * MiB, totalChunkCount: 5 }, /at least 5 MB/],
    ['chunks over 64 MB', { videoSize: 200_000_000, chunkSize: 100_000_000, totalChunkCount: 2 }, /at most 64 MB/],
    ['a small video in pieces', { videoSize: 4 * MiB, chunkSize: 2 * MiB, totalChunkCount: 2 }, /sent whole/],
    ['a final chunk over 128 MB', { videoSize: 64_000_000 + 128_000_000, chunkSize: 64_000_000, totalChunkCount: 1 }, /rounded down|128 MB/],
  ])('finds %s', (_name, plan, message) => {
    expect(chunkPlanProblem(plan)).toMatch(message);
  });
});
