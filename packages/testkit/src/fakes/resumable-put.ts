import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The server side of Google's resumable PUT protocol, as a Google Cloud Storage upload
 * session serves it (https://cloud.google.com/storage/docs/performing-resumable-uploads,
 * https://cloud.google.com/storage/docs/resumable-uploads): one session, one object, bytes
 * sent in `Content-Range` chunks. It holds no HTTP server of its own, so any fake whose
 * upload URL is such a session (Mux direct uploads today; a GCS or Drive fake later) can
 * hand its PUT requests to `receive` and share the same strictness:
 *
 * - `Content-Range: bytes first-last/total` must start exactly where the session stands
 *   and keep the total of the first request; every chunk but the last is a multiple of
 *   256 KiB (RESUMABLE_CHUNK_UNIT), and Content-Length matches the range;
 * - a PUT without Content-Range is the whole object in one request;
 * - `Content-Range: bytes * /total` with an empty body asks where the session stands;
 * - an incomplete session answers 308 with `Range: bytes=0-N` (no Range when nothing is
 *   stored); the last byte completes it (`onComplete` writes the answer, 200 by default);
 *   a completed session answers a query or a repeated last chunk the same way again;
 * - like GCS it persists whole 256 KiB units: a chunk cut short keeps its whole units and
 *   drops the rest, so the client must ask for the offset before it resumes.
 *
 * Bytes go to a file in `dir` and are hashed as they arrive; nothing is held in memory
 * beyond one unit.
 */

/** GCS persists resumable uploads in units of 256 KiB; chunks must be multiples of it. */
export const RESUMABLE_CHUNK_UNIT = 256 * 1024;

/** A fault on the next chunk of a session: cut the connection after some bytes, or keep only some. */
export type ResumableChunkFault = { dropAfterBytes: number } | { keepBytes: number };

/** Counts and throttles body bytes for everything the owning fake serves. */
export interface ResumableTraffic {
  bytesReceived: number;
  /** Bytes per second (0: full speed). */
  bytesPerSecond: number;
  /** When the throttle lets the next byte through. */
  readyAt: number;
}

export function resumableTraffic(): ResumableTraffic {
  return { bytesReceived: 0, bytesPerSecond: 0, readyAt: 0 };
}

/** What a session records about each chunk request, for tests. */
export interface ResumableChunkLog {
  contentRange: string | undefined;
  bodyBytes: number;
  kept: number;
}

export class ResumableSession {
  /** Bytes stored, from the start. */
  stored = 0;
  /** The object's size, fixed by the first request that names it. */
  total: number | undefined;
  /** True once the last byte arrived. */
  complete = false;
  readonly chunks: ResumableChunkLog[] = [];
  private readonly hash: Hash = createHash('sha256');
  private digest: string | undefined;
  private fd: number | undefined;
  /** The chunk request still arriving, superseded by any newer request of the client. */
  private active: IncomingMessage | undefined;

  constructor(
    readonly id: string,
    private readonly dir: string,
    private readonly traffic: ResumableTraffic,
    /** Writes the answer to the request that completed the session (and to later ones). */
    private readonly onComplete: (session: ResumableSession, res: ServerResponse) => void = (_s, res) => void res.writeHead(200, { 'content-length': '0' }).end(),
  ) {}

  get sha256(): string | undefined {
    return this.digest;
  }

  get path(): string {
    return join(this.dir, `${this.id}.bin`);
  }

  /**
   * Serves one PUT on the session. `fail` answers a protocol violation in the owner's error
   * format (GCS answers 400); the owner has already checked that the session exists.
   */
  receive(req: IncomingMessage, res: ServerResponse, fail: (res: ServerResponse, message: string) => void, fault?: ResumableChunkFault): void {
    // A new request supersedes a chunk still arriving from a client that gave up on it: that
    // chunk ends here with the units it has, so the answer to this request is final.
    if (this.active && this.active !== req) this.active.socket.destroy();
    this.active = undefined;
    const drainThen = (answer: () => void) => {
      if (req.complete) return answer();
      req.on('data', (chunk: Buffer) => void (this.traffic.bytesReceived += chunk.length));
      req.once('end', answer);
    };

    const range = parseContentRange(headerValue(req.headers['content-range']), headerValue(req.headers['content-length']));
    if (!range) return drainThen(() => fail(res, 'Content-Range must be "bytes first-last/total" or "bytes */total".'));
    if (this.total !== undefined && range.total !== this.total) return drainThen(() => fail(res, `Content-Range total ${range.total} differs from the total of ${this.total} this session was given.`));
    this.total = range.total;

    if (range.query) {
      if (Number(req.headers['content-length'] ?? 0) !== 0) return drainThen(() => fail(res, 'A status query has an empty body.'));
      return drainThen(() => this.answer(res));
    }
    if (this.complete) return drainThen(() => this.onComplete(this, res));

    const length = range.last - range.first + 1;
    if (range.first !== this.stored) return drainThen(() => fail(res, `The chunk must start at byte ${this.stored}, where the session stands; it starts at ${range.first}.`));
    if (range.last >= range.total) return drainThen(() => fail(res, `The chunk ends at byte ${range.last}, beyond the total of ${range.total}.`));
    if (Number(req.headers['content-length']) !== length) return drainThen(() => fail(res, `Content-Length ${String(req.headers['content-length'])} does not match Content-Range (${length} bytes).`));
    const isLast = range.last === range.total - 1;
    if (!isLast && length % RESUMABLE_CHUNK_UNIT !== 0) return drainThen(() => fail(res, `Chunks other than the last must be a multiple of ${RESUMABLE_CHUNK_UNIT} bytes; this one has ${length}.`));

    const log: ResumableChunkLog = { contentRange: headerValue(req.headers['content-range']), bodyBytes: 0, kept: 0 };
    this.chunks.push(log);
    this.active = req;
    req.once('close', () => {
      if (this.active === req) this.active = undefined;
    });
    const limit = fault && 'keepBytes' in fault ? Math.min(length, fault.keepBytes) : length;
    const dropAfter = fault && 'dropAfterBytes' in fault ? fault.dropAfterBytes : undefined;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    // Stores `n` bytes from the front of `pending` (or discards them past the limit).
    const keep = (n: number) => {
      const bytes = Buffer.concat(pending, pendingBytes);
      const storable = Math.max(0, Math.min(n, limit - log.kept));
      if (storable > 0) this.store(bytes.subarray(0, storable));
      log.kept += storable;
      pending = [bytes.subarray(n)];
      pendingBytes -= n;
    };

    req.on('data', (chunk: Buffer) => {
      this.traffic.bytesReceived += chunk.length;
      log.bodyBytes += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= RESUMABLE_CHUNK_UNIT) keep(RESUMABLE_CHUNK_UNIT);
      if (dropAfter !== undefined && log.bodyBytes >= dropAfter) {
        req.socket.destroy();
        return;
      }
      const traffic = this.traffic;
      if (traffic.bytesPerSecond > 0) {
        traffic.readyAt = Math.max(traffic.readyAt, Date.now()) + (chunk.length / traffic.bytesPerSecond) * 1000;
        const wait = traffic.readyAt - Date.now();
        if (wait > 0) {
          req.pause();
          setTimeout(() => req.resume(), wait).unref();
        }
      }
    });
    req.on('end', () => {
      if (log.bodyBytes !== length) return; // cut short: the partial unit is dropped
      keep(pendingBytes);
      this.answer(res);
    });
  }

  /** Closes the file (a session whose owner shuts down). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private answer(res: ServerResponse): void {
    if (!this.complete && this.total !== undefined && this.stored === this.total) {
      this.complete = true;
      this.digest = this.hash.digest('hex');
      // An empty object has no bytes to write, but it is an object all the same.
      if (this.fd === undefined) this.fd = openSync(this.path, 'w');
      this.close();
    }
    if (this.complete) return this.onComplete(this, res);
    // No Range header at all when nothing is stored: clients must read that as 0 bytes.
    const headers: Record<string, string> = { 'content-length': '0' };
    if (this.stored > 0) headers.range = `bytes=0-${this.stored - 1}`;
    res.writeHead(308, headers).end();
  }

  private store(bytes: Buffer): void {
    this.fd ??= openSync(this.path, 'w');
    writeSync(this.fd, bytes, 0, bytes.length, this.stored);
    this.hash.update(bytes);
    this.stored += bytes.length;
  }
}

function parseContentRange(value: string | undefined, contentLength: string | undefined): { query: boolean; first: number; last: number; total: number } | undefined {
  // No Content-Range: the whole object in one request.
  if (value === undefined) {
    const length = Number(contentLength ?? 0);
    return { query: false, first: 0, last: length - 1, total: length };
  }
  const query = /^bytes \*\/(\d+)$/.exec(value);
  if (query) return { query: true, first: 0, last: -1, total: Number(query[1]) };
  const chunk = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value);
  if (!chunk) return undefined;
  const [first, last, total] = [Number(chunk[1]), Number(chunk[2]), Number(chunk[3])];
  return last < first ? undefined : { query: false, first, last, total };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
