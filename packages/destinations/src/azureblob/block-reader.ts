import type { UploadSource } from '../adapter.js';
import { SourceRangeReader } from '../source-ranges.js';
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
  // Consecutive blocks share one stream; the first block of each run reopens the source
  // at its offset (SourceRangeReader does both).
  const reader = new SourceRangeReader(source, 'azureblob', signal);
  try {
    for (const [first, last] of runs) {
      for (let index = first; index <= last; index += 1) {
        signal.throwIfAborted();
        yield { index, data: await reader.read(plan.offsetOf(index), plan.lengthOf(index)) };
      }
    }
  } finally {
    reader.close();
  }
}
