import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import type { UploadSource } from './adapter.js';
import { SourceRangeReader } from './source-ranges.js';

/** A source over `bytes` that yields chunks of `chunkSize` and records every open. */
function memorySource(bytes: Buffer, chunkSize = 7, options: { size?: number; stall?: boolean } = {}): UploadSource & { opens: number[] } {
  const opens: number[] = [];
  return {
    size: options.size ?? bytes.length,
    description: 'memory',
    opens,
    async open(offset = 0) {
      opens.push(offset);
      if (options.stall) return new Readable({ read() {} });
      const rest = bytes.subarray(offset);
      return Readable.from((function* () {
        for (let i = 0; i < rest.length; i += chunkSize) yield rest.subarray(i, i + chunkSize);
      })());
    },
  };
}

const bytes = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

describe('SourceRangeReader', () => {
  it('reads consecutive ranges from one stream, across chunk boundaries', async () => {
    const source = memorySource(bytes);
    const reader = new SourceRangeReader(source, 's3', new AbortController().signal);
    expect(await reader.read(0, 10)).toEqual(bytes.subarray(0, 10));
    expect(await reader.read(10, 25)).toEqual(bytes.subarray(10, 35));
    expect(await reader.read(35, 65)).toEqual(bytes.subarray(35, 100));
    expect(source.opens).toEqual([0]);
    reader.close();
  });

  it('reopens the source at the offset of a range after a gap, without reading the skipped bytes', async () => {
    const source = memorySource(bytes);
    const reader = new SourceRangeReader(source, 's3', new AbortController().signal);
    expect(await reader.read(20, 10)).toEqual(bytes.subarray(20, 30));
    expect(await reader.read(50, 10)).toEqual(bytes.subarray(50, 60));
    expect(await reader.read(60, 40)).toEqual(bytes.subarray(60, 100));
    expect(source.opens).toEqual([20, 50]);
    reader.close();
  });

  it('reads an empty range without opening the source', async () => {
    const source = memorySource(Buffer.alloc(0));
    const reader = new SourceRangeReader(source, 's3', new AbortController().signal);
    expect((await reader.read(0, 0)).length).toBe(0);
    expect(source.opens).toEqual([]);
  });

  it('says UF_SOURCE_CHANGED when the source ends before its size', async () => {
    const reader = new SourceRangeReader(memorySource(bytes.subarray(0, 50), 7, { size: 100 }), 's3', new AbortController().signal);
    const error = await reader.read(0, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('UF_SOURCE_CHANGED');
  });

  it('ends a read waiting on a stalled source as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const reader = new SourceRangeReader(memorySource(bytes, 7, { stall: true }), 's3', controller.signal);
    const read = reader.read(0, 10).catch((e: unknown) => e);
    setTimeout(() => controller.abort('shutdown'), 20);
    const error = (await read) as Error;
    expect(error.name).toBe('AbortError');
    reader.close();
  });

  it('says UF_SOURCE_CHANGED when the source goes on past its size, and nothing when it ends there', async () => {
    const longer = new SourceRangeReader(memorySource(bytes, 7, { size: 50 }), 'dropbox');
    await longer.read(0, 50);
    await expect(longer.expectEnd()).rejects.toMatchObject({ code: 'UF_SOURCE_CHANGED', destination: 'dropbox' });
    const exact = new SourceRangeReader(memorySource(bytes), 'dropbox');
    await exact.read(0, 100);
    await expect(exact.expectEnd()).resolves.toBeUndefined();
  });
});

/** A file-like source over `bytes` with a positional reader that reads at most 9 bytes a call; announces `size`. */
function positionalSource(size = bytes.length): UploadSource & { closed: number } {
  const source = {
    size,
    description: 'file',
    closed: 0,
    open: () => Promise.reject(new Error('a source with a positional reader is not streamed')),
    openReader: async () => ({
      read: async (buffer: Uint8Array, position: number) => {
        const piece = bytes.subarray(position, position + Math.min(9, buffer.byteLength));
        buffer.set(piece);
        return piece.length;
      },
      close: async () => void (source.closed += 1),
    }),
  };
  return source;
}

describe('SourceRangeReader over a positional reader', () => {
  it('reads any range straight from its position, resumed ranges included, and never opens a stream', async () => {
    const source = positionalSource();
    const reader = new SourceRangeReader(source, 's3');
    expect(await reader.read(0, 30)).toEqual(bytes.subarray(0, 30));
    expect(await reader.read(60, 40)).toEqual(bytes.subarray(60, 100));
    expect(await reader.read(30, 30)).toEqual(bytes.subarray(30, 60));
    reader.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.closed).toBe(1);
  });

  it('is UF_SOURCE_CHANGED when the file is shorter than announced, or longer at the end', async () => {
    const short = new SourceRangeReader(positionalSource(120), 's3');
    await expect(short.read(90, 30)).rejects.toMatchObject({ code: 'UF_SOURCE_CHANGED', message: expect.stringContaining('ended at byte 100') });
    const long = new SourceRangeReader(positionalSource(80), 's3');
    await long.read(0, 80);
    await expect(long.expectEnd()).rejects.toMatchObject({ code: 'UF_SOURCE_CHANGED', message: expect.stringContaining('more bytes') });
  });
});
