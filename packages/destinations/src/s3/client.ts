import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { S3Client, type PutObjectCommand, type UploadPartCommand } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { NetworkGuard } from '@upload-fleet/core';
import type { S3Destination } from './definition.js';
import type { S3Endpoint } from './endpoint.js';

/**
 * The S3 client of one upload: its endpoint, its credentials, and connections that go
 * through the network guard. One client per upload, closed at its end, because the
 * credentials and the endpoint belong to the job.
 */

/** Reaching the endpoint; the upload itself has no overall limit (the job's timeout aborts it). */
const CONNECT_TIMEOUT_MS = 30_000;
/**
 * A socket with no traffic either way for this long is given up. S3 keeps a slow
 * CompleteMultipartUpload alive with whitespace, and a part being sent is never idle.
 */
const SOCKET_IDLE_TIMEOUT_MS = 120_000;
/**
 * The SDK retries a failed request (5xx, throttling, connection errors) with backoff
 * before we see it. Every body is an in-memory part, so a retry costs one part, not the
 * file; when the SDK gives up, the job's retry resumes from the parts S3 has.
 */
const SDK_MAX_ATTEMPTS = 3;

export interface S3Connection {
  readonly client: S3Client;
  close(): void;
}

export function connectS3(endpoint: S3Endpoint, destination: S3Destination, network: NetworkGuard): S3Connection {
  // Every connection resolves its host through the guard's lookup, so the address
  // actually connected to is checked (DNS rebinding); IP literals were checked by
  // assertAllowed before, as Node does not call `lookup` for them.
  const httpAgent = new http.Agent({ keepAlive: true, lookup: network.lookup });
  const httpsAgent = new https.Agent({ keepAlive: true, lookup: network.lookup });
  const client = new S3Client({
    region: endpoint.region,
    ...(endpoint.url ? { endpoint: endpoint.url.origin } : {}),
    forcePathStyle: endpoint.pathStyle,
    // Keys win over aws_use_policy when both are given: a request that names keys must
    // never be signed with the fleet's own credentials. Without keys the SDK's default
    // chain finds the fleet's credentials (environment, web identity/IRSA, instance profile).
    ...(destination.aws_access_key_id !== undefined && destination.aws_secret_access_key !== undefined
      ? {
          credentials: {
            accessKeyId: destination.aws_access_key_id,
            secretAccessKey: destination.aws_secret_access_key,
            // Temporary (STS) credentials: the token is signed into every request as x-amz-security-token.
            ...(destination.session_token !== undefined ? { sessionToken: destination.session_token } : {}),
          },
        }
      : {}),
    // A bucket outside the guessed region answers with a redirect naming its region; the
    // SDK follows it once, so buckets work without s3host (as the spec's example has none).
    followRegionRedirects: true,
    // The SDK's newer default checksums (CRC32, and aws-chunked bodies) are refused by many
    // S3-compatible servers and by s3rver; each body carries a Content-MD5 instead, which
    // S3 and every compatible server verify.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: SDK_MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({ httpAgent, httpsAgent, connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SOCKET_IDLE_TIMEOUT_MS }),
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      unsignedPayloadOverTls(args.request as OutgoingRequest | undefined);
      return next(args);
    },
    { step: 'build', name: 'uploadFleetUnsignedPayload' },
  );
  return {
    client,
    close() {
      client.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * Over TLS, a body that carries a Content-MD5 is signed as UNSIGNED-PAYLOAD, as the AWS CLI
 * and boto3 sign PutObject and UploadPart over https: otherwise SigV4 has the SDK compute
 * the SHA-256 of every part (0.6 CPU s per GiB here) on top of its MD5 (1.4 CPU s per GiB),
 * and both only prove the bytes arrived as sent. The Content-MD5 header is signed, S3
 * refuses a body that does not match it (BadDigest), and TLS protects the bytes on the way;
 * the ETag is still checked against the MD5 (checksum.ts). Over plain http (local servers,
 * an explicit `http://` s3host) the payload stays signed, as the CLI does there too.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
function unsignedPayloadOverTls(request: OutgoingRequest | undefined): void {
  if (request?.protocol === 'https:' && request.headers?.['content-md5'] !== undefined) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
}

/** The part of the SDK's HttpRequest this file reads and writes. */
interface OutgoingRequest {
  protocol?: string;
  headers?: Record<string, string>;
}

/**
 * Bytes of a request body per chunk handed to the socket; progress moves in these steps.
 * 1 MiB rather than 64 KiB: each chunk is a trip through the stream, the HTTP request and
 * the socket, and progress is published at most once a second anyway.
 */
const PROGRESS_CHUNK_BYTES = 1024 * 1024;

/**
 * Reports how many bytes of the command's body the socket has taken, for progress. The
 * SDK hands the body over whole, so the last step before the HTTP handler (after signing,
 * once per SDK retry) swaps it for a stream over the same bytes that counts as it is
 * read. The request headers, Content-Length and signature included, stay as they were.
 * Each try starts counting at 0.
 */
export function countSentBytes<C extends PutObjectCommand | UploadPartCommand>(command: C, onSent: (bytes: number) => void): C {
  (command as PutObjectCommand).middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body?: unknown } | undefined;
      const body = request?.body;
      if (!request || !(body instanceof Uint8Array) || body.length === 0) return next(args);
      const counted = Object.assign(Object.create(Object.getPrototypeOf(request) as object) as object, request, { body: countingStream(body, onSent) });
      return next({ ...args, request: counted });
    },
    { step: 'deserialize', priority: 'low', name: 'uploadFleetSentBytes' },
  );
  return command;
}

function countingStream(body: Uint8Array, onSent: (bytes: number) => void): Readable {
  onSent(0);
  return Readable.from(
    (function* chunks() {
      for (let offset = 0; offset < body.length; offset += PROGRESS_CHUNK_BYTES) {
        const chunk = body.subarray(offset, offset + PROGRESS_CHUNK_BYTES);
        yield chunk;
        onSent(offset + chunk.length);
      }
    })(),
    { objectMode: false },
  );
}
