import { FleetError, errorForHttpStatus, parseRetryAfter, type ErrorCode } from '@upload-fleet/core';
import { classifyFailure, errorCodesIn } from '../transport-errors.js';
import { PROVIDERS, type S3Provider } from './providers.js';
import { CHECKSUM_MISMATCH } from './checksum.js';

/**
 * What an S3 failure means, in the shared taxonomy: the one place this adapter maps the
 * SDK's errors. S3 names its errors (`Code` in the XML answer, which the SDK puts into
 * `error.name`; https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), so
 * the name decides first, the HTTP status (`$metadata.httpStatusCode`) only for names
 * this table does not know, and Node's error codes for failures without an answer.
 *
 * Messages name the bucket, the key and the host, never a credential; S3's own message
 * is added only for codes the table does not know, to say what S3 objected to.
 */

/** What the messages name. */
export interface S3Where {
  bucket: string;
  key: string;
  /** Host (and port) of the endpoint, as the user gave it or s3.amazonaws.com. */
  host: string;
  /** True when the fleet's own credentials sign (aws_use_policy): their problems are the operator's. */
  usePolicy: boolean;
  /** The destination's `provider`; absent: Amazon S3. */
  provider?: S3Provider;
}

/**
 * SlowDown is S3 asking for fewer requests per second on a key prefix while it scales
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html).
 * The SDK has already retried with backoff when it reaches us. It is throttling, not a
 * failure of this upload, so it is rate-limited: the job waits without using up an
 * attempt. The wait is short because S3 scales within seconds to minutes, and the
 * multipart upload resumes where it stopped.
 */
export const SLOW_DOWN_RETRY_AFTER_MS = 10_000;

interface Rule {
  code: ErrorCode;
  message(where: S3Where, error: S3ErrorShape): string;
  retryAfterMs?: number;
}

const the = (where: S3Where) => `bucket "${where.bucket}" at ${where.host}`;

const permissions = 's3:PutObject, s3:PutObjectAcl, s3:AbortMultipartUpload and s3:ListMultipartUploadParts';

const accessDenied: Rule = {
  code: 'UF_PERMISSION_DENIED',
  message: (where) =>
    where.usePolicy
      ? `Access denied to ${the(where)}: with aws_use_policy the bucket policy must allow the fleet ${permissions} on the key "${where.key}"`
      : `Access denied to ${the(where)}: the access key needs ${permissions} on the key "${where.key}" (check IAM and the bucket policy)`,
};

const wrongRegion: Rule = {
  code: 'UF_DESTINATION_REJECTED',
  message: (where, error) => {
    const region = bucketRegionOf(error);
    const inAnother = `The ${the(where)} is in another region${region ? ` (${region})` : ''}`;
    // A named provider's endpoint follows its region parameter, not s3host.
    if (where.provider !== undefined && where.provider !== 'aws') return `${inAnother}: set region to the bucket's ${PROVIDERS[where.provider].label} region`;
    return `${inAnother}: set s3host to s3.${region ?? '<region>'}.amazonaws.com`;
  },
};

const slowDown: Rule = {
  code: 'UF_RATE_LIMITED',
  retryAfterMs: SLOW_DOWN_RETRY_AFTER_MS,
  message: (where) => `S3 asked to slow down (SlowDown) for ${the(where)}`,
};

const unsupported: Rule = {
  code: 'UF_DESTINATION_REJECTED',
  message: (where, error) => `The S3 endpoint ${where.host} does not support a request this upload needs (${error.name}): single PUT, and for multipart uploads CreateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload and AbortMultipartUpload`,
};

