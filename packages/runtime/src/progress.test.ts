import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { UploadProgress } from '@upload-fleet/core';
import { throttledProgress } from './progress.js';

describe('throttledProgress', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('publishes at most once per interval and always the final value on flush', async () => {
    const events: UploadProgress[] = [];
    const progress = throttledProgress(1000, async (p) => void events.push(p), 1000);
    for (let bytes = 0; bytes <= 1000; bytes += 10) {
      progress.report(bytes);
      vi.advanceTimersByTime(50); // 101 reports over ~5 s
    }
    await progress.flush();
    // One event per second of reports (the first a second in), plus the final one.
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events.length).toBeLessThanOrEqual(6);
    expect(events[0]!.bytes_sent).toBeGreaterThan(0);
    expect(events.at(-1)).toEqual({ bytes_sent: 1000, bytes_total: 1000 });
    const times = events.map((e) => e.bytes_sent);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('publishes nothing for an upload that ends within its first interval', async () => {
    const events: UploadProgress[] = [];
    const progress = throttledProgress(1024, async (p) => void events.push(p), 1000);
    progress.report(0);
    vi.advanceTimersByTime(5);
    progress.report(1024);
    await progress.flush();
    expect(events).toEqual([]);
    expect(progress.bytesSent).toBe(1024);
  });

  it('never reports more than the total nor goes backwards', async () => {
    const events: UploadProgress[] = [];
    const progress = throttledProgress(100, async (p) => void events.push(p), 0);
    progress.report(50);
    progress.report(20);
    progress.report(500);
    await progress.flush();
    expect(events.map((e) => e.bytes_sent)).toEqual([50, 100]);
  });

  it('does not fail the upload when publishing fails', async () => {
    const progress = throttledProgress(10, async () => {
      throw new Error('redis down');
    }, 0);
    progress.report(5);
    await expect(progress.flush()).resolves.toBeUndefined();
  });
});
