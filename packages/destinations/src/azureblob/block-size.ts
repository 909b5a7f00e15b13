import { FleetError } from '@upload-fleet/core';

/**
 * How a file is cut into blocks. Azure commits at most 50,000 blocks per blob and takes at
 * most 4000 MiB per block (service version 2019-12-12 and later):
 * https://learn.microsoft.com/rest/api/storageservices/understanding-block-blobs--append-blobs--and-page-blobs
 */

export const MiB = 1024 * 1024;
export const MAX_BLOCKS = 50_000;
export const MAX_BLOCK_SIZE = 4000 * MiB;
/** Below this, more blocks only add requests; it is also what the Azure SDKs start from. */
export const MIN_BLOCK_SIZE = 4 * MiB;
/** The largest file that fits: 50,000 blocks of 4000 MiB (about 190.7 TiB). */
export const MAX_BLOB_SIZE = MAX_BLOCKS * MAX_BLOCK_SIZE;

/**
 * The block size for a file of `size` bytes: 4 MiB, or the smallest whole number of MiB
 * that keeps the file within 50,000 blocks (a 1 TB file gets 20 MiB blocks). Whole MiB keep
 * block boundaries easy to read in logs; memory use is blocksInFlight + 1 blocks.
 */
export function chooseBlockSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`A file size must be a whole number of bytes, not ${size}`);
  if (size > MAX_BLOB_SIZE) {
    throw new FleetError('UF_FILE_TOO_LARGE', `The file has ${size} bytes; an Azure block blob holds at most ${MAX_BLOB_SIZE} (50,000 blocks of 4000 MiB)`, {
      destination: 'azureblob',
    });
  }
  const wholeMiB = Math.ceil(Math.ceil(size / MAX_BLOCKS) / MiB) * MiB;
  return Math.max(MIN_BLOCK_SIZE, wholeMiB);
}

/** The blocks of a file: block i covers [i * blockSize, min((i + 1) * blockSize, size)). */
export interface BlockPlan {
  readonly size: number;
  readonly blockSize: number;
  readonly count: number;
  offsetOf(index: number): number;
  lengthOf(index: number): number;
}

export function planBlocks(size: number, blockSize: number): BlockPlan {
  const count = Math.ceil(size / blockSize);
  return {
    size,
    blockSize,
    count,
    offsetOf: (index) => index * blockSize,
    lengthOf: (index) => Math.min(blockSize, size - index * blockSize),
  };
}