/** By S3 error code. */
const RULES: Record<string, Rule> = {
  NoSuchBucket: {
    code: 'UF_DESTINATION_NOT_FOUND',
    message: (where) => `The ${the(where)} does not exist: check the bucket name, and s3host for buckets outside us-east-1`,
  },
  AccessDenied: accessDenied,
  AllAccessDisabled: accessDenied,
  InvalidAccessKeyId: {
    code: 'UF_CREDENTIALS_INVALID',
    message: (where) => `${where.host} does not know the aws_access_key_id (InvalidAccessKeyId): check the key, and that s3host is the provider it belongs to`,
  },
  SignatureDoesNotMatch: {
    code: 'UF_CREDENTIALS_INVALID',
    message: (where) => `${where.host} rejected the request signature (SignatureDoesNotMatch): the aws_secret_access_key does not belong to the aws_access_key_id`,
  },
  EntityTooLarge: {
    code: 'UF_FILE_TOO_LARGE',
    message: (where) => `The ${the(where)} refused the file as too large (EntityTooLarge); S3 takes objects of up to 5 TiB`,
  },
  EntityTooSmall: {
    code: 'UF_DESTINATION_REJECTED',
    message: (where) => `${where.host} refused a part as too small (EntityTooSmall): the endpoint needs larger multipart parts than S3's 5 MiB`,
  },
  InvalidBucketName: {
    code: 'UF_DESTINATION_REJECTED',
    message: (where) => `"${where.bucket}" is not a valid bucket name: use 3 to 63 lower-case letters, digits, dots and hyphens`,
  },
  PermanentRedirect: wrongRegion,
  AuthorizationHeaderMalformed: wrongRegion,
  IllegalLocationConstraintException: wrongRegion,
  AccessControlListNotSupported: {
    code: 'UF_DESTINATION_REJECTED',
    message: (where) =>
      `The ${the(where)} has ACLs disabled (Object Ownership "bucket owner enforced"), so the acl cannot be applied: leave acl out or set acl to "bucket-default", or enable ACLs on the bucket (Object Ownership "bucket owner preferred")`,
  },
  InvalidStorageClass: {
    code: 'UF_DESTINATION_REJECTED',
    message: (where) => `${where.host} does not offer the requested storage class: choose another storage_class, or set reduced_redundancy to false`,
  },
  SlowDown: slowDown,
  TooManyRequests: { ...slowDown, message: (where) => `${where.host} answered TooManyRequests for ${the(where)}` },
  RequestTimeTooSkewed: {
    code: 'UF_CONFIGURATION',
    message: () => "The worker's clock differs from S3's by more than 15 minutes (RequestTimeTooSkewed): synchronize the worker's clock (NTP)",
  },
  RequestTimeout: {
    code: 'UF_TIMEOUT',
    message: (where) => `${where.host} closed the request because the data did not arrive in time (RequestTimeout)`,
  },
  InternalError: {
    code: 'UF_DESTINATION_UNAVAILABLE',
    message: (where) => `${where.host} had an internal error (InternalError)`,
  },
  ServiceUnavailable: {
    code: 'UF_DESTINATION_UNAVAILABLE',
    message: (where) => `${where.host} is unavailable (ServiceUnavailable)`,
  },
  // The bytes arrived altered (Content-MD5 mismatch): the network's fault, so try again.
  BadDigest: {
    code: 'UF_NETWORK',
    message: (where) => `${where.host} received a body whose bytes did not match their Content-MD5 (BadDigest: checksum mismatch)`,
  },
  // The adapter's own check of S3's ETag against the MD5 sent (checksum.ts): its message says which.
  [CHECKSUM_MISMATCH]: {
    code: 'UF_NETWORK',
    message: (_where, error) => error.message ?? 'checksum mismatch',
  },
  KMS_AccessDenied: {
    code: 'UF_PERMISSION_DENIED',
    message: (where) => `The KMS key of sse_kms_key_id refused the upload to ${the(where)} (KMS_AccessDenied): allow the credentials kms:GenerateDataKey on it`,
  },
  // The multipart upload is gone (a lifecycle rule or another worker ended it); the next
  // attempt starts a new one.
  NoSuchUpload: {
    code: 'UF_DESTINATION_UNAVAILABLE',
    message: (where) => `The multipart upload to ${the(where)} no longer exists (NoSuchUpload); the next attempt starts it over`,
  },
  // A part changed since it was listed (another worker re-sent it); the next attempt lists
  // the parts again and completes with their current ETags.
  InvalidPart: {
    code: 'UF_DESTINATION_UNAVAILABLE',
    message: (where) => `${where.host} did not find a listed part of the multipart upload (InvalidPart)`,
  },
  NotImplemented: unsupported,
  MethodNotAllowed: unsupported,
};

