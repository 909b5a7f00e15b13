/**
 * How a file is cut into multipart parts. S3's limits
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html): every part but the
 * last is at least 5 MiB and at most 5 GiB, an upload has at most 10,000 parts, and an
 * object is at most 5 TiB.
 */

const MiB = 1024 * 1024;

export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
export const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB;

/**
 * Parts are held in memory while they are sent (so the SDK can retry one, and so each
 * carries a Content-MD5); this caps the memory of one upload when parts are large. With
 * 4 parts in flight it only bites above 128 MiB parts, that is for files over ~1.2 TiB.
 */
export const MAX_BUFFERED_BYTES = 512 * MiB;

/**
 * The part size for a file: the smallest whole number of MiB that is at least 5 MiB and
 * fits the file in 10,000 parts. Small parts keep memory low and make a resume resend
 * little; whole MiB keep the numbers readable in logs. 1 TB gives 96 MiB parts, 5 TiB
 * gives 525 MiB parts.
 */
export function choosePartSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`not a file size: ${size}`);
  if (size > MAX_OBJECT_SIZE) throw new RangeError(`${size} bytes is more than S3's largest object (5 TiB)`);
  const smallestFitting = Math.ceil(size / MAX_PARTS);
  return Math.max(MIN_PART_SIZE, Math.ceil(smallestFitting / MiB) * MiB);
}

/** Number of parts of a multipart upload (a 0-byte file never gets one: it is a single PUT). */
export function partCount(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

/** Byte range of part `partNumber` (1-based), as S3 numbers parts. */
export function partRange(partNumber: number, size: number, partSize: number): { offset: number; length: number } {
  const offset = (partNumber - 1) * partSize;
  return { offset, length: Math.min(partSize, size - offset) };
}

/**
 * Parts sent at once: the configured number, fewer when that many would hold more than
 * MAX_BUFFERED_BYTES in memory, and never fewer than one.
 */
export function partsInFlightFor(configured: number, partSize: number): number {
  return Math.max(1, Math.min(configured, Math.floor(MAX_BUFFERED_BYTES / partSize)));
}
