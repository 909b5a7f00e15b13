import { describe, expect, it } from 'vitest';
import { PartBuffers } from './part-buffers.js';

describe('PartBuffers', () => {
  it('hands out a buffer of the length asked for, and the same memory again once given back', () => {
    const buffers = new PartBuffers(8);
    const first = buffers.take(8);
    const second = buffers.take(8);
    expect(first.length).toBe(8);
    expect(first.buffer).not.toBe(second.buffer);
    buffers.give(first);
    // The last part is shorter: the same memory, cut to its length.
    const last = buffers.take(3);
    expect(last.length).toBe(3);
    expect(last.buffer).toBe(first.buffer);
    buffers.give(last);
    expect(buffers.take(8).buffer).toBe(first.buffer);
  });

  it('never shares memory between parts out at once', () => {
    const buffers = new PartBuffers(4);
    const out = [buffers.take(4), buffers.take(4), buffers.take(4)];
    out.forEach((b, i) => b.fill(i));
    expect(out.map((b) => [...b])).toEqual([
      [0, 0, 0, 0],
      [1, 1, 1, 1],
      [2, 2, 2, 2],
    ]);
  });

  it('refuses a part larger than its buffers', () => {
    expect(() => new PartBuffers(4).take(5)).toThrow(RangeError);
  });
});
