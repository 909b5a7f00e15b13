import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeliveryStatus, UploadStatus } from './api-client.js';
import { formatBytes, formatDuration } from './format.js';
import { ProgressView } from './progress-view.js';

const MiB = 1024 * 1024;

function status(uploads: Partial<UploadStatus>[], state: DeliveryStatus['state'] = 'in_progress'): DeliveryStatus {
  return {
    token: 'dlv_test',
    state,
    created_at: '2026-01-01T00:00:00.000Z',
    uploads: uploads.map((u, index) => ({ index, type: 'http', job_id: `dlv_test-${index}`, state: 'queued', attempts: 0, max_attempts: 5, ...u }) as UploadStatus),
  };
}

const active = (sent: number, total = 100 * MiB): Partial<UploadStatus> => ({ state: 'active', attempts: 1, progress: { bytes_sent: sent, bytes_total: total } });

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 120, write: (text: string) => writes.push(text) } };
}

describe('ProgressView on a terminal', () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('redraws at most 4 times a second, in place, and shows the last status after a burst', () => {
    const { writes, stream } = fakeStream(true);
    const view = new ProgressView(stream, { now: () => now });
    for (let i = 0; i < 20; i++) {
      now = i * 50; // 20 updates in one second
      view.update(status([active(i * MiB), { state: 'queued' }]));
      vi.advanceTimersByTime(50);
    }
    expect(writes.length).toBeGreaterThanOrEqual(4);
    expect(writes.length).toBeLessThanOrEqual(5);
    // The first draw writes the lines; the next ones move up over them first.
    expect(writes[0]).not.toContain('\u001b[3A');
    expect(writes[1]!.startsWith('\u001b[3A')).toBe(true);
    expect(writes[1]!.split('\n').filter(Boolean)).toHaveLength(3);
    vi.advanceTimersByTime(1000);
    expect(writes.at(-1)).toContain('19.0 MiB / 100.0 MiB');
  });

  it('draws a bar with percent, bytes, rate and ETA, and the final state once finished', () => {
    const { writes, stream } = fakeStream(true);
    const view = new ProgressView(stream, { now: () => now });
    view.update(status([active(0)]));
    now = 2000;
    view.update(status([active(20 * MiB)]));
    const line = view.lineOf(status([active(20 * MiB)]).uploads[0]!, true);
    expect(line).toBe(`#0 http        [#####-------------------]  20%  20.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 8s`);
    view.finish(status([{ state: 'completed', attempts: 1, upload: 'https://example.com/v.mp4' }], 'completed'));
    expect(writes.at(-1)).toContain('#0 http        completed  https://example.com/v.mp4');
    expect(writes.at(-1)).toContain('dlv_test  completed');
  });

  it('keeps every line shorter than the terminal, so redrawing in place never wraps', () => {
    const { writes, stream } = fakeStream(true);
    stream.columns = 40;
    new ProgressView(stream, { now: () => now }).update(status([{ state: 'failed', attempts: 5, error: { code: 'UF_UNKNOWN', category: 'transient', message: 'x'.repeat(200) } }]));
    for (const line of writes[0]!.split('\n')) expect(line.replace('\r\u001b[2K', '').length).toBeLessThan(40);
  });
});

describe('ProgressView elsewhere (a pipe, a log)', () => {
  it('writes a plain line per change, a progress line at most once a second, and no escape codes', () => {
    const { writes, stream } = fakeStream(false);
    let now = 0;
    const view = new ProgressView(stream, { now: () => now });
    view.update(status([{ state: 'queued' }]));
    view.update(status([{ state: 'queued' }]));
    now = 100;
    view.update(status([active(1 * MiB)]));
    now = 400;
    view.update(status([active(2 * MiB)]));
    now = 1200;
    view.update(status([active(3 * MiB)]));
    now = 1300;
    view.finish(status([{ state: 'completed', attempts: 1, upload: 'https://example.com/v.mp4' }], 'completed'));
    expect(writes).toEqual([
      '#0 http        queued\n',
      '#0 http        active  1.0 MiB / 100.0 MiB (1%)  -- /s  ETA --\n',
      // 2 MiB in 1.1 s; 97 MiB to go.
      '#0 http        active  3.0 MiB / 100.0 MiB (3%)  1.8 MiB/s  ETA 53s\n',
      '#0 http        completed  https://example.com/v.mp4\n',
    ]);
    expect(writes.join('')).not.toContain('\u001b');
  });

  it('starts the rate again when a new attempt starts from fewer bytes', () => {
    const { stream } = fakeStream(false);
    let now = 0;
    const view = new ProgressView(stream, { now: () => now });
    view.update(status([active(50 * MiB)]));
    now = 1000;
    view.update(status([active(60 * MiB)]));
    expect(view.rateOf(0)).toBe(10 * MiB);
    now = 2000;
    view.update(status([active(1 * MiB)]));
    expect(view.rateOf(0)).toBeUndefined();
  });
});

describe('formatting', () => {
  it('bytes in binary units, durations as s, m:ss, h:mm:ss', () => {
    expect([0, 1023, 1536, 5 * MiB, 3 * 1024 * MiB].map(formatBytes)).toEqual(['0 B', '1023 B', '1.5 KiB', '5.0 MiB', '3.0 GiB']);
    expect([0, 42.4, 65, 3723].map(formatDuration)).toEqual(['0s', '42s', '1:05', '1:02:03']);
  });
});
