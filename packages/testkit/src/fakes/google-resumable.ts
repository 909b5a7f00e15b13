import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';

/**
 * The server side of Google's resumable upload protocol, shared by the YouTube fake
 * (videos.insert) and the Cloud Storage fake (objects.insert): both front ends are the
 * same Google upload service, so the chunk rules and answers are written once here.
 *
 * - a chunk is `PUT <session URI>` with `Content-Range: bytes first-last/total`; it must
 *   start exactly where the session stands, its total must equal the announced size, its
 *   Content-Length must match the range, and every chunk but the last must be a multiple
 *   of 256 KiB;
 * - a status query is an empty PUT with `Content-Range: bytes * /total`;
 * - the answer is 308 with `Range: bytes=0-N` (no Range at all when nothing is stored)
 *   until the last byte arrives; then the front end's own `finish` answers;
 * - bytes are kept in 256 KiB units, as the real service persists them: a chunk cut short
 *   keeps its whole units and drops the rest, so a client must ask before resuming.
 *
 * References: https://cloud.google.com/storage/docs/performing-resumable-uploads and
 * https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol.
 */

/** Google persists resumable uploads in units of 256 KiB; chunks must be multiples of it. */
export const GOOGLE_CHUNK_UNIT = 256 * 1024;

/** The bytes of one upload session as the server holds them. */
export interface ResumableBytes {
  readonly id: string;
  /** The size announced at the start (X-Upload-Content-Length), or the first chunk's total. */
  declaredSize: number | undefined;
  /** Bytes stored so far. */
  stored: number;
  /** Every chunk request: its Content-Range and Content-Type as sent, body bytes read, bytes kept. */
  chunks: { contentRange: string; contentType: string | undefined; bodyBytes: number; kept: number }[];
  fd: number | undefined;
  /** SHA-256, CRC32C and MD5 of the stored bytes, updated as they are stored. */
  hash: Hash;
  crc32c: number;
  md5: Hash;
  /** The chunk request being received, if any. */
  active: IncomingMessage | undefined;
}

/** What a finished session's bytes hash to: SHA-256 (hex) for tests, CRC32C and MD5 (base64) as GCS reports them. */
export interface ResumableDigest {
  size: number;
  sha256: string;
  crc32c: string;
  md5Hash: string;
}

/** Faults about body bytes (the YouTube and GCS fakes script them the same way). */
export type BodyFault = { dropAfterBytes: number } | { keepBytes: number };

export interface ChunkHandlers {
  /** The last byte is stored (or `bytes * /total` found the upload complete): the front end answers. */
  finish(): void;
  /** A request the protocol refuses: the front end answers 400 in its error format. */
  refuse(message: string): void;
}

/** Receives chunks and status queries for any number of sessions; bodies go to files in `dir`. */
export class ResumableReceiver {
  /** Chunk body bytes read off the wire, kept or not. */
  bytesReceived = 0;
  private bytesPerSecond = 0;
  // The throttle is one schedule for all requests: a body byte may be read at `readyAt` at the earliest.
  private readyAt = 0;
  private readonly open = new Set<ResumableBytes>();

  constructor(private readonly dir: string) {}

  /** A new session's bytes. */
  newUpload(id: string, declaredSize: number | undefined): ResumableBytes {
    return { id, declaredSize, stored: 0, chunks: [], fd: undefined, hash: createHash('sha256'), crc32c: 0, md5: createHash('md5'), active: undefined };
  }

  /** Reads chunk bodies at most this many bytes per second over all requests (0: no limit). */
  throttle(bytesPerSecond: number): void {
    this.bytesPerSecond = Math.max(0, bytesPerSecond);
    this.readyAt = 0;
  }

  /** Reads (and throws away) the rest of a body before `answer`, counting chunk bytes. */
  drain(req: IncomingMessage, answer: () => void, countAsChunk: boolean): void {
    drainThen(req, answer, countAsChunk ? (n) => (this.bytesReceived += n) : undefined);
  }

