import { describe, expect, it } from 'vitest';
import { retryDelayMs, withJitter } from './retry-policy.js';

const options = { baseDelayMs: 1000, maxDelayMs: 60_000 };

describe('retryDelayMs', () => {
  it('doubles with every failed attempt, between half and all of the exponential value', () => {
    for (const attempt of [1, 2, 3, 4, 5]) {
      const full = 1000 * 2 ** (attempt - 1);
      expect(retryDelayMs(attempt, {}, options, () => 0)).toBe(full / 2);
      expect(retryDelayMs(attempt, {}, options, () => 1)).toBe(full);
    }
  });

  it('grows from one attempt to the next whatever the jitter draws', () => {
    for (let attempt = 1; attempt < 6; attempt++) {
      expect(retryDelayMs(attempt + 1, {}, options, () => 0)).toBeGreaterThanOrEqual(retryDelayMs(attempt, {}, options, () => 1));
    }
  });

  it('never waits longer than the maximum', () => {
    expect(retryDelayMs(30, {}, options, () => 1)).toBe(60_000);
  });

  it('never comes back earlier than the destination asked with Retry-After', () => {
    expect(retryDelayMs(1, { retryAfterMs: 120_000 }, options, () => 1)).toBe(120_000);
    expect(retryDelayMs(3, { retryAfterMs: 10 }, options, () => 1)).toBe(4000);
  });
});

describe('withJitter', () => {
  it('adds up to 10% of the wait, capped at 30 s, never less than the wait', () => {
    expect(withJitter(10_000, () => 0)).toBe(10_000);
    expect(withJitter(10_000, () => 1)).toBe(11_000);
    expect(withJitter(3_600_000, () => 1)).toBe(3_630_000);
  });
});
