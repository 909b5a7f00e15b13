import type { Readable } from 'node:stream';
import { FleetError } from '@upload-fleet/core';
import type { UploadSource } from '../adapter.js';
import type { IndexRuns } from './block-set.js';
import type { BlockPlan } from './block-size.js';

export interface Block {
  index: number;
  data: Buffer;
}

/**
 * The blocks of `runs`, in order, read from the source: one stream per run of consecutive
 * blocks, opened at the run's offset, so a resume reads only what is missing. Each block
 * is read into its own buffer only when the consumer asks for it: the file is never held
 * whole, and memory stays at the blocks being staged plus the one being read.
 *
 * An abort of `signal` destroys the stream being read, so a slow source cannot hold up a
 * shutdown. Ending the iteration early (return()) closes the stream too.
 */
export async function* readBlocks(source: UploadSource, plan: BlockPlan, runs: IndexRuns, signal: AbortSignal): AsyncGenerator<Block> {
  for (const [first, last] of runs) {
    signal.throwIfAborted();
    const stream = await source.open(plan.offsetOf(first));
    const stop = () => stream.destroy();
    signal.addEventListener('abort', stop, { once: true });
    try {
      const reader = new ExactReader(stream, plan.offsetOf(first), source);
      for (let index = first; index <= last; index += 1) {
        yield { index, data: await reader.read(plan.lengthOf(index)) };
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stream.destroy();
    }
  }
}

/** Reads exactly the bytes asked for from a stream, carrying over what a chunk has beyond a block's end. */
export class ExactReader {
  private readonly chunks: AsyncIterator<Buffer | Uint8Array>;
  private rest: Buffer = Buffer.alloc(0);
  private position: number;

  constructor(
    stream: Readable,
    startOffset: number,
    private readonly source: Pick<UploadSource, 'size' | 'description'>,
  ) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | Uint8Array>;
    this.position = startOffset;
  }

  async read(length: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      if (this.rest.length === 0) {
        const next = await this.chunks.next();
        if (next.done) throw this.endedEarly();
        this.rest = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        continue;
      }
      const n = Math.min(length - filled, this.rest.length);
      this.rest.copy(out, filled, 0, n);
      this.rest = this.rest.subarray(n);
      filled += n;
      this.position += n;
    }
    return out;
  }

  private endedEarly(): FleetError {
    return new FleetError(
      'UF_SOURCE_CHANGED',
      `The source "${this.source.description}" ended after ${this.position} bytes, but had ${this.source.size} when the upload started`,
      { destination: 'azureblob' },
    );
  }
}