  /** A PUT on the session URI: a chunk or a status query. */
  receive(req: IncomingMessage, res: ServerResponse, upload: ResumableBytes, fault: BodyFault | undefined, handlers: ChunkHandlers): void {
    // A new request on the session supersedes a chunk still arriving from a client that
    // gave up on it (its bytes may sit in buffers for a while): that chunk ends here with
    // the units it has, so the answer to this request is final.
    if (upload.active && upload.active !== req) upload.active.socket.destroy();
    upload.active = undefined;

    const range = parseContentRange(req.headers['content-range'], req.headers['content-length']);
    // Chunk bodies count toward bytesReceived even when they are refused.
    const isChunk = !/^bytes \*\//.test(req.headers['content-range'] ?? '');
    const fail = (message: string) => this.drain(req, () => handlers.refuse(message), isChunk);
    if (!range) return fail('Content-Range must be "bytes first-last/total" or "bytes */total".');
    const total = upload.declaredSize ?? range.total;
    if (range.total !== total) return fail(`Content-Range total ${range.total} differs from X-Upload-Content-Length ${total}.`);
    upload.declaredSize = total;

    if (range.query) {
      if (Number(req.headers['content-length'] ?? 0) !== 0) return fail('A status query has an empty body.');
      return this.drain(
        req,
        () => {
          // "bytes */0" on an empty upload is also its last (and only) request.
          if (upload.stored === total) return handlers.finish();
          answerIncomplete(res, upload);
        },
        false,
      );
    }

    const length = range.last - range.first + 1;
    if (range.first !== upload.stored) return fail(`The chunk must start at byte ${upload.stored}, where the session stands; it starts at ${range.first}.`);
    if (range.last >= total) return fail(`The chunk ends at byte ${range.last}, beyond the total of ${total}.`);
    if (Number(req.headers['content-length']) !== length) return fail(`Content-Length ${req.headers['content-length']} does not match Content-Range (${length} bytes).`);
    const isLast = range.last === total - 1;
    if (!isLast && length % GOOGLE_CHUNK_UNIT !== 0) return fail(`Chunks other than the last must be a multiple of ${GOOGLE_CHUNK_UNIT} bytes; this one has ${length}.`);

    const log = { contentRange: String(req.headers['content-range']), contentType: req.headers['content-type'], bodyBytes: 0, kept: 0 };
    upload.chunks.push(log);
    upload.active = req;
    req.once('close', () => {
      if (upload.active === req) upload.active = undefined;
    });
    const limit = fault && 'keepBytes' in fault ? Math.min(length, fault.keepBytes) : length;
    const dropAfter = fault && 'dropAfterBytes' in fault ? fault.dropAfterBytes : undefined;
    let pending: Buffer[] = [];
    let pendingBytes = 0;

    // Stores `n` bytes from the front of `pending` (or discards them past the limit).
    const keep = (n: number) => {
      const bytes = Buffer.concat(pending, pendingBytes);
      const storable = Math.max(0, Math.min(n, limit - log.kept));
      if (storable > 0) this.store(upload, bytes.subarray(0, storable));
      log.kept += storable;
      pending = [bytes.subarray(n)];
      pendingBytes -= n;
    };

    req.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      log.bodyBytes += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= GOOGLE_CHUNK_UNIT) keep(GOOGLE_CHUNK_UNIT);
      if (dropAfter !== undefined && log.bodyBytes >= dropAfter) {
        req.socket.destroy();
        return;
      }
      if (this.bytesPerSecond > 0) {
        this.readyAt = Math.max(this.readyAt, Date.now()) + (chunk.length / this.bytesPerSecond) * 1000;
        const wait = this.readyAt - Date.now();
        if (wait > 0) {
          req.pause();
          setTimeout(() => req.resume(), wait).unref();
        }
      }
    });
    req.on('end', () => {
      if (log.bodyBytes !== length) return; // cut short: the partial unit is dropped
      keep(pendingBytes);
      if (upload.stored === total) return handlers.finish();
      answerIncomplete(res, upload);
    });
  }

  /** Closes the session's file and answers what its bytes hash to. */
  complete(upload: ResumableBytes): ResumableDigest {
    if (upload.fd !== undefined) closeSync(upload.fd);
    upload.fd = undefined;
    this.open.delete(upload);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(upload.crc32c >>> 0);
    return { size: upload.stored, sha256: upload.hash.digest('hex'), crc32c: crc.toString('base64'), md5Hash: upload.md5.digest('base64') };
  }

  /** Where a session's bytes are kept (for fakes that serve them back). */
  pathOf(upload: ResumableBytes): string {
    return join(this.dir, `${upload.id}.bin`);
  }

  close(): void {
    for (const upload of this.open) if (upload.fd !== undefined) closeSync(upload.fd);
    this.open.clear();
  }

  private store(upload: ResumableBytes, bytes: Buffer): void {
    if (upload.fd === undefined) {
      upload.fd = openSync(this.pathOf(upload), 'w');
      this.open.add(upload);
    }
    writeSync(upload.fd, bytes, 0, bytes.length, upload.stored);
    upload.hash.update(bytes);
    upload.md5.update(bytes);
    upload.crc32c = crc32c(bytes, upload.crc32c);
    upload.stored += bytes.length;
  }
}

