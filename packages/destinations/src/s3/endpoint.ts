import { isIP } from 'node:net';
import { FleetError } from '@upload-fleet/core';

/**
 * Where an S3 upload connects, decided from the destination's `s3host` and the operator's
 * `S3_FORCE_PATH_STYLE`.
 *
 * - No `s3host`: Amazon S3 itself. The SDK picks the endpoint; the region starts as
 *   us-east-1 and the SDK follows S3's redirect to the bucket's real region.
 * - `s3host` is a host with an optional port (`s3.eu-central-1.amazonaws.com`,
 *   `minio.example.com:9000`). It is reached over https, except loopback hosts
 *   (127.0.0.0/8, localhost, ::1), which are local test servers without TLS. A scheme
 *   written in front (`http://minio.internal:9000`) wins over that rule: it is the only
 *   way to reach a plain-http S3-compatible server elsewhere, and the network guard still
 *   decides whether that host may be reached at all.
 * - The region is read from the host where it names one (`s3.eu-central-1.amazonaws.com`,
 *   `s3-eu-west-1.amazonaws.com`, `s3.us-west-000.backblazeb2.com`), else us-east-1, which
 *   S3-compatible servers accept.
 * - Path-style requests (`host/bucket/key`) when S3_FORCE_PATH_STYLE says so; when it is
 *   unset, for hosts that are an IP address or carry a port (they cannot have a
 *   `bucket.` subdomain), virtual-hosted (`bucket.host/key`) otherwise.
 */
export interface S3Endpoint {
  /** What the SDK connects to, e.g. `https://s3.eu-central-1.amazonaws.com`; undefined for Amazon S3's default. */
  readonly url: URL | undefined;
  /** A URL of the same host for the network guard to check before anything is sent. */
  readonly checkUrl: URL;
  /** The host named in returned object URLs, with its port. */
  readonly publicHost: string;
  readonly region: string;
  readonly pathStyle: boolean;
  /** Identifies the endpoint in checkpoints: a checkpoint of another endpoint is not resumed. */
  readonly id: string;
}

export const AWS_DEFAULT_HOST = 's3.amazonaws.com';
export const DEFAULT_REGION = 'us-east-1';

export function resolveEndpoint(s3host: string | undefined, forcePathStyle: boolean | undefined): S3Endpoint {
  if (s3host === undefined) {
    return {
      url: undefined,
      checkUrl: new URL(`https://${AWS_DEFAULT_HOST}/`),
      publicHost: AWS_DEFAULT_HOST,
      region: DEFAULT_REGION,
      pathStyle: forcePathStyle ?? false,
      id: AWS_DEFAULT_HOST,
    };
  }
  const url = parseHost(s3host);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return endpointAt(url, regionOfHost(hostname) ?? DEFAULT_REGION, forcePathStyle ?? (isIP(hostname) !== 0 || url.port !== ''));
}

/** The endpoint at an origin (`https://host[:port]`), signed for `region`; providers.ts builds these from templates. */
export function endpointAt(origin: URL, region: string, pathStyle: boolean): S3Endpoint {
  const url = new URL(origin.origin);
  return { url, checkUrl: url, publicHost: url.host, region, pathStyle, id: url.origin };
}

/**
 * AWS region names: two letters, one or more words, a number (`eu-central-1`,
 * `us-gov-west-1`, `ap-southeast-4`); Backblaze's `us-west-000` has the same shape.
 * `s3-external-1` (an old us-east-1 alias) does not match, and falls back to us-east-1.
 */
const REGION_IN_HOST = /(?:^|\.)s3[.-](?:fips\.)?(?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\./;

/** The region an S3 host names, if it names one. */
export function regionOfHost(hostname: string): string | undefined {
  return REGION_IN_HOST.exec(hostname.toLowerCase())?.[1];
}

function parseHost(s3host: string): URL {
  const text = s3host.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `https://${text}`);
  } catch {
    throw invalidHost(s3host);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidHost(s3host);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) throw invalidHost(s3host);
  if (!hasScheme && isLoopback(url.hostname)) url.protocol = 'http:';
  return new URL(url.origin);
}

function isLoopback(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

function invalidHost(s3host: string): FleetError {
  // The value is the caller's own setting, not a secret; shown so they can see the typo.
  return new FleetError(
    'UF_INVALID_REQUEST',
    `s3host "${s3host.slice(0, 200)}" is not a host name: give the endpoint's host with an optional port, like s3.eu-central-1.amazonaws.com or minio.example.com:9000`,
    { destination: 's3' },
  );
}
