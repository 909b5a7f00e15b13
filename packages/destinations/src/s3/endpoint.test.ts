import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { regionOfHost, resolveEndpoint } from './endpoint.js';

describe('resolveEndpoint', () => {
  it('without s3host: Amazon S3, us-east-1 (the SDK follows the redirect to the bucket\'s region), virtual-hosted', () => {
    const endpoint = resolveEndpoint(undefined, undefined);
    expect(endpoint.url).toBeUndefined();
    expect(endpoint.checkUrl.href).toBe('https://s3.amazonaws.com/');
    expect(endpoint).toMatchObject({ publicHost: 's3.amazonaws.com', region: 'us-east-1', pathStyle: false });
    expect(resolveEndpoint(undefined, true).pathStyle).toBe(true);
  });

  it.each([
    // s3host, forcePathStyle, url, region, pathStyle
    ['s3.eu-central-1.amazonaws.com', undefined, 'https://s3.eu-central-1.amazonaws.com', 'eu-central-1', false],
    ['s3-eu-west-1.amazonaws.com', undefined, 'https://s3-eu-west-1.amazonaws.com', 'eu-west-1', false],
    ['s3.dualstack.ap-southeast-2.amazonaws.com', undefined, 'https://s3.dualstack.ap-southeast-2.amazonaws.com', 'ap-southeast-2', false],
    ['s3.cn-north-1.amazonaws.com.cn', undefined, 'https://s3.cn-north-1.amazonaws.com.cn', 'cn-north-1', false],
    ['s3-fips.us-gov-west-1.amazonaws.com', undefined, 'https://s3-fips.us-gov-west-1.amazonaws.com', 'us-gov-west-1', false],
    ['s3.amazonaws.com', undefined, 'https://s3.amazonaws.com', 'us-east-1', false],
    ['s3-external-1.amazonaws.com', undefined, 'https://s3-external-1.amazonaws.com', 'us-east-1', false],
    ['s3.us-west-000.backblazeb2.com', undefined, 'https://s3.us-west-000.backblazeb2.com', 'us-west-000', false],
    ['nyc3.digitaloceanspaces.com', undefined, 'https://nyc3.digitaloceanspaces.com', 'us-east-1', false],
    ['S3.EU-CENTRAL-1.AMAZONAWS.COM', undefined, 'https://s3.eu-central-1.amazonaws.com', 'eu-central-1', false],
    // A port or an IP address: path-style, as there is no bucket subdomain.
    ['minio.example.com:9000', undefined, 'https://minio.example.com:9000', 'us-east-1', true],
    ['203.0.113.7', undefined, 'https://203.0.113.7', 'us-east-1', true],
    // Loopback: plain http (local test servers).
    ['127.0.0.1:4569', undefined, 'http://127.0.0.1:4569', 'us-east-1', true],
    ['localhost:4569', undefined, 'http://localhost:4569', 'us-east-1', true],
    ['[::1]:4569', undefined, 'http://[::1]:4569', 'us-east-1', true],
    // A scheme written out wins.
    ['http://minio.internal:9000', undefined, 'http://minio.internal:9000', 'us-east-1', true],
    ['https://127.0.0.1:9000', undefined, 'https://127.0.0.1:9000', 'us-east-1', true],
    ['s3.eu-central-1.amazonaws.com/', undefined, 'https://s3.eu-central-1.amazonaws.com', 'eu-central-1', false],
    // S3_FORCE_PATH_STYLE wins both ways.
    ['127.0.0.1:4569', false, 'http://127.0.0.1:4569', 'us-east-1', false],
    ['s3.eu-central-1.amazonaws.com', true, 'https://s3.eu-central-1.amazonaws.com', 'eu-central-1', true],
  ] as const)('%s (force path-style: %s) -> %s, %s, path-style %s', (s3host, force, url, region, pathStyle) => {
    const endpoint = resolveEndpoint(s3host, force);
    expect(endpoint.url?.origin).toBe(url);
    expect(endpoint.checkUrl.origin).toBe(url);
    expect(endpoint.region).toBe(region);
    expect(endpoint.pathStyle).toBe(pathStyle);
    expect(endpoint.id).toBe(url);
  });

  it('keeps the port in the host of returned URLs', () => {
    expect(resolveEndpoint('minio.example.com:9000', undefined).publicHost).toBe('minio.example.com:9000');
    expect(resolveEndpoint('s3.eu-central-1.amazonaws.com', undefined).publicHost).toBe('s3.eu-central-1.amazonaws.com');
  });

  it.each(['ftp://s3.amazonaws.com', 's3.amazonaws.com/my-bucket', 'key:secret@s3.amazonaws.com', 's3.amazonaws.com?x=1', 'not a host', 'http://'])(
    'refuses "%s" with a message saying what s3host should look like',
    (s3host) => {
      let error: unknown;
      try {
        resolveEndpoint(s3host, undefined);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FleetError);
      expect((error as FleetError).code).toBe('UF_INVALID_REQUEST');
      expect((error as FleetError).message).toContain('like s3.eu-central-1.amazonaws.com');
    },
  );
});

describe('regionOfHost', () => {
  it('reads only region-shaped names', () => {
    expect(regionOfHost('s3.me-central-1.amazonaws.com')).toBe('me-central-1');
    expect(regionOfHost('my-bucket.s3.eu-north-1.amazonaws.com')).toBe('eu-north-1');
    expect(regionOfHost('s3.amazonaws.com')).toBeUndefined();
    expect(regionOfHost('storage.googleapis.com')).toBeUndefined();
    expect(regionOfHost('s3-accelerate.amazonaws.com')).toBeUndefined();
  });
});
