import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import type { UploadSource } from '../adapter.js';
import { ChunkReader } from './chunk-reader.js';

/** A source over bytes in memory that hands them out in 1000-byte pieces and counts its opens. */
function memorySource(bytes: Buffer, size = bytes.length): UploadSource & { opens: number[] } {
  const opens: number[] = [];
  return {
    size,
    description: 'memory',
    opens,
    async open(offset = 0) {
      opens.push(offset);
      const pieces: Buffer[] = [];
      for (let i = offset; i < bytes.length; i += 1000) pieces.push(bytes.subarray(i, Math.min(i + 1000, bytes.length)));
      return Readable.from(pieces);
    },
  };
}

describe('ChunkReader', () => {
  const file = randomBytes(10_000);

  it('reads consecutive chunks from one open stream', async () => {
    const source = memorySource(file);
    const reader = new ChunkReader(source, file.length);
    expect(await reader.read(0, 4096)).toEqual(file.subarray(0, 4096));
    expect(await reader.read(4096, 4096)).toEqual(file.subarray(4096, 8192));
    expect(await reader.read(8192, 1808)).toEqual(file.subarray(8192));
    expect(source.opens).toEqual([0]);
    reader.close();
  });

  it('resends the tail of the last chunk from memory when fewer bytes were kept', async () => {
    const source = memorySource(file);
    const reader = new ChunkReader(source, file.length);
    await reader.read(0, 4096);
    expect(await reader.read(1500, 4096)).toEqual(file.subarray(1500, 5596));
    expect(await reader.read(5596, 4404)).toEqual(file.subarray(5596));
    expect(source.opens).toEqual([0]);
    reader.close();
  });

  it('reopens the source at the offset it cannot serve otherwise', async () => {
    const source = memorySource(file);
    const reader = new ChunkReader(source, file.length);
    expect(await reader.read(6000, 2000)).toEqual(file.subarray(6000, 8000));
    await reader.read(8000, 2000);
    expect(await reader.read(100, 1000)).toEqual(file.subarray(100, 1100));
    expect(source.opens).toEqual([6000, 100]);
    reader.close();
  });

  it('notices a source shorter or longer than its size', async () => {
    const shorter = new ChunkReader(memorySource(file.subarray(0, 5000), 10_000), 10_000);
    await expect(shorter.read(0, 8000)).rejects.toMatchObject({ code: 'UF_SOURCE_CHANGED' });
    const longer = new ChunkReader(memorySource(file, 9000), 9000);
    const error = await longer.read(0, 9000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('UF_SOURCE_CHANGED');
  });
});
