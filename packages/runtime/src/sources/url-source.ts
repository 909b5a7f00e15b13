import { PassThrough, Readable } from 'node:stream';
import got, { type Got, type PlainResponse, type Request } from 'got';
import { FleetError, fleetErrorIn, parseRetryAfter, type NetworkGuard } from '@upload-fleet/core';
import type { UploadSource } from '@upload-fleet/destinations';

export interface UrlSourceOptions {
  network: NetworkGuard;
  /** Connect and time-to-response-headers limit per request. Default 30 s. */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

/**
 * An http(s) URL, read with got in stream mode. The URL comes from the request, so every
 * request is checked by the network guard (the URL, each redirect, and the address each
 * connection resolves to). Resuming needs `Range`, and the size must be known up front.
 */
export async function openUrlSource(rawUrl: string, options: UrlSourceOptions): Promise<UploadSource> {
  const url = new URL(rawUrl);
  const { network } = options;
  // Logs and errors name the file without its query string (often a signature) or
  // userinfo (credentials); the request itself still uses them.
  const description = `${url.protocol}//${url.host}${url.pathname}`;
  const server = `The source server ${url.host}`;
  const client = sourceClient(network, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);

  const size = await sizeOf(client, url, network, server);

  return {
    size,
    description,
    async open(offset = 0): Promise<Readable> {
      if (!Number.isInteger(offset) || offset < 0 || offset > size) {
        throw new RangeError(`offset must be an integer from 0 to ${size}, got ${offset}`);
      }
      // "bytes=size-" is unsatisfiable (416): nothing is left to read, so ask for nothing.
      if (offset === size && size > 0) return Readable.from([]);
      await network.assertAllowed(url);
      const stream = client.stream(url, { headers: offset > 0 ? { range: `bytes=${offset}-` } : {} });
      const response = await responseOf(stream, server);
      try {
        checkBodyResponse(response, offset, size, server);
      } catch (error) {
        stream.destroy();
        throw error;
      }
      return relayWithSourceErrors(stream, server);
    },
  };
}

/** One got instance per source, so its options (guard, timeouts, no retries) hold for every request. */
function sourceClient(network: NetworkGuard, timeoutMs: number): Got {
  return got.extend({
    dnsLookup: network.lookup,
    // BullMQ retries the whole job with backoff; a retry inside got would hide failures
    // from the attempt count and double the time a dead server holds a worker.
    retry: { limit: 0 },
    followRedirect: true,
    maxRedirects: MAX_REDIRECTS,
    throwHttpErrors: false,
    // Sizes and ranges count bytes as stored: a compressed answer would report a
    // Content-Length that is not the file's, and Range offsets into the compressed form.
    decompress: false,
    headers: { 'accept-encoding': 'identity', 'user-agent': 'upload-fleet' },
    // No `socket` (idle) timeout: while the destination is slow, backpressure pauses this
    // stream and the socket idles legitimately. A stalled read is ended by the job's own
    // timeout, which aborts the upload and destroys this stream.
    timeout: { lookup: timeoutMs, connect: timeoutMs, secureConnect: timeoutMs, response: timeoutMs },
    hooks: {
      beforeRedirect: [
        async (updatedOptions) => {
          if (updatedOptions.url) await network.assertAllowed(updatedOptions.url);
        },
      ],
    },
  });
}

/**
 * The file's size: HEAD's Content-Length, or, for servers that refuse HEAD or leave the
 * length out, the total of a one-byte Range request (`Content-Range: bytes 0-0/TOTAL`).
 */
async function sizeOf(client: Got, url: URL, network: NetworkGuard, server: string): Promise<number> {
  await network.assertAllowed(url);
  const head = await client(url, { method: 'HEAD' }).catch((error: unknown) => {
    throw sourceError(error, server);
  });
  if (isSuccess(head.statusCode)) {
    const length = parseLength(head.headers['content-length']);
    if (length !== undefined && head.headers['transfer-encoding'] === undefined) return length;
  } else if (head.statusCode !== 405 && head.statusCode !== 501) {
    throw errorForSourceStatus(head.statusCode, head.headers['retry-after'], server);
  }

  await network.assertAllowed(url);
  const probe = client.stream(url, { headers: { range: 'bytes=0-0' } });
  const response = await responseOf(probe, server);
  // Only the headers matter: never read a file that ignored the Range header.
  probe.destroy();
  const contentRange = response.headers['content-range'];
  if (response.statusCode === 206 || response.statusCode === 416) {
    // 416 with "bytes */0" is how a server describes an empty file.
    const total = /\/(\d+)\s*$/.exec(contentRange ?? '')?.[1];
    if (total !== undefined) return Number(total);
  } else if (response.statusCode === 200) {
    const length = parseLength(response.headers['content-length']);
    if (length !== undefined) return length;
  } else {
    throw errorForSourceStatus(response.statusCode, response.headers['retry-after'], server);
  }
  throw new FleetError(
    'UF_SOURCE_UNSUPPORTED',
    `${server} did not say how large the file is: it must send Content-Length (or answer Range requests with Content-Range), because destinations need the size before the upload starts`,
  );
}

/** A body response must be the bytes asked for: all of them at 0, the rest from `offset` otherwise. */
function checkBodyResponse(response: PlainResponse, offset: number, size: number, server: string): void {
  const { statusCode, headers } = response;
  if (!isSuccess(statusCode)) throw errorForSourceStatus(statusCode, headers['retry-after'], server);
  if (offset > 0) {
    if (statusCode !== 206) {
      throw new FleetError(
        'UF_SOURCE_UNSUPPORTED',
        `${server} answered ${statusCode} to a Range request for bytes ${offset}-: it does not support resuming, so the upload cannot continue from byte ${offset}; serve the source from a server that honours Range requests`,
        { status: statusCode },
      );
    }
    const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headers['content-range']?.trim() ?? '');
    if (!match || Number(match[1]) !== offset || (match[3] !== '*' && Number(match[3]) !== size)) {
      throw changed(server, size, headers['content-range'] ?? 'no Content-Range');
    }
    return;
  }
  const length = parseLength(headers['content-length']);
  if (statusCode === 206 || (length !== undefined && length !== size)) {
    throw changed(server, size, length === undefined ? `status ${statusCode}` : `${length} bytes`);
  }
}

