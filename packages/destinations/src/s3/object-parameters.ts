import { CANNED_ACLS, SPEC_DEFAULT_ACL, type CannedAcl } from './providers.js';

/**
 * The S3 parameters beyond the spec that shape the object and the result URL (issue
 * "What real deliveries need beyond the spec", items 1, 2): the `acl` choice
 * "bucket-default", `storage_class`, `sse` with `sse_kms_key_id`, `tags`, `session_token`,
 * `sign_urls_for` and `url_prefix`. Their submit-time rules live here, once; the schema
 * (definition.ts) reports them by field, the adapter (index.ts) sends what they say.
 *
 * No SDK here: definition.ts imports this module.
 */

/** `acl: "bucket-default"`: send no ACL, the bucket's settings decide (the only choice for buckets with ACLs disabled). */
export const BUCKET_DEFAULT_ACL = 'bucket-default';
export const S3_ACL_CHOICES = [...CANNED_ACLS, BUCKET_DEFAULT_ACL] as const;
export type S3AclChoice = (typeof S3_ACL_CHOICES)[number];

/** x-amz-storage-class values (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#AmazonS3-PutObject-request-header-StorageClass). */
export const S3_STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'GLACIER_IR',
  'DEEP_ARCHIVE',
  'REDUCED_REDUNDANCY',
] as const;
export type S3StorageClass = (typeof S3_STORAGE_CLASSES)[number];

/** x-amz-server-side-encryption: SSE-S3 or SSE-KMS. */
export const S3_SSE = ['AES256', 'aws:kms'] as const;

/** SigV4 presigned URLs live at most 7 days (X-Amz-Expires). */
export const SIGNED_URL_MAX_SECONDS = 7 * 24 * 3600;

/** S3's tag limits: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html */
const MAX_TAGS = 10;
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;

interface ObjectParameterFields {
  acl?: unknown;
  reduced_redundancy?: unknown;
  storage_class?: unknown;
  sse?: unknown;
  sse_kms_key_id?: unknown;
  tags?: unknown;
  session_token?: unknown;
  aws_access_key_id?: unknown;
  url_prefix?: unknown;
  sign_urls_for?: unknown;
}

/** What the beyond-the-spec parameters ask that cannot work, by field. Runs with other problems present, so reads defensively. */
export function objectParameterProblems(d: ObjectParameterFields): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  if (d.reduced_redundancy === true && typeof d.storage_class === 'string' && d.storage_class !== 'REDUCED_REDUNDANCY') {
    add('storage_class', `storage_class "${d.storage_class}" contradicts reduced_redundancy: true (which means REDUCED_REDUNDANCY): give one of the two`);
  }
  if (d.sse_kms_key_id !== undefined && d.sse !== 'aws:kms') {
    add('sse_kms_key_id', 'sse_kms_key_id names a KMS key for SSE-KMS: set sse to "aws:kms" too');
  }
  if (d.session_token !== undefined && d.aws_access_key_id === undefined) {
    add('session_token', 'session_token belongs to temporary credentials: give it with their aws_access_key_id and aws_secret_access_key');
  }
  if (d.sign_urls_for !== undefined && d.aws_access_key_id !== undefined) {
    // A SigV4 presigned URL names its key id (X-Amz-Credential), and with session_token the
    // token too; the fleet keeps both secret and removes them from every result, which
    // would leave a URL that does not work. The fleet's own credentials are no job secret.
    add(
      'sign_urls_for',
      'sign_urls_for needs aws_use_policy: a presigned URL carries the access key id (and session token) that signs it, which the fleet keeps secret and removes from results, so a URL signed with aws_access_key_id would arrive broken; set aws_use_policy: true instead of keys, or leave sign_urls_for out',
    );
  }
  if (typeof d.tags === 'object' && d.tags !== null) {
    const entries = Object.entries(d.tags as Record<string, unknown>);
    if (entries.length > MAX_TAGS) add('tags', `S3 takes at most ${MAX_TAGS} tags per object; ${entries.length} were given`);
    for (const [key, value] of entries) {
      if (key.length === 0 || key.length > MAX_TAG_KEY) add('tags', `tag names must have 1 to ${MAX_TAG_KEY} characters ("${key.slice(0, 40)}")`);
      if (typeof value === 'string' && value.length > MAX_TAG_VALUE) add('tags', `tag "${key.slice(0, 40)}" has a value longer than ${MAX_TAG_VALUE} characters`);
    }
  }
  if (typeof d.url_prefix === 'string' && d.url_prefix !== '' && !isUrlPrefix(d.url_prefix)) {
    add('url_prefix', 'url_prefix must be an http(s) URL without query or fragment, like https://cdn.example.com/ (the key is appended to it)');
  }
  return problems;
}

function isUrlPrefix(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && !url.search && !url.hash && !url.username && !url.password;
  } catch {
    return false;
  }
}

/** The ACL the upload asks for, and whether it may fall back to none (acl left out) when the bucket refuses ACLs. */
export interface AclRequest {
  /** The canned ACL to send; undefined: none ("bucket-default"). */
  acl: CannedAcl | undefined;
  /** True when `acl` was left out: a bucket with ACLs disabled then gets the object without one. */
  mayFallBack: boolean;
}

export function aclRequest(acl: S3AclChoice | undefined): AclRequest {
  if (acl === BUCKET_DEFAULT_ACL) return { acl: undefined, mayFallBack: false };
  return { acl: acl ?? SPEC_DEFAULT_ACL, mayFallBack: acl === undefined };
}

/** The storage class to send: storage_class, else REDUCED_REDUNDANCY for the spec's reduced_redundancy (they cannot contradict, see above). */
export function storageClassOf(d: { storage_class?: S3StorageClass | undefined; reduced_redundancy: boolean }): S3StorageClass | undefined {
  return d.storage_class ?? (d.reduced_redundancy ? 'REDUCED_REDUNDANCY' : undefined);
}

/** x-amz-tagging: the tags as a URL query string (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#AmazonS3-PutObject-request-header-Tagging). */
export function taggingOf(tags: Record<string, string> | undefined): string | undefined {
  if (tags === undefined || Object.keys(tags).length === 0) return undefined;
  // encodeURIComponent, not URLSearchParams: S3 reads "+" as a plus sign here, not a space.
  return Object.entries(tags)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
}

/** The reported URL under url_prefix: the prefix, one slash, the key percent-encoded by segment. */
export function prefixedUrl(prefix: string, encodedKey: string): string {
  return `${prefix.replace(/\/+$/, '')}/${encodedKey}`;
}
