import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AddressResolver } from '@upload-fleet/core';

/**
 * A front for the local S3 server that answers under a provider's host names, as the
 * provider's endpoint would: `<bucket>.<endpoint host>` (virtual-hosted, Spaces, B2, Wasabi)
 * or `<endpoint host>/<bucket>` (path-style, R2, MinIO). It records each request as it
 * arrived (Host, path, headers) and hands it to s3rver path-style, which is the only form
 * the testkit's s3rver additions read. s3rver does not verify SigV4 signatures, so the
 * rewritten request is accepted; the signature's scope (the signing region) is still in the
 * recorded Authorization header.
 *
 * The provider host names end in `.localhost` and resolve to 127.0.0.1 through
 * `localhostResolver`, given to the network guard, which is what the adapter's
 * connections resolve with (no system DNS involved).
 */

export interface FrontRequest {
  method: string;
  /** The Host header as sent: `videos.nyc3.spaces.localhost:PORT`. */
  host: string;
  /** The path as sent (the bucket is in it only for path-style requests). */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The region of the SigV4 credential scope, if the request was signed. */
  signingRegion: string | undefined;
}

export interface ProviderFront {
  readonly port: number;
  readonly requests: FrontRequest[];
  /** GETs a URL the adapter returned, by its host name, through the front; size and SHA-256 of the body. */
  fetchObject(url: string): Promise<{ status: number; size: number; sha256: string }>;
  close(): Promise<void>;
}

/** Resolves `localhost` and every `*.localhost` name to 127.0.0.1, and nothing else. */
export const localhostResolver: AddressResolver = (hostname, _options, callback) => {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
    callback(null, [{ address: '127.0.0.1', family: 4 }]);
    return;
  }
  const error: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  error.code = 'ENOTFOUND';
  callback(error, []);
};

export async function startProviderFront(s3Port: number, buckets: readonly string[]): Promise<ProviderFront> {
  const requests: FrontRequest[] = [];
  const server = http.createServer((incoming, outgoing) => {
    const host = incoming.headers.host ?? '';
    const hostname = host.replace(/:\d+$/, '');
    const path = incoming.url ?? '/';
    requests.push({ method: incoming.method ?? 'GET', host, path, headers: { ...incoming.headers }, signingRegion: signingRegionOf(incoming.headers.authorization) });
    // Virtual-hosted: the first label of the host is a bucket of the server.
    const firstLabel = hostname.split('.')[0]!;
    const vhostBucket = hostname.includes('.') && buckets.includes(firstLabel) ? firstLabel : undefined;
    const forwarded = http.request(
      {
        host: '127.0.0.1',
        port: s3Port,
        method: incoming.method,
        path: vhostBucket ? `/${vhostBucket}${path}` : path,
        headers: { ...incoming.headers, host: `127.0.0.1:${s3Port}` },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    requests,
    fetchObject: (url) =>
      new Promise((resolve, reject) => {
        const target = new URL(url);
        const request = http.request({ host: '127.0.0.1', port, path: target.pathname, headers: { host: target.host } }, (answer) => {
          const hash = createHash('sha256');
          let size = 0;
          answer.on('data', (chunk: Buffer) => {
            size += chunk.length;
            hash.update(chunk);
          });
          answer.on('end', () => resolve({ status: answer.statusCode ?? 0, size, sha256: hash.digest('hex') }));
          answer.on('error', reject);
        });
        request.on('error', reject);
        request.end();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `AWS4-HMAC-SHA256 Credential=KEY/20261203/<region>/s3/aws4_request, ...` -> the region. */
function signingRegionOf(authorization: string | undefined): string | undefined {
  return authorization ? /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\/aws4_request/.exec(authorization)?.[1] : undefined;
}
