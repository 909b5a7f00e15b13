import { describe, expect, it } from 'vitest';
import { pooledRandomBytes } from './random-pool.js';

describe('pooledRandomBytes', () => {
  it('answers the size asked for, small or larger than the pool', () => {
    for (const size of [0, 1, 12, 16, 4095, 4096, 4097, 10_000]) expect(pooledRandomBytes(size)).toHaveLength(size);
  });

  it('never hands out the same bytes twice, across many refills of the pool', () => {
    const seen = new Set<string>();
    // 16-byte values: 5,000 of them span about 20 pools; a repeat would mean reused bytes.
    for (let i = 0; i < 5_000; i++) seen.add(pooledRandomBytes(16).toString('hex'));
    expect(seen.size).toBe(5_000);
  });
});
