import { describe, expect, it } from 'vitest';
import { createPartProgress } from './part-progress.js';

describe('createPartProgress', () => {
  it('adds confirmed parts and bytes in flight, never going back and never above the size', () => {
    const reports: number[] = [];
    const progress = createPartProgress(100, (b) => reports.push(b));
    progress.confirmed(20);
    progress.sending(2, 10);
    progress.sending(3, 30);
    progress.dropped(3); // a failed part no longer counts, but progress does not go back
    progress.sending(3, 5);
    progress.finished(2, 40);
    progress.sending(4, 90);
    progress.complete();
    expect(reports).toEqual([20, 30, 60, 65, 100]);
  });

  it('reports the size once at the end, also for an empty file', () => {
    const reports: number[] = [];
    const empty = createPartProgress(0, (b) => reports.push(b));
    empty.complete();
    empty.complete();
    expect(reports).toEqual([0]);
  });
});
