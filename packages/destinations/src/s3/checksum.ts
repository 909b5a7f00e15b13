import { createHash } from 'node:crypto';

/**
 * S3's own integrity mechanism, as this adapter uses it: MD5.
 *
 * - Every body (PutObject, each UploadPart) carries a Content-MD5; S3 refuses a body whose
 *   bytes do not match it (400 BadDigest), so a byte altered on the way is never stored.
 * - S3 answers with the ETag of what it stored, which for a single PUT or a part is the
 *   hex MD5 of the bytes it received, except under SSE-KMS (and SSE-C), where it is not an
 *   MD5 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html, "ETag"). Where
 *   it is one, the adapter compares it with the MD5 it computed: a server that skips the
 *   Content-MD5 check (s3rver does; so may S3-compatible servers) still cannot store
 *   altered bytes unnoticed. A mismatch fails with ChecksumMismatch; a part is sent once
 *   more first (it is still in memory), since the next send replaces it.
 * - A multipart object's ETag is the MD5 of the parts' binary MD5s, a dash, the part
 *   count (S3's documented form); the result reports that value, and checks it where the
 *   server answers in that form.
 *
 * Why not the SDK's flexible checksums (CRC32 by default since client-s3 3.729): their
 * aws-chunked trailers are refused by s3rver and by several S3-compatible servers, so the
 * client sends checksums only when an operation requires them (client.ts); and a
 * full-object CRC of a multipart upload needs every part in order, which a resume from
 * the parts S3 already holds does not read again. MD5 per body needs neither.
 */

export const CHECKSUM_MISMATCH = 'UploadFleetChecksumMismatch';

/** Thrown (and classified by its name in errors.ts) when S3's ETag is not the MD5 of the bytes sent. */
export class ChecksumMismatch extends Error {
  override readonly name = CHECKSUM_MISMATCH;
}

export function md5Of(body: Uint8Array): Buffer {
  return createHash('md5').update(body).digest();
}

/** Whether S3's ETag of a body is its MD5: a bare 32-digit hex value, and no SSE-KMS. */
function etagIsMd5(etag: string, sse: string | undefined): boolean {
  return /^[0-9a-f]{32}$/.test(etag) && !(sse ?? '').startsWith('aws:kms');
}

/**
 * Compares S3's ETag of one body with its MD5. Returns true when it was verified, false
 * when the ETag is no MD5 (SSE-KMS); throws ChecksumMismatch when they differ.
 */
export function checkEtag(rawEtag: string | undefined, md5: Buffer, sse: string | undefined, what: string, host: string): boolean {
  const etag = bareEtag(rawEtag);
  if (etag === undefined || !etagIsMd5(etag, sse)) return false;
  if (etag !== md5.toString('hex')) {
    throw new ChecksumMismatch(`${host} stored ${what} with ETag ${etag}, but the MD5 of the bytes sent is ${md5.toString('hex')}: the bytes changed on the way (checksum mismatch)`);
  }
  return true;
}

/** S3's multipart ETag of parts with these MD5s (in part order): hex MD5 of the concatenated binary MD5s, "-", the count. */
export function multipartEtag(partMd5s: readonly Buffer[]): string {
  return `${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}`;
}

/** An ETag without the quotes HTTP puts around it. */
export function bareEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}
