import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';

/**
 * An HTTP front on 127.0.0.1 before a real server (s3rver, azurite) that can do what a
 * real platform or a bad network does and the local server does not: answer some requests
 * itself (S3 refusing ACL headers on a bucket with ACLs disabled, in S3's own error
 * format), or alter one byte of a request body on its way (a corrupted upload, which the
 * destination's checksum must catch). Everything else passes through unchanged, headers
 * (Content-Length, signatures) included.
 */

export interface FrontRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface FrontAnswer {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface HttpFront {
  readonly port: number;
  /** Every request, in arrival order, with whether the front answered it or altered it. */
  readonly requests: (FrontRequest & { answeredByFront: boolean; corrupted: boolean })[];
  /** Decides per request: an answer of the front's own, or undefined to pass it on. */
  answer: ((request: FrontRequest) => FrontAnswer | undefined) | undefined;
  /** Decides per request whether to flip one bit of its body's first byte. */
  corrupt: ((request: FrontRequest) => boolean) | undefined;
  close(): Promise<void>;
}

export async function startHttpFront(targetPort: number): Promise<HttpFront> {
  const front: HttpFront = {
    port: 0,
    requests: [],
    answer: undefined,
    corrupt: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((incoming, outgoing) => {
    const request: FrontRequest = { method: incoming.method ?? 'GET', url: incoming.url ?? '/', headers: { ...incoming.headers } };
    const own = front.answer?.(request);
    const corrupted = own === undefined && (front.corrupt?.(request) ?? false);
    front.requests.push({ ...request, answeredByFront: own !== undefined, corrupted });
    if (own) {
      // Read the body first, as a server does before answering, so the client sees the answer and not a reset.
      incoming.resume();
      incoming.on('end', () => {
        outgoing.writeHead(own.status, { 'content-length': String(Buffer.byteLength(own.body)), ...own.headers });
        outgoing.end(own.body);
      });
      return;
    }
    const forwarded = http.request({ host: '127.0.0.1', port: targetPort, method: request.method, path: request.url, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(corrupted ? flipFirstByte() : new Transform({ transform: (chunk, _encoding, done) => done(null, chunk) })).pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (front as { port: number }).port = (server.address() as AddressInfo).port;
  return front;
}

/** Passes a body through with the lowest bit of its first byte flipped: same length, other bytes. */
function flipFirstByte(): Transform {
  let flipped = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (!flipped && chunk.length > 0) {
        const copy = Buffer.from(chunk);
        copy[0] = copy[0]! ^ 1;
        flipped = true;
        done(null, copy);
        return;
      }
      done(null, chunk);
    },
  });
}

/** An S3 error answer in S3's documented XML form (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). */
export function s3ErrorAnswer(status: number, code: string, message: string): FrontAnswer {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>FRONT0000000001</RequestId><HostId>front</HostId></Error>`,
  };
}
