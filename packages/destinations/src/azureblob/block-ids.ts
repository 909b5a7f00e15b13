import { randomBytes } from 'node:crypto';

/**
 * Block ids. Azure requires every block id of one blob to have the same length (before
 * base64, at most 64 bytes), so an id is the base64 of a fixed-length text:
 *
 *   "uf" + upload id (12 hex digits) + "-" + block index (6 digits, zero-padded)
 *
 * 21 bytes, so 28 base64 characters without padding. The zero-padded index makes the
 * decoded ids sort in block order; the commit lists them by index all the same.
 *
 * The upload id is random per upload and kept in the checkpoint. Uncommitted blocks are
 * per blob, not per uploader: without it, an abandoned upload of another file to the same
 * name (a previous delivery, a parallel one) would leave blocks with the very same ids,
 * and a resume that trusts the server's block list would commit that other file's bytes.
 */

const PREFIX = 'uf';
const UPLOAD_ID_LENGTH = 12;
const INDEX_DIGITS = 6;
const PATTERN = new RegExp(`^${PREFIX}([0-9a-f]{${UPLOAD_ID_LENGTH}})-(\\d{${INDEX_DIGITS}})$`);

export function newUploadId(): string {
  return randomBytes(UPLOAD_ID_LENGTH / 2).toString('hex');
}

export function isUploadId(value: unknown): value is string {
  return typeof value === 'string' && new RegExp(`^[0-9a-f]{${UPLOAD_ID_LENGTH}}$`).test(value);
}

export function blockId(uploadId: string, index: number): string {
  if (!isUploadId(uploadId)) throw new RangeError(`not an upload id: ${uploadId}`);
  if (!Number.isInteger(index) || index < 0 || index >= 10 ** INDEX_DIGITS) throw new RangeError(`block index out of range: ${index}`);
  return Buffer.from(`${PREFIX}${uploadId}-${String(index).padStart(INDEX_DIGITS, '0')}`, 'latin1').toString('base64');
}

/** The upload id and index in one of our block ids; undefined for any other id. */
export function parseBlockId(id: string): { uploadId: string; index: number } | undefined {
  const match = PATTERN.exec(Buffer.from(id, 'base64').toString('latin1'));
  if (!match || blockId(match[1]!, Number(match[2])) !== id) return undefined;
  return { uploadId: match[1]!, index: Number(match[2]) };
}