/** Where the policy credentials are the fleet's, credential errors are the operator's to fix. */
const FLEET_CREDENTIAL_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'CredentialsProviderError']);

/** The fields of an SDK error (S3ServiceException) or a Node error that classification reads. */
interface S3ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
  cause?: unknown;
}

/**
 * Turns anything an S3 upload threw into a FleetError. `signal` is the upload's own abort
 * signal: once it fired, whatever broke is the abort's doing.
 */
export function classifyS3Error(raw: unknown, where: S3Where, signal?: AbortSignal): FleetError {
  return classifyFailure(raw, {
    destination: 's3',
    where: where.host,
    ...(signal ? { signal } : {}),
    abortNote: '; the multipart upload is kept for the resume',
    platform: (error) => s3Failure(error, where),
  });
}

/** What S3 (or the SDK) said: its error names, the status of an answer, Node's refusal of a header. */
function s3Failure(raw: unknown, where: S3Where): FleetError | undefined {
  const options = { destination: 's3', cause: raw };
  const error = (typeof raw === 'object' && raw !== null ? raw : { message: String(raw) }) as S3ErrorShape;
  const name = error.name ?? '';
  const status = error.$metadata?.httpStatusCode;

  if (where.usePolicy && FLEET_CREDENTIAL_CODES.has(name)) {
    return new FleetError(
      'UF_CONFIGURATION',
      name === 'CredentialsProviderError'
        ? "aws_use_policy uploads with the fleet's own AWS credentials, and none were found (environment, web identity, instance profile)"
        : `The fleet's own AWS credentials were refused by ${where.host} (${name})`,
      options,
    );
  }

  const rule = RULES[name];
  if (rule) {
    const retryAfterMs = rule.retryAfterMs === undefined ? undefined : (retryAfterOf(error) ?? rule.retryAfterMs);
    return new FleetError(rule.code, rule.message(where, error), { ...options, ...(status ? { status } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }

  if (status !== undefined && status >= 300) {
    const retryAfterMs = retryAfterOf(error);
    const detail = name && name !== 'Error' && name !== 'Unknown' ? ` (${name}${error.message && error.message !== name ? `: ${error.message.slice(0, 200)}` : ''})` : '';
    return errorForHttpStatus(status, `S3 at ${where.host}${detail}`, { ...options, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }

  const code = errorCodesIn(raw)[0];
  if (code === 'ERR_INVALID_CHAR' || code === 'ERR_INVALID_HTTP_TOKEN') {
    // Node refuses header values outside Latin-1 and names that are not tokens; they come
    // from metadata, contentdisposition and cachecontrol.
    return new FleetError(
      'UF_INVALID_REQUEST',
      'metadata names and values, contentdisposition and cachecontrol must be plain header text (ASCII): encode other characters (RFC 2047 or RFC 5987)',
      options,
    );
  }
  return undefined;
}

/** The S3 error name (`Code`) of an SDK error, for decisions the adapter makes itself. */
export function s3ErrorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as S3ErrorShape).name : undefined;
}

function headerOf(error: S3ErrorShape, name: string): string | undefined {
  const headers = error.$response?.headers;
  if (!headers) return undefined;
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function retryAfterOf(error: S3ErrorShape): number | undefined {
  return parseRetryAfter(headerOf(error, 'retry-after'));
}

function bucketRegionOf(error: S3ErrorShape): string | undefined {
  const region = headerOf(error, 'x-amz-bucket-region') ?? (error as { Region?: unknown }).Region;
  return typeof region === 'string' && /^[a-z0-9-]+$/.test(region) ? region : undefined;
}
