import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { SourceReader } from './source-reader.js';

/** A source of `size` known bytes, delivered in pieces of `piece` bytes, counting opens. */
function source(size: number, piece = 7) {
  const bytes = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
  const opens: number[] = [];
  return {
    bytes,
    opens,
    size,
    description: 'test',
    async open(offset = 0) {
      opens.push(offset);
      const pieces: Buffer[] = [];
      for (let at = offset; at < size; at += piece) pieces.push(bytes.subarray(at, Math.min(at + piece, size)));
      return Readable.from(pieces);
    },
  };
}

async function read(generator: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of generator) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

describe('SourceReader', () => {
  it('serves consecutive ranges from one stream, splitting pieces at range ends', async () => {
    const src = source(100);
    const reader = new SourceReader(src);
    expect(await read(reader.range(0, 10))).toEqual(src.bytes.subarray(0, 10));
    expect(await read(reader.range(10, 33))).toEqual(src.bytes.subarray(10, 43));
    expect(await read(reader.range(43, 57))).toEqual(src.bytes.subarray(43, 100));
    expect(src.opens).toEqual([0]);
    reader.close();
  });

  it('reopens at the offset of a range that does not follow', async () => {
    const src = source(100);
    const reader = new SourceReader(src);
    await read(reader.range(0, 20));
    expect(await read(reader.range(5, 10))).toEqual(src.bytes.subarray(5, 15));
    expect(await read(reader.range(60, 40))).toEqual(src.bytes.subarray(60, 100));
    expect(src.opens).toEqual([0, 5, 60]);
    reader.close();
  });

  it('a range abandoned half-way does not disturb the next one', async () => {
    const src = source(100);
    const reader = new SourceReader(src);
    const abandoned = reader.range(0, 50);
    await abandoned.next(); // 7 bytes handed out, then the request failed
    expect(await read(reader.range(0, 50))).toEqual(src.bytes.subarray(0, 50));
    // The old generator waking up finds itself superseded.
    expect((await abandoned.next()).done).toBe(true);
    expect(await read(reader.range(50, 50))).toEqual(src.bytes.subarray(50, 100));
    reader.close();
  });

  it('a source shorter than its size is UF_SOURCE_CHANGED', async () => {
    const src = source(10);
    const reader = new SourceReader({ ...src, size: 20 });
    const error = await read(reader.range(0, 20)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('UF_SOURCE_CHANGED');
  });
});
