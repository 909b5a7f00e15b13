import { describe, expect, it } from 'vitest';
import { msUntilPacificMidnight, nextPacificMidnight } from './pacific-midnight.js';

const HOUR = 3_600_000;

describe('nextPacificMidnight', () => {
  it.each([
    // [case, now (UTC), next midnight in Los Angeles (UTC)]
    ['winter (PST, UTC-8), mid-afternoon', '2025-01-15T23:00:00.000Z', '2025-01-16T08:00:00.000Z'],
    ['summer (PDT, UTC-7), morning', '2025-07-04T15:30:00.000Z', '2025-07-05T07:00:00.000Z'],
    ['one second before midnight PDT', '2025-06-15T06:59:59.000Z', '2025-06-15T07:00:00.000Z'],
    ['exactly midnight: the next one, a day later', '2025-01-15T08:00:00.000Z', '2025-01-16T08:00:00.000Z'],
    ['UTC already on the next day, Los Angeles not', '2025-01-16T03:00:00.000Z', '2025-01-16T08:00:00.000Z'],
    ['new year in Los Angeles', '2025-12-31T20:00:00.000Z', '2026-01-01T08:00:00.000Z'],
    ['leap day', '2024-02-28T20:00:00.000Z', '2024-02-29T08:00:00.000Z'],
    // 2025-03-09: clocks jump from 02:00 PST to 03:00 PDT.
    ['spring forward: 01:00 PST, before the jump', '2025-03-09T09:00:00.000Z', '2025-03-10T07:00:00.000Z'],
    ['spring forward: 03:30 PDT, after the jump', '2025-03-09T10:30:00.000Z', '2025-03-10T07:00:00.000Z'],
    ['spring forward: the evening before', '2025-03-09T05:00:00.000Z', '2025-03-09T08:00:00.000Z'],
    // 2025-11-02: clocks fall back from 02:00 PDT to 01:00 PST; 01:30 happens twice.
    ['fall back: first 01:30 (PDT)', '2025-11-02T08:30:00.000Z', '2025-11-03T08:00:00.000Z'],
    ['fall back: second 01:30 (PST)', '2025-11-02T09:30:00.000Z', '2025-11-03T08:00:00.000Z'],
    ['fall back: the evening before', '2025-11-02T04:00:00.000Z', '2025-11-02T07:00:00.000Z'],
  ])('%s', (_case, now, expected) => {
    expect(nextPacificMidnight(new Date(now)).toISOString()).toBe(expected);
  });

  it('counts the real hours of days with a clock change (23 h in spring, 25 h in autumn)', () => {
    // From midnight to midnight on the days the clocks change.
    expect(msUntilPacificMidnight(new Date('2025-03-09T08:00:00.000Z'))).toBe(23 * HOUR);
    expect(msUntilPacificMidnight(new Date('2025-11-02T07:00:00.000Z'))).toBe(25 * HOUR);
  });

  it('keeps milliseconds', () => {
    expect(msUntilPacificMidnight(new Date('2025-06-15T06:59:59.250Z'))).toBe(750);
  });

  it('is always in the future and at most 25 hours away, every 53 minutes over a year', () => {
    const clock = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Los_Angeles', hourCycle: 'h23', hour: 'numeric', minute: 'numeric' });
    for (let t = Date.parse('2025-01-01T00:00:00Z'); t < Date.parse('2026-01-01T00:00:00Z'); t += 53 * 60_000) {
      const wait = msUntilPacificMidnight(new Date(t));
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(25 * HOUR);
      expect(clock.format(t + wait)).toBe('00:00');
    }
  });
});