function changed(server: string, size: number, now: string): FleetError {
  return new FleetError('UF_SOURCE_CHANGED', `${server} now serves a different file than when the upload started (${size} bytes, now ${now}); the upload will start again`);
}

/** Waits for the response headers of a got stream; request failures become source errors. */
function responseOf(stream: Request, server: string): Promise<PlainResponse> {
  return new Promise((resolve, reject) => {
    const onError = (error: unknown) => {
      stream.off('response', onResponse);
      stream.destroy();
      reject(sourceError(error, server));
    };
    const onResponse = (response: PlainResponse) => {
      stream.off('error', onError);
      resolve(response);
    };
    stream.once('error', onError);
    stream.once('response', onResponse);
  });
}

/**
 * The stream handed to the adapter. got's errors name the URL (query string included) and
 * are not in the taxonomy, so they are replaced by source errors; destroying the relay
 * (the adapter gave up) closes the download.
 */
function relayWithSourceErrors(stream: Request, server: string): Readable {
  const relay = new PassThrough();
  stream.on('error', (error) => relay.destroy(sourceError(error, server)));
  relay.on('close', () => {
    if (!stream.destroyed) stream.destroy();
  });
  stream.pipe(relay);
  return relay;
}

/** Statuses of the source server, in words that say it is the source, not the destination, that failed. */
function errorForSourceStatus(status: number, retryAfter: string | undefined, server: string): FleetError {
  const retryAfterMs = parseRetryAfter(retryAfter);
  const options = { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  if (status === 404 || status === 410) {
    return new FleetError('UF_SOURCE_NOT_FOUND', `${server} answered ${status}: the source file is not there`, options);
  }
  if (status === 401 || status === 403) {
    return new FleetError('UF_SOURCE_FORBIDDEN', `${server} answered ${status}: the source file is not public`, options);
  }
  if (status === 408) return new FleetError('UF_TIMEOUT', `${server} answered 408 Request Timeout`, options);
  // 429 from the source is retried like a 5xx: UF_RATE_LIMITED would pause the
  // destination's key, but it is not the destination that is busy.
  if (status === 429 || status >= 500) {
    return new FleetError('UF_SOURCE_UNAVAILABLE', `${server} answered ${status}; reading the source failed, not the upload`, options);
  }
  if (status >= 300 && status < 400) {
    return new FleetError('UF_SOURCE_NOT_FOUND', `${server} answered ${status} without a usable Location header`, options);
  }
  return new FleetError('UF_SOURCE_NOT_FOUND', `${server} answered ${status}`, options);
}

/** A failed request or read of the source as a FleetError; the guard's own errors pass through. */
function sourceError(error: unknown, server: string): FleetError {
  const fleetError = fleetErrorIn(error);
  if (fleetError) return fleetError;
  const code = (error as { code?: unknown } | undefined)?.code;
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    return new FleetError('UF_TIMEOUT', `${server} did not answer in time; reading the source failed`, { cause: error });
  }
  if (code === 'ERR_TOO_MANY_REDIRECTS') {
    return new FleetError('UF_SOURCE_UNSUPPORTED', `${server} redirected more than ${MAX_REDIRECTS} times; give the source's final URL`, { cause: error });
  }
  const what = typeof code === 'string' ? code : 'connection error';
  return new FleetError('UF_NETWORK', `${server} could not be read (${what}); reading the source failed, not the upload`, { cause: error });
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function parseLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}
