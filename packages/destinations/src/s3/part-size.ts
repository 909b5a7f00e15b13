/**
 * How a file is cut into multipart parts. S3's limits
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html): every part but the
 * last is at least 5 MiB and at most 5 GiB, an upload has at most 10,000 parts, and an
 * object is at most 5 TiB.
 */

export const MiB = 1024 * 1024;

export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
export const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB;

/**
 * S3_PART_SIZE_MIB's default, chosen by measurement (docs/destinations/s3.md, "Why 8 MiB × 4"):
 * larger parts cost a little less CPU, but more peak memory per upload.
 */
export const DEFAULT_PART_SIZE_MIB = 8;

/**
 * Parts are held in memory while they are sent (so the SDK can retry one, and so each
 * carries a Content-MD5); this caps the memory of one upload when parts are large. With
 * 4 parts in flight it only bites above 128 MiB parts, that is for files over ~1.2 TiB.
 */
export const MAX_BUFFERED_BYTES = 512 * MiB;

/**
 * The most a crash may cost, as a share of the file: the parts in flight when a worker dies
 * are lost (S3 keeps only whole parts), so they are sent again by the next attempt.
 */
export const MAX_RESEND_SHARE = 0.1;

/**
 * The part size for a file: the operator's part size (S3_PART_SIZE_MIB), within S3's rules
 * and the resend budget, in whole MiB (readable in logs).
 *
 * - At least 5 MiB, and large enough to fit the file in 10,000 parts: a huge file gets
 *   larger parts whatever was configured (1 TB: 96 MiB, 5 TiB: 525 MiB).
 * - At most what keeps `inFlight` parts within MAX_RESEND_SHARE of the file, so a smaller
 *   file keeps its parallelism with smaller parts (down to 5 MiB) instead of sending one
 *   large part at a time, and a crash still resends at most a tenth of it: with 8 MiB × 4
 *   (the defaults), a 256 MiB file goes in 6 MiB parts, 320 MiB and more in 8 MiB parts.
 *
 * The defaults (`preferred` 5 MiB, one in flight) give the smallest part that fits.
 */
export function choosePartSize(size: number, preferred = MIN_PART_SIZE, inFlight = 1): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`not a file size: ${size}`);
  if (size > MAX_OBJECT_SIZE) throw new RangeError(`${size} bytes is more than S3's largest object (5 TiB)`);
  const smallestFitting = Math.max(MIN_PART_SIZE, Math.ceil(Math.ceil(size / MAX_PARTS) / MiB) * MiB);
  const withinResendShare = Math.floor((size * MAX_RESEND_SHARE) / Math.max(1, inFlight) / MiB) * MiB;
  return Math.max(smallestFitting, Math.min(preferred, withinResendShare, MAX_PART_SIZE));
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
 * MAX_BUFFERED_BYTES in memory or more than MAX_RESEND_SHARE of the file (parts are at
 * least 5 MiB, so a 64 MiB file sends one at a time and 4 in flight start at 200 MiB), and
 * never fewer than one. Parallel parts pay off on long files, where a resend would cost the
 * most; a small file is over in a few parts anyway (issue 13, item 3).
 */
export function partsInFlightFor(configured: number, partSize: number, size: number): number {
  const byMemory = Math.floor(MAX_BUFFERED_BYTES / partSize);
  const byResend = Math.floor((size * MAX_RESEND_SHARE) / partSize);
  return Math.max(1, Math.min(configured, byMemory, byResend));
}