function answerIncomplete(res: ServerResponse, upload: ResumableBytes): void {
  // No Range header at all when nothing is stored: clients must read that as 0 bytes.
  const headers: Record<string, string> = { 'content-length': '0' };
  if (upload.stored > 0) headers.range = `bytes=0-${upload.stored - 1}`;
  res.writeHead(308, headers).end();
}

function parseContentRange(value: string | undefined, contentLength: string | undefined): { query: boolean; first: number; last: number; total: number } | undefined {
  // No Content-Range: the whole file in one request.
  if (value === undefined) {
    const length = Number(contentLength ?? 0);
    return length > 0 ? { query: false, first: 0, last: length - 1, total: length } : undefined;
  }
  const query = /^bytes \*\/(\d+)$/.exec(value);
  if (query) return { query: true, first: 0, last: -1, total: Number(query[1]) };
  const chunk = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value);
  if (!chunk) return undefined;
  const [first, last, total] = [Number(chunk[1]), Number(chunk[2]), Number(chunk[3])];
  return last < first ? undefined : { query: false, first, last, total };
}

/** Google's error body: `{ "error": { "code", "message", "errors": [{ "message", "domain", "reason" }], "status" } }`. */
export function googleError(code: number, reason: string, message: string, domain: string, status?: string): { error: Record<string, unknown> } {
  return { error: { code, message, errors: [{ message, domain, reason }], ...(status ? { status } : {}) } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

/** Reads (and throws away) the rest of the body before answering, as the real servers do. */
export function drainThen(req: IncomingMessage, answer: () => void, onBytes?: (n: number) => void): void {
  if (req.complete) return answer();
  req.on('data', (chunk: Buffer) => onBytes?.(chunk.length));
  req.once('end', answer);
}

const MAX_JSON_BODY = 1024 * 1024;

export async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_JSON_BODY) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function bearerTokenOf(req: IncomingMessage): string | undefined {
  return /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** A fault a fake applies to the next `times` requests (default 1) of the given steps (default any). */
export interface ScriptedFault<Step extends string> {
  step?: Step | Step[];
  times?: number;
}

/**
 * The faults a test scripted on a Google fake, in order: each request takes the first that
 * matches its step. Body faults (`dropAfterBytes`, `keepBytes`) only match chunks.
 */
export class ScriptedFaults<Step extends string, Fault extends ScriptedFault<Step>> {
  private list: (Fault & { left: number })[] = [];

  constructor(private readonly chunkStep: Step) {}

  set(faults: Fault[]): void {
    this.list = faults.map((f) => ({ ...f, left: f.times ?? 1 }));
  }

  add(fault: Fault): void {
    this.list.push({ ...fault, left: fault.times ?? 1 });
  }

  take(step: Step): Fault | undefined {
    const index = this.list.findIndex((f) => {
      if (('dropAfterBytes' in f || 'keepBytes' in f) && step !== this.chunkStep) return false;
      return f.step === undefined || (Array.isArray(f.step) ? f.step.includes(step) : f.step === step);
    });
    const fault = this.list[index];
    if (!fault) return undefined;
    fault.left -= 1;
    if (fault.left <= 0) this.list.splice(index, 1);
    return fault;
  }
}

/** The body fault of a taken fault, for `ResumableReceiver.receive`. */
export function bodyFaultOf(fault: object | undefined): BodyFault | undefined {
  return fault && ('dropAfterBytes' in fault || 'keepBytes' in fault) ? (fault as BodyFault) : undefined;
}

/** A session as the front end sees it before handing it to the receiver. */
export interface FrontEndSession extends ResumableBytes {
  /** Expired sessions answer this status (404 or 410). */
  expiredWith: number | undefined;
}

/**
 * A PUT on a session URI, up to the receiver: an unknown session is 404, an expired one
 * answers its status, one that has ended answers its final answer again (`ended`: the
 * resource, or a refusal); otherwise the chunk or status query goes to the receiver.
 */
export function receiveOnSession(
  receiver: ResumableReceiver,
  req: IncomingMessage,
  res: ServerResponse,
  session: FrontEndSession | undefined,
  options: { ended(): { status: number; body: unknown } | undefined; bodyFault: BodyFault | undefined; handlers: ChunkHandlers },
): void {
  const answer = (status: number, body: unknown) => receiver.drain(req, () => sendJson(res, status, body), true);
  if (!session) return answer(404, googleError(404, 'notFound', 'Not Found', 'global'));
  if (session.expiredWith !== undefined) return answer(session.expiredWith, googleError(session.expiredWith, 'notFound', 'The requested upload session does not exist or has expired.', 'global'));
  const ended = options.ended();
  if (ended) return answer(ended.status, ended.body);
  receiver.receive(req, res, session, options.bodyFault, options.handlers);
}
