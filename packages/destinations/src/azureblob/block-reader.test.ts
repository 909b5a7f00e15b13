import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import type { UploadSource } from '../adapter.js';
import { SourceRangeReader } from '../source-ranges.js';
import { readBlocks, type Block } from './block-reader.js';
import { planBlocks } from './block-size.js';

/** A source over a buffer that hands out chunks of awkward sizes, and records every open. */
function bufferSource(data: Buffer, chunk = 7, options: { truncateAt?: number } = {}): UploadSource & { opens: number[]; streams: Readable[] } {
  const opens: number[] = [];
  const streams: Readable[] = [];
  return {
    size: data.length,
    description: 'buffer',
    opens,
    streams,
    async open(offset = 0) {
      opens.push(offset);
      const end = options.truncateAt ?? data.length;
      const stream = Readable.from(
        (function* pieces() {
          for (let at = offset; at < end; at += chunk) yield data.subarray(at, Math.min(at + chunk, end));
        })(),
      );
      streams.push(stream);
      return stream;
    },
  };
}

async function collect(blocks: AsyncGenerator<Block>): Promise<Block[]> {
  const out: Block[] = [];
  for await (const block of blocks) out.push(block);
  return out;
}

describe('reading blocks (SourceRangeReader)', () => {
  it('returns exactly the bytes asked for across chunk boundaries', async () => {
    const data = randomBytes(100);
    const reader = new SourceRangeReader(bufferSource(data, 9), 'azureblob');
    expect(await reader.read(0, 0)).toEqual(Buffer.alloc(0));
    expect(await reader.read(0, 10)).toEqual(data.subarray(0, 10));
    expect(await reader.read(10, 1)).toEqual(data.subarray(10, 11));
    expect(await reader.read(11, 89)).toEqual(data.subarray(11, 100));
  });

  it('accepts Uint8Array chunks, as sources other than files give', async () => {
    const data = randomBytes(20);
    const source = { size: 20, description: 'u8', open: async () => Readable.from([new Uint8Array(data.subarray(0, 5)), new Uint8Array(data.subarray(5))]) };
    expect(await new SourceRangeReader(source, 'azureblob').read(0, 20)).toEqual(data);
  });

  it('reports a source that ends early as UF_SOURCE_CHANGED with the position', async () => {
    const data = randomBytes(50);
    const reader = new SourceRangeReader(bufferSource(data, 8, { truncateAt: 30 }), 'azureblob');
    const error = await reader.read(10, 40).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('UF_SOURCE_CHANGED');
    expect((error as FleetError).message).toContain('had 50 bytes');
    expect((error as FleetError).message).toContain('ended at byte 30');
  });
});

describe('readBlocks', () => {
  const data = randomBytes(1000);
  const plan = planBlocks(data.length, 100); // 10 blocks

  it('reads every block in order from one stream when all are missing', async () => {
    const source = bufferSource(data, 33);
    const blocks = await collect(readBlocks(source, plan, [[0, 9]], new AbortController().signal));
    expect(blocks.map((b) => b.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Buffer.concat(blocks.map((b) => b.data))).toEqual(data);
    expect(source.opens).toEqual([0]);
  });

  it('opens the source at each run of missing blocks and reads nothing else', async () => {
    const source = bufferSource(data, 64);
    const runs: [number, number][] = [
      [1, 2],
      [5, 5],
      [8, 9],
    ];
    const blocks = await collect(readBlocks(source, plan, runs, new AbortController().signal));
    expect(source.opens).toEqual([100, 500, 800]);
    expect(blocks.map((b) => b.index)).toEqual([1, 2, 5, 8, 9]);
    for (const block of blocks) expect(block.data).toEqual(data.subarray(block.index * 100, block.index * 100 + 100));
    // Each run's stream is closed when the run is done, not read to the end of the file.
    expect(source.streams.every((s) => s.destroyed)).toBe(true);
  });

  it('gives the last block its shorter length', async () => {
    const odd = randomBytes(250);
    const blocks = await collect(readBlocks(bufferSource(odd), planBlocks(250, 100), [[0, 2]], new AbortController().signal));
    expect(blocks.map((b) => b.data.length)).toEqual([100, 100, 50]);
  });

  it('closes the stream when the consumer stops early', async () => {
    const source = bufferSource(data);
    const blocks = readBlocks(source, plan, [[0, 9]], new AbortController().signal);
    await blocks.next();
    await blocks.return(undefined);
    expect(source.streams[0]!.destroyed).toBe(true);
  });

  it('stops when the signal is aborted: the stream is destroyed and no further run is opened', async () => {
    const controller = new AbortController();
    // A source that never produces: only the abort can end the read.
    const stuck: UploadSource & { stream?: Readable } = {
      size: 1000,
      description: 'stuck',
      async open() {
        stuck.stream = new Readable({ read() {} });
        return stuck.stream;
      },
    };
    const blocks = readBlocks(stuck, plan, [[0, 9]], controller.signal);
    const pending = blocks.next();
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toBeDefined();
    expect(stuck.stream!.destroyed).toBe(true);
    const aborted = new AbortController();
    aborted.abort();
    await expect(readBlocks(stuck, plan, [[0, 9]], aborted.signal).next()).rejects.toBeDefined();
  });
});
