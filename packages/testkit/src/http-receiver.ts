import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';

/**
 * A real HTTP server standing in for the endpoints of HTTP destinations: it accepts
 * multipart/form-data (POST) and raw bodies (PUT), hashes every file while it streams in
 * (a 300 MiB upload never sits in memory here either), records each request, and can be
 * scripted to fail: answer a given status, or cut the connection after N bytes of body.
 */

/** One file part of a multipart body, or the whole raw body of a PUT. */
export interface ReceivedFile {
  /** Form field name; undefined for a raw body. */
  field: string | undefined;
  /** The part's filename (decoded as UTF-8); undefined for a raw body. */
  filename: string | undefined;
  contentType: string | undefined;
  size: number;
  sha256: string;
}

export interface ReceivedRequest {
  method: string;
  /** Path and query string as sent. */
  path: string;
  /** Date.now() when the request's headers arrived: tests measure retry delays with it. */
  receivedAt: number;
  headers: IncomingHttpHeaders;
  /** Decoded from `Authorization: Basic ...`; undefined without one. */
  basicAuth: { user: string; password: string } | undefined;
  /** Text parts of a multipart body. */
  fields: Record<string, string>;
  files: ReceivedFile[];
  /** The first file (multipart) or the raw body: what most tests look at. */
  filename: string | undefined;
  fileSize: number;
  sha256: string;
  /** Body bytes read off the wire, multipart envelope included. */
  bodyBytes: number;
  /** True once the whole body arrived and an answer was sent. */
  complete: boolean;
  /** The scripted fault applied to this request, if any. */
  fault: ReceiverFault | undefined;
}

/**
 * What to do with one request instead of the normal answer: answer `status` (after
 * reading the whole body), or destroy the socket once `destroyAfterBytes` body bytes
 * have arrived. `null` in a fault list means "answer normally".
 */
export type ReceiverFault =
  | { status: number; retryAfter?: string; body?: string; headers?: Record<string, string> }
  | { destroyAfterBytes: number };

export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpReceiverOptions {
  /** The normal answer; default 200 with `{ "received": size, "sha256": ... }` as JSON. */
  respond?: (request: ReceivedRequest) => ReceiverAnswer;
}

export interface HttpReceiver {
  /** `http://127.0.0.1:PORT`; append any path. */
  readonly url: string;
  /** Every request so far, in arrival order; entries fill in as bodies stream in. */
  readonly requests: ReceivedRequest[];
  /** TCP connections accepted so far: 0 proves a client sent nothing at all. */
  readonly connections: number;
  /** Scripts the next requests, one entry each, in order; later requests are answered normally. */
  setFaults(faults: (ReceiverFault | null)[]): void;
  /** Reads request bodies at most this many bytes per second (0: as fast as they come), so uploads last long enough to watch. */
  setThrottle(bytesPerSecond: number): void;
  close(): Promise<void>;
}

export async function startHttpReceiver(options: HttpReceiverOptions = {}): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  let faults: (ReceiverFault | null)[] = [];
  let connections = 0;
  let throttle = 0;
  const respond = options.respond ?? ((r: ReceivedRequest) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ received: r.fileSize, sha256: r.sha256 }) }));

  const server = createServer((req, res) => {
    const record: ReceivedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      receivedAt: Date.now(),
      headers: req.headers,
      basicAuth: basicAuthOf(req.headers.authorization),
      fields: {},
      files: [],
      filename: undefined,
      fileSize: 0,
      sha256: '',
      bodyBytes: 0,
      complete: false,
      fault: faults.shift() ?? undefined,
    };
    requests.push(record);
    receive(req, res, record, respond, throttle);
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    setFaults(list) {
      faults = [...list];
    },
    setThrottle(bytesPerSecond) {
      throttle = Math.max(0, bytesPerSecond);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function receive(
  req: IncomingMessage,
  res: ServerResponse,
  record: ReceivedRequest,
  respond: (r: ReceivedRequest) => ReceiverAnswer,
  bytesPerSecond: number,
): void {
  const fault = record.fault;
  // The client going away is part of several tests (resets, aborts): record it, never crash.
  req.on('error', () => undefined);
  req.on('data', (chunk: Buffer) => {
    record.bodyBytes += chunk.length;
    if (fault && 'destroyAfterBytes' in fault && record.bodyBytes >= fault.destroyAfterBytes) {
      req.socket.destroy();
      return;
    }
    if (bytesPerSecond > 0) {
      // Pause until the bytes so far fit the rate; TCP backpressure slows the client down.
      const dueAt = record.receivedAt + (record.bodyBytes / bytesPerSecond) * 1000;
      const wait = dueAt - Date.now();
      if (wait > 0) {
        req.pause();
        setTimeout(() => req.resume(), wait).unref();
      }
    }
  });

  const answer = () => {
    const reply: ReceiverAnswer =
      fault && 'status' in fault
        ? { status: fault.status, headers: { ...fault.headers, ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}) }, body: fault.body ?? '' }
        : respond(record);
    record.complete = true;
    res.writeHead(reply.status, reply.headers);
    res.end(reply.body ?? '');
  };

  const summarize = () => {
    const file = record.files[0];
    record.filename = file?.filename;
    record.fileSize = file?.size ?? 0;
    record.sha256 = file?.sha256 ?? sha256Of(Buffer.alloc(0));
  };

  if (/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
    receiveMultipart(req, record).then(
      () => {
        summarize();
        answer();
      },
      (error: unknown) => {
        if (req.destroyed) return;
        record.complete = true;
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`Bad multipart body: ${(error as Error).message}`);
      },
    );
    return;
  }

  // A raw body (PUT, or any other method): the whole body is the file.
  const hash = createHash('sha256');
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
  });
  req.on('end', () => {
    record.files.push({ field: undefined, filename: undefined, contentType: req.headers['content-type'], size, sha256: hash.digest('hex') });
    summarize();
    answer();
  });
}

/** Parses a multipart body with busboy, hashing file parts as they stream. */
function receiveMultipart(req: IncomingMessage, record: ReceivedRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    // Browsers and form-data-encoder send filenames as raw UTF-8; busboy assumes latin1
    // unless told otherwise.
    const parser = busboy({ headers: req.headers, defParamCharset: 'utf8' });
    const files: Promise<void>[] = [];
    parser.on('field', (name, value) => {
      record.fields[name] = value;
    });
    parser.on('file', (field, stream, info) => {
      const hash = createHash('sha256');
      let size = 0;
      files.push(
        new Promise<void>((fileDone, fileFailed) => {
          stream.on('data', (chunk: Buffer) => {
            hash.update(chunk);
            size += chunk.length;
          });
          stream.on('error', fileFailed);
          stream.on('end', () => {
            record.files.push({ field, filename: info.filename, contentType: info.mimeType, size, sha256: hash.digest('hex') });
            fileDone();
          });
        }),
      );
    });
    parser.on('error', reject);
    parser.on('close', () => {
      Promise.all(files).then(() => resolve(), reject);
    });
    req.on('error', (error) => parser.destroy(error));
    req.on('aborted', () => parser.destroy(new Error('client aborted')));
    req.pipe(parser);
  });
}

function basicAuthOf(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
