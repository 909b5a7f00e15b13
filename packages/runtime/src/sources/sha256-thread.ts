import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * An incremental SHA-256 for the whole-file hash of every result (source-digest.ts).
 *
 * A large file is hashed on a worker thread. On the main thread, hashing a 4 MiB chunk
 * holds the event loop for about 2 ms (0.55–0.6 CPU s per GiB with SHA-NI, measured by
 * `node --cpu-prof` on the HTTP bench): while it runs, nothing refills the socket that
 * just took the last chunk, so the upload stalls on its own checksum. On the thread, the
 * hash runs beside the socket writes. Memory in a SharedArrayBuffer (the upload's own
 * read buffers, source-writer.ts) is hashed in place; other chunks (S3's part buffers,
 * stream chunks) are copied once into shared buffers that are used again for later chunks:
 * a new buffer per chunk handed to the thread piled up there until its garbage collector
 * ran (S3's peak RSS went from 174 to 262 MiB with 8 MiB parts).
 *
 * A small file is hashed inline: a few milliseconds in all, less than a round trip to a
 * thread would add to a tiny delivery.
 */
export interface Sha256 {
  /**
   * Hashes `chunk` after everything given before. When it returns a promise, the thread
   * reads the chunk's memory in place (it lies in a SharedArrayBuffer): the memory must not
   * change before the promise settles. Otherwise the bytes were taken (hashed or copied)
   * before it returned.
   */
  update(chunk: Buffer): Promise<void> | undefined;
  /** The hex digest of all bytes given; rejects when the thread stopped meanwhile. */
  digest(): Promise<string>;
  /** Drops the hash state (an attempt that ended before its digest). */
  discard(): void;
}

/** Files from this size on are hashed on the thread. */
export const THREADED_SHA256_MIN_BYTES = 16 * 1024 * 1024;

/**
 * The thread is chosen by the first chunk: shared memory means the adapter reads into
 * shared buffers (writeSource), which the thread hashes in place. An adapter that reads into
 * plain buffers (S3's part buffers) is hashed inline: copied to the thread, its parts cost a
 * copy and staging buffers, and a peak RSS at 4 GiB of 207 MiB instead of 173.
 */
export function sha256For(size: number): Sha256 {
  if (size < THREADED_SHA256_MIN_BYTES) return inlineSha256();
  let chosen: Sha256 | undefined;
  return {
    update(chunk) {
      chosen ??= chunk.buffer instanceof SharedArrayBuffer ? threadedSha256() : inlineSha256();
      return chosen.update(chunk);
    },
    digest: () => (chosen ??= inlineSha256()).digest(),
    discard: () => (chosen ??= inlineSha256()).discard(),
  };
}

export function inlineSha256(): Sha256 {
  const hash = createHash('sha256');
  let ended = false;
  return {
    update(chunk) {
      if (ended) throw new Error('the SHA-256 was already computed or discarded');
      hash.update(chunk);
      return undefined;
    },
    async digest() {
      if (ended) throw new Error('the SHA-256 was already computed or discarded');
      ended = true;
      return hash.digest('hex');
    },
    discard() {
      ended = true;
    },
  };
}

export function threadedSha256(): Sha256 {
  const thread = (current ??= new HashThread());
  const id = (nextHashId += 1);
  let ended = false;
  return {
    update(chunk) {
      if (ended) throw new Error('the SHA-256 was already computed or discarded');
      if (chunk.length === 0) return undefined;
      if (chunk.buffer instanceof SharedArrayBuffer) {
        return thread.request({ op: 'update', id, buffer: chunk.buffer, byteOffset: chunk.byteOffset, length: chunk.length }).then(() => undefined);
      }
      const staged = thread.staging.take(chunk.length);
      new Uint8Array(staged, 0, chunk.length).set(chunk);
      // A thread that stopped fails this hash's digest; the buffer is then simply not kept.
      thread.request({ op: 'update', id, buffer: staged, byteOffset: 0, length: chunk.length }).then(
        () => thread.staging.give(staged),
        () => undefined,
      );
      return undefined;
    },
    async digest() {
      if (ended) throw new Error('the SHA-256 was already computed or discarded');
      ended = true;
      return String(await thread.request({ op: 'digest', id }));
    },
    discard() {
      if (ended) return;
      ended = true;
      thread.forget(id);
    },
  };
}

let current: HashThread | undefined;
let nextHashId = 0;

/** Stops the shared thread: its unfinished hashes fail, the next hash starts a new one (tests). */
export async function stopSha256Thread(): Promise<void> {
  await current?.stop();
}

// Plain JavaScript evaluated in the thread: no module to resolve, in the built worker and
// under tsx alike. It keeps one hash per id and answers requests in the order they came.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (message) => {
  const { op, id, reply } = message;
  if (op === 'update') {
    let hash = hashes.get(id);
    if (!hash) hashes.set(id, (hash = createHash('sha256')));
    hash.update(new Uint8Array(message.buffer, message.byteOffset, message.length));
    if (reply !== undefined) parentPort.postMessage({ reply });
  } else if (op === 'digest') {
    const hash = hashes.get(id) ?? createHash('sha256');
    hashes.delete(id);
    parentPort.postMessage({ reply, value: hash.digest('hex') });
  } else if (op === 'discard') {
    hashes.delete(id);
  }
});
`;

interface Message {
  op: 'update' | 'digest' | 'discard';
  id: number;
  buffer?: ArrayBufferLike;
  byteOffset?: number;
  length?: number;
}

/** Free staging buffers kept for the next copies, in bytes at most; more are left to the collector. */
const STAGING_KEPT_BYTES = 16 * 1024 * 1024;
const STAGING_MIN_BYTES = 64 * 1024;

/** Shared buffers that plain chunks are copied into for the thread, by capacity (a power of two). */
class StagingBuffers {
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  private freeBytes = 0;

  take(length: number): SharedArrayBuffer {
    const capacity = Math.max(STAGING_MIN_BYTES, 2 ** Math.ceil(Math.log2(length)));
    const kept = this.free.get(capacity)?.pop();
    if (!kept) return new SharedArrayBuffer(capacity);
    this.freeBytes -= capacity;
    return kept;
  }

  give(buffer: SharedArrayBuffer): void {
    if (this.freeBytes + buffer.byteLength > STAGING_KEPT_BYTES) return;
    this.freeBytes += buffer.byteLength;
    const list = this.free.get(buffer.byteLength);
    if (list) list.push(buffer);
    else this.free.set(buffer.byteLength, [buffer]);
  }
}

/** One thread per process, shared by its uploads; started on first use. */
class HashThread {
  readonly staging = new StagingBuffers();
  private readonly worker = new Worker(THREAD_SOURCE, { eval: true, name: 'upload-fleet sha256' });
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextReply = 0;
  private stopped: Error | undefined;

  constructor() {
    // Only a pending request keeps the process alive, not the idle thread.
    this.worker.unref();
    this.worker.on('message', ({ reply, value }: { reply: number; value?: unknown }) => {
      const waiter = this.waiting.get(reply);
      this.waiting.delete(reply);
      if (this.waiting.size === 0) this.worker.unref();
      waiter?.resolve(value);
    });
    this.worker.on('error', (error) => this.halt(new Error(`the SHA-256 thread failed: ${error.message}`)));
    this.worker.on('exit', (code) => this.halt(new Error(`the SHA-256 thread exited (code ${code})`)));
  }

  async stop(): Promise<void> {
    const code = await this.worker.terminate();
    this.halt(new Error(`the SHA-256 thread exited (code ${code})`));
  }

  /** Fails what waits on this thread, and lets the next hash start a new one. */
  private halt(error: Error): void {
    this.stopped ??= error;
    if (current === this) current = undefined;
    for (const waiter of this.waiting.values()) waiter.reject(this.stopped);
    this.waiting.clear();
  }

  /** Drops a hash's state; a thread that stopped holds none. */
  forget(id: number): void {
    if (!this.stopped) this.worker.postMessage({ op: 'discard', id });
  }

  request(message: Message): Promise<unknown> {
    if (this.stopped) return Promise.reject(this.stopped);
    const reply = (this.nextReply += 1);
    const answer = new Promise((resolve, reject) => this.waiting.set(reply, { resolve, reject }));
    if (this.waiting.size === 1) this.worker.ref();
    this.worker.postMessage({ ...message, reply });
    return answer;
  }
}
