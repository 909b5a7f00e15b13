import type { S3Endpoint } from './endpoint.js';

/**
 * The public URL of an uploaded object, in the spec's form:
 * `http://my-videos.s3.amazonaws.com/renders/welcome.mp4`, https when `secure` is set,
 * the `s3host` in place of s3.amazonaws.com when one is given, and the bucket in the path
 * (`http://host/bucket/key`) when requests are path-style.
 *
 * The URL is built, not taken from S3's answer: a single PUT answers no Location, and a
 * multipart Location differs between S3 and S3-compatible servers.
 */
export function objectUrl(endpoint: Pick<S3Endpoint, 'publicHost' | 'pathStyle'>, bucket: string, key: string, secure: boolean): string {
  const scheme = secure ? 'https' : 'http';
  const path = encodeKey(key);
  if (endpoint.pathStyle || !isVirtualHostable(bucket, secure)) {
    return `${scheme}://${endpoint.publicHost}/${encodeURIComponent(bucket)}/${path}`;
  }
  return `${scheme}://${bucket}.${endpoint.publicHost}/${path}`;
}

/**
 * Percent-encodes a key for a URL path: each `/`-separated segment on its own, so `/`
 * stays a separator while spaces become %20 and other characters their UTF-8 bytes
 * (`Köln` -> `K%C3%B6ln`). encodeURIComponent leaves only A-Z a-z 0-9 - _ . ! ~ * ' ( )
 * as they are, all valid in a path (RFC 3986).
 */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/**
 * Whether `bucket.host` is a valid host name for this bucket. Names with capitals or
 * underscores (allowed in old us-east-1 buckets) are not; names with dots are, but not
 * over https, where `a.b.s3.amazonaws.com` fails the `*.s3.amazonaws.com` certificate.
 * The SDK makes the same choice for requests, so the URL matches where the file went.
 */
export function isVirtualHostable(bucket: string, secure: boolean): boolean {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) return false;
  if (/\.\.|\.-|-\./.test(bucket) || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) return false;
  return !(secure && bucket.includes('.'));
}
