import { describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import type { AzureBlobDestination } from './definition.js';
import { blobAddress, checkEndpointTemplate } from './blob-address.js';

const PUBLIC = 'https://{account}.blob.core.windows.net';
const AZURITE = 'http://127.0.0.1:10000/{account}';

// Built without the schema: the schema already refuses bad names at submit time, and these
// tests check that the adapter refuses them too (a job written before the rule existed).
const destination = (fields: Record<string, unknown>) =>
  ({ type: 'azureblob', account: 'myaccount', key: 'a2V5', filename: 'video.mp4', contenttype: 'application/octet-stream', ...fields }) as AzureBlobDestination;

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FleetError);
    return (error as FleetError).code;
  }
  return undefined;
}

describe('blobAddress', () => {
  it('puts the account into a host-style endpoint', () => {
    const address = blobAddress(PUBLIC, destination({ container: 'videos', filename: 'renders/welcome.mp4' }));
    expect(address).toEqual({
      account: 'myaccount',
      container: 'videos',
      blob: 'renders/welcome.mp4',
      serviceUrl: 'https://myaccount.blob.core.windows.net',
      url: 'https://myaccount.blob.core.windows.net/videos/renders/welcome.mp4',
      host: 'myaccount.blob.core.windows.net',
    });
  });

  it('puts the account into a path-style endpoint (azurite) and drops a trailing slash', () => {
    expect(blobAddress(`${AZURITE}/`, destination({ container: 'videos' })).url).toBe('http://127.0.0.1:10000/myaccount/videos/video.mp4');
    expect(blobAddress('https://{account}.blob.core.chinacloudapi.cn', destination({ container: 'videos' })).url).toBe(
      'https://myaccount.blob.core.chinacloudapi.cn/videos/video.mp4',
    );
  });

  it('uses the root container $root when none is given, written as is in the URL', () => {
    const address = blobAddress(PUBLIC, destination({}));
    expect(address.container).toBe('$root');
    expect(address.url).toBe('https://myaccount.blob.core.windows.net/$root/video.mp4');
  });

  it('percent-encodes each segment of the name and keeps the slashes', () => {
    const address = blobAddress(PUBLIC, destination({ container: 'videos', filename: 'a b/Grüße & co (1) ✓ #2?.mp4' }));
    expect(address.url).toBe('https://myaccount.blob.core.windows.net/videos/a%20b/Gr%C3%BC%C3%9Fe%20%26%20co%20(1)%20%E2%9C%93%20%232%3F.mp4');
    expect(decodeURIComponent(new URL(address.url).pathname)).toBe('/videos/a b/Grüße & co (1) ✓ #2?.mp4');
    expect(address.blob).toBe('a b/Grüße & co (1) ✓ #2?.mp4');
  });

  it.each([
    ['a host in the account name', { account: 'evil.example#' }],
    ['an upper-case account', { account: 'MyAccount' }],
    ['a short account', { account: 'ab' }],
    ['a long account', { account: 'a'.repeat(25) }],
    ['an upper-case container', { container: 'Videos' }],
    ['a container with a slash', { container: 'videos/x' }],
    ['a container with double hyphens', { container: 'my--videos' }],
    ['a container starting with a hyphen', { container: '-videos' }],
    ['an unknown $ container', { container: '$secret' }],
    ['a ".." segment', { filename: 'renders/../other/x.mp4' }],
    ['a "." segment', { filename: './x.mp4' }],
    ['a trailing slash', { filename: 'renders/' }],
    ['a name over 1024 characters', { filename: 'x'.repeat(1025) }],
  ])('refuses %s as UF_INVALID_REQUEST', (_name, fields) => {
    expect(codeOf(() => blobAddress(PUBLIC, destination(fields)))).toBe('UF_INVALID_REQUEST');
  });

  it.each(['$root', '$web', '$logs', 'abc', 'my-videos-2', 'a'.repeat(63)])('accepts the container %s', (container) => {
    expect(codeOf(() => blobAddress(PUBLIC, destination({ container })))).toBeUndefined();
  });
});

describe('checkEndpointTemplate', () => {
  it.each([PUBLIC, AZURITE, 'https://blob.example.internal/{account}/'])('accepts %s', (template) => {
    expect(() => checkEndpointTemplate(template)).not.toThrow();
  });

  it.each(['not a url', 'ftp://{account}.example', 'https://{account}.blob.core.windows.net?sv=1', 'https://user:pw@{account}.example'])('refuses %s as UF_CONFIGURATION', (template) => {
    expect(codeOf(() => checkEndpointTemplate(template))).toBe('UF_CONFIGURATION');
  });
});
