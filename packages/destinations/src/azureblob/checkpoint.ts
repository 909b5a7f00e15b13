import { z } from 'zod';
import { isUploadId } from './block-ids.js';
import type { IndexRuns } from './block-set.js';
import { MAX_BLOCKS, MAX_BLOCK_SIZE } from './block-size.js';

/**
 * What an Azure upload keeps between attempts (saved after every staged block). Ids are
 * not listed one by one: they follow from `uploadId` and the index (see block-ids.ts).
 *
 * `size` and `blockSize` pin the cut of the file: a resume must stage the missing blocks
 * at the same offsets, even if a later release chooses block sizes differently. `blob`
 * names the target, so a checkpoint never continues on another blob.
 *
 * The staged runs are what this upload saw succeed; on resume the service's own list of
 * uncommitted blocks decides (a block staged right before a crash is on the server but
 * not in the checkpoint; uncommitted blocks expire after a week, or vanish when someone
 * else commits the blob).
 */
export interface AzureBlobCheckpoint {
  version: 1;
  blob: string;
  size: number;
  blockSize: number;
  uploadId: string;
  staged: IndexRuns;
}

const count = z.number().int().nonnegative();
const checkpointSchema = z.object({
  version: z.literal(1),
  blob: z.string(),
  size: count,
  blockSize: z.number().int().positive(),
  uploadId: z.string().refine(isUploadId),
  staged: z.array(z.tuple([count, count])),
});

/**
 * The checkpoint of an earlier attempt of this very upload, or undefined when there is
 * none or it belongs to something else (another blob, a source of another size, an older
 * format): then the upload starts afresh under a new upload id.
 */
export function usableCheckpoint(saved: unknown, blob: string, size: number): AzureBlobCheckpoint | undefined {
  const parsed = checkpointSchema.safeParse(saved);
  if (!parsed.success) return undefined;
  const checkpoint = parsed.data as AzureBlobCheckpoint;
  if (checkpoint.blob !== blob || checkpoint.size !== size) return undefined;
  // A block size Azure would refuse cannot have come from this adapter.
  if (checkpoint.blockSize > MAX_BLOCK_SIZE || Math.ceil(size / checkpoint.blockSize) > MAX_BLOCKS) return undefined;
  return checkpoint;
}
