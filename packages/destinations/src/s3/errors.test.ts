import { NoSuchBucket, NoSuchUpload, S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { FleetError, type ErrorCategory, type ErrorCode } from '@upload-fleet/core';
import { classifyS3Error, SLOW_DOWN_RETRY_AFTER_MS, type S3Where } from './errors.js';

/**
 * The classifier against errors shaped as the SDK throws them: S3ServiceException (and
 * its named subclasses) with S3's code as `name` and the status in `$metadata`, Node
 * errors with a `code` for failures without an answer. s3rver cannot produce most of
 * these (it accepts any secret and never throttles), so they are built here.
 */

const where: S3Where = { bucket: 'my-videos', key: 'renders/welcome.mp4', host: 's3.amazonaws.com', usePolicy: false };
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

function s3Error(name: string, status: number, message = `S3 says ${name}`, headers?: Record<string, string>): S3ServiceException {
  const error = new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message });
  if (headers) Object.defineProperty(error, '$response', { value: { statusCode: status, headers }, enumerable: false });
  return error;
}

function nodeError(code: string, message = `connect ${code} 203.0.113.7:443`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

interface Row {
  name: string;
  error: unknown;
  code: ErrorCode;
  category: ErrorCategory;
  usePolicy?: boolean;
  retryAfterMs?: number;
  /** Words the message must contain: it says what to fix. */
  says?: string[];
}

const rows: Row[] = [
  { name: 'NoSuchBucket (SDK class)', error: new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: { httpStatusCode: 404 } }), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent', says: ['"my-videos"', 'does not exist', 's3host'] },
  { name: 'AccessDenied', error: s3Error('AccessDenied', 403), code: 'UF_PERMISSION_DENIED', category: 'permanent', says: ['s3:PutObject', 'renders/welcome.mp4'] },
  { name: 'AccessDenied with aws_use_policy', error: s3Error('AccessDenied', 403), usePolicy: true, code: 'UF_PERMISSION_DENIED', category: 'permanent', says: ['bucket policy', 's3:ListMultipartUploadParts'] },
  { name: 'AllAccessDisabled', error: s3Error('AllAccessDisabled', 403), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
  { name: 'InvalidAccessKeyId', error: s3Error('InvalidAccessKeyId', 403), code: 'UF_CREDENTIALS_INVALID', category: 'permanent', says: ['aws_access_key_id'] },
  { name: 'SignatureDoesNotMatch', error: s3Error('SignatureDoesNotMatch', 403), code: 'UF_CREDENTIALS_INVALID', category: 'permanent', says: ['aws_secret_access_key'] },
  { name: 'InvalidAccessKeyId of the fleet\'s own credentials', error: s3Error('InvalidAccessKeyId', 403), usePolicy: true, code: 'UF_CONFIGURATION', category: 'permanent', says: ['fleet'] },
  { name: 'no fleet credentials for aws_use_policy', error: Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), usePolicy: true, code: 'UF_CONFIGURATION', category: 'permanent', says: ['aws_use_policy'] },
  { name: 'EntityTooLarge', error: s3Error('EntityTooLarge', 400), code: 'UF_FILE_TOO_LARGE', category: 'permanent', says: ['5 TiB'] },
  { name: 'EntityTooSmall', error: s3Error('EntityTooSmall', 400), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  { name: 'InvalidBucketName', error: s3Error('InvalidBucketName', 400), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['"my-videos"', 'lower-case'] },
  { name: 'PermanentRedirect naming the region', error: s3Error('PermanentRedirect', 301, 'The bucket you are attempting to access must be addressed using the specified endpoint.', { 'x-amz-bucket-region': 'eu-central-1' }), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['s3.eu-central-1.amazonaws.com'] },
  { name: 'AuthorizationHeaderMalformed (wrong region)', error: s3Error('AuthorizationHeaderMalformed', 400), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['s3host'] },
  { name: 'AccessControlListNotSupported', error: s3Error('AccessControlListNotSupported', 400), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['ACLs'] },
  { name: 'InvalidStorageClass', error: s3Error('InvalidStorageClass', 400), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['reduced_redundancy'] },
  { name: 'another 4xx keeps S3\'s words', error: s3Error('InvalidArgument', 400, 'Metadata cannot be larger than 2048 bytes'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['InvalidArgument', '2048 bytes'] },
  { name: 'an unnamed 403', error: s3Error('Unknown', 403, 'Forbidden'), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
  { name: 'NotImplemented (an S3-compatible server without multipart)', error: s3Error('NotImplemented', 501), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['ListParts'] },
  { name: 'RequestTimeTooSkewed', error: s3Error('RequestTimeTooSkewed', 403), code: 'UF_CONFIGURATION', category: 'permanent', says: ['clock'] },
  { name: 'SlowDown', error: s3Error('SlowDown', 503), code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: SLOW_DOWN_RETRY_AFTER_MS },
  { name: 'SlowDown with Retry-After', error: s3Error('SlowDown', 503, 'Please reduce your request rate.', { 'retry-after': '30' }), code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: 30_000 },
  { name: 'TooManyRequests', error: s3Error('TooManyRequests', 429), code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: SLOW_DOWN_RETRY_AFTER_MS },
  { name: 'an unnamed 429', error: s3Error('Unknown', 429), code: 'UF_RATE_LIMITED', category: 'rate_limited' },
  { name: 'InternalError (500)', error: s3Error('InternalError', 500), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
  { name: 'ServiceUnavailable (503)', error: s3Error('ServiceUnavailable', 503), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
  { name: 'an unnamed 502', error: s3Error('Unknown', 502), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
  { name: 'RequestTimeout (a 400 that is transient)', error: s3Error('RequestTimeout', 400), code: 'UF_TIMEOUT', category: 'transient' },
  { name: 'BadDigest', error: s3Error('BadDigest', 400), code: 'UF_NETWORK', category: 'transient' },
  { name: 'NoSuchUpload (SDK class)', error: new NoSuchUpload({ message: 'The specified upload does not exist', $metadata: { httpStatusCode: 404 } }), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient', says: ['starts it over'] },
  { name: 'InvalidPart', error: s3Error('InvalidPart', 400), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
  { name: 'ECONNRESET', error: nodeError('ECONNRESET'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'EPIPE', error: nodeError('EPIPE'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'ECONNREFUSED', error: nodeError('ECONNREFUSED'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'ECONNREFUSED of every address (happy eyeballs)', error: Object.assign(new AggregateError([nodeError('ECONNREFUSED'), nodeError('ECONNREFUSED')]), { code: 'ECONNREFUSED' }), code: 'UF_NETWORK', category: 'transient' },
  { name: 'ENOTFOUND', error: nodeError('ENOTFOUND', 'getaddrinfo ENOTFOUND s3.example.com'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'ETIMEDOUT', error: nodeError('ETIMEDOUT'), code: 'UF_TIMEOUT', category: 'transient' },
  { name: 'the handler\'s idle timeout', error: Object.assign(new Error('the request socket timed out after 120000 ms of inactivity'), { name: 'TimeoutError' }), code: 'UF_TIMEOUT', category: 'transient' },
  { name: 'a self-signed certificate', error: nodeError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  { name: 'metadata that is no header text', error: Object.assign(new TypeError('Invalid character in header content ["x-amz-meta-note"]'), { code: 'ERR_INVALID_CHAR' }), code: 'UF_INVALID_REQUEST', category: 'permanent', says: ['metadata'] },
  { name: 'a FleetError from underneath (the network guard)', error: new FleetError('UF_BLOCKED_ADDRESS', 'Refused to connect to host "10.0.0.1"'), code: 'UF_BLOCKED_ADDRESS', category: 'permanent' },
  { name: 'a FleetError wrapped by the SDK', error: Object.assign(new Error('socket error'), { cause: new FleetError('UF_SOURCE_UNAVAILABLE', 'the source server failed') }), code: 'UF_SOURCE_UNAVAILABLE', category: 'transient' },
  { name: 'anything else', error: new Error('something odd'), code: 'UF_UNKNOWN', category: 'transient' },
  { name: 'not even an Error', error: 'a string', code: 'UF_UNKNOWN', category: 'transient' },
];

describe('classifyS3Error', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const error = classifyS3Error(row.error, { ...where, usePolicy: row.usePolicy ?? false });
    expect(error).toBeInstanceOf(FleetError);
    expect({ code: error.code, category: error.category }).toEqual({ code: row.code, category: row.category });
    if (row.retryAfterMs !== undefined) expect(error.retryAfterMs).toBe(row.retryAfterMs);
    for (const words of row.says ?? []) expect(error.message).toContain(words);
    expect(error.message).not.toContain(SECRET);
  });

  it('says UF_ABORTED for anything once the upload\'s signal fired', () => {
    const controller = new AbortController();
    controller.abort('shutdown');
    const error = classifyS3Error(Object.assign(new Error('shutdown'), { name: 'AbortError' }), where, controller.signal);
    expect(error.code).toBe('UF_ABORTED');
    expect(classifyS3Error(s3Error('AccessDenied', 403), where, controller.signal).code).toBe('UF_ABORTED');
  });

  it('tells a named provider to fix its region, not s3host, when the region is wrong', () => {
    const error = classifyS3Error(s3Error('AuthorizationHeaderMalformed', 400), { ...where, host: 's3.us-west-004.backblazeb2.com', provider: 'b2' });
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error.message).toContain('set region to the bucket\'s Backblaze B2 region');
    expect(error.message).not.toContain('s3host');
  });

  it('keeps B2\'s words when it refuses a header (permanent: a retry sends the same header)', () => {
    const error = classifyS3Error(s3Error('InvalidArgument', 400, "Unsupported header 'x-amz-checksum-crc32' received for this API call."), { ...where, host: 's3.us-west-004.backblazeb2.com', provider: 'b2' });
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error.message).toContain("Unsupported header 'x-amz-checksum-crc32'");
  });

  it('keeps the status and the cause for operators', () => {
    const cause = s3Error('NoSuchBucket', 404);
    const error = classifyS3Error(cause, where);
    expect(error.status).toBe(404);
    expect(error.cause).toBe(cause);
    expect(error.destination).toBe('s3');
  });

  it('does not repeat S3\'s own message for codes it knows (it may quote the request)', () => {
    const error = classifyS3Error(s3Error('SignatureDoesNotMatch', 403, `The request signature we calculated does not match. StringToSign: AWS4-HMAC-SHA256 ${SECRET}`), where);
    expect(error.message).not.toContain('StringToSign');
  });
});
