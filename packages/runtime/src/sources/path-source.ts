import { close, closeSync, constants, createReadStream, existsSync, fstat, fstatSync, open, openSync, read, readlink, readlinkSync, readSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FleetError } from '@upload-fleet/core';
import type { SourceReader, UploadSource } from '@upload-fleet/destinations';
import { INLINE_READ_MAX_BYTES, inlineFileCallsUnder, type SourceFileCalls } from './file-calls.js';

/**
 * A file under SOURCE_ROOT. The path comes from the request, so it is treated as hostile:
 * `..`, absolute paths elsewhere and symlinks that lead out of the root are refused, or a
 * caller could upload /etc/passwd or a mounted secret to a server of their choosing.
 *
 * `holdOpen` (the worker's source of an upload attempt): the file is checked by opening it,
 * and the first open()/openReader() reads from that very descriptor, so the bytes sent are
 * those of the file that was checked and sized, and a tiny upload costs five file system
 * calls (open, readlink, fstat, read, close) instead of seven: each asynchronous call is a
 * hop to libuv's thread pool and back, about 70 µs of CPU on a busy worker, and the seven
 * were a third of a 1 KiB delivery's CPU. Later opens check the path again. The caller must
 * close() the source when the attempt ends: it releases the descriptor if nothing read it.
 * The calls go through fs's callback functions, not FileHandle (see FileDescriptor), or run
 * inline on a local file system (`fileCalls`, file-calls.ts): no hop at all.
 */
export async function openPathSource(
  requestedPath: string,
  sourceRoot: string,
  options: { holdOpen?: boolean; fileCalls?: SourceFileCalls } = {},
): Promise<UploadSource & { close(): Promise<void> }> {
  const root = path.resolve(sourceRoot);
  // Say nothing about files outside the root, not even whether they exist: the lexical
  // check comes before any file system call on the requested path.
  if (requestedPath.includes('\0')) throw forbidden(requestedPath, 'contains a NUL byte');
  const candidate = path.resolve(root, requestedPath);
  if (!isInside(root, candidate)) throw forbidden(requestedPath, 'is outside SOURCE_ROOT');

  const description = toPosix(path.relative(root, candidate));
  const realRoot = await realRootOf(root);
  const inline = inlineFileCallsUnder(realRoot, options.fileCalls ?? 'auto');
  const notRegular = () => new FleetError('UF_SOURCE_NOT_FOUND', `Source path "${description}" is not a regular file`);
  let held: FileDescriptor | undefined;
  let size: number;
  if (options.holdOpen) {
    held = await openInside(realRoot, candidate, description, inline);
    try {
      const info = await held.stat();
      if (!info.isFile()) throw notRegular();
      size = info.size;
    } catch (error) {
      await held.close();
      throw error;
    }
  } else {
    const info = await stat(await realFileInside(realRoot, candidate, description));
    if (!info.isFile()) throw notRegular();
    size = info.size;
  }

  /** The checked descriptor for the first open, else a fresh, checked one. */
  const handleForRead = async (): Promise<FileDescriptor> => {
    const handle = held;
    held = undefined;
    return handle ?? (await openChecked());
  };

  return {
    size,
    description,
    async open(offset = 0): Promise<Readable> {
      assertOffset(offset, size);
      const handle = await handleForRead();
      return handle.readStream(offset);
    },
    async openReader(): Promise<SourceReader> {
      const handle = await handleForRead();
      return {
        read: (buffer, position) => handle.read(buffer, position),
        close: () => handle.close(),
      };
    },
    async close(): Promise<void> {
      const handle = held;
      held = undefined;
      await handle?.close();
    },
  };

  async function openChecked(): Promise<FileDescriptor> {
    // Check again: between the check above and now (a retry may come hours later) a path
    // component could have been replaced by a symlink that leads elsewhere.
    const handle = await openInside(realRoot, candidate, description, inline);
    try {
      // The destination was promised `size` bytes (Content-Length, resumable sessions):
      // a file rewritten since must be opened afresh, not sent half old, half new.
      const now = await handle.stat();
      if (!now.isFile()) throw new FleetError('UF_SOURCE_NOT_FOUND', `Source path "${description}" is not a regular file any more`);
      if (now.size !== size) {
        throw new FleetError('UF_SOURCE_CHANGED', `Source "${description}" changed size while the upload ran (${size} bytes, now ${now.size}); the upload will start again`);
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle;
  }
}

/**
 * Bytes per read of a file source. Node's default (64 KiB) makes 16,384 chunks of a GiB, and
 * every chunk costs each layer above it (body checks, the HTTP client, progress, the
 * socket write) its per-chunk work; 1 MiB cuts that 16-fold for 1 MiB of buffer per upload.
 */
export const FILE_READ_CHUNK_BYTES = 1024 * 1024;

/**
 * The real path of each SOURCE_ROOT, resolved once per process: the root is the operator's
 * (not the request's) and does not move while the worker runs, so resolving it for every
 * upload was a file system walk per job for nothing. A root that cannot be read is not
 * remembered: it is tried again on the next upload.
 */
const realRoots = new Map<string, string>();

async function realRootOf(root: string): Promise<string> {
  const known = realRoots.get(root);
  if (known !== undefined) return known;
  try {
    const real = await realpath(root);
    realRoots.set(root, real);
    return real;
  } catch (error) {
    throw new FleetError('UF_CONFIGURATION', `SOURCE_ROOT "${root}" cannot be read (${codeOf(error)})`, { cause: error });
  }
}

/**
 * Opens the file and checks where the opened file really is: on Linux the kernel's name of
 * the open descriptor (/proc/self/fd/N, one readlink) rather than a realpath before the
 * open, which costs a walk of every path component per upload and leaves a moment between
 * the check and the open for a swap. O_NONBLOCK: a FIFO swapped in does not hang the open
 * (on a regular file the flag does nothing). Elsewhere (no /proc) realpath, then open.
 */
async function openInside(realRoot: string, candidate: string, description: string, inline: boolean): Promise<FileDescriptor> {
  if (!procFdAvailable) {
    const current = await realFileInside(realRoot, candidate, description);
    return await FileDescriptor.open(current, constants.O_RDONLY, inline).catch((error: unknown) => {
      throw notFoundOr(error, description);
    });
  }
  const handle = await FileDescriptor.open(candidate, constants.O_RDONLY | constants.O_NONBLOCK, inline).catch((error: unknown) => {
    throw notFoundOr(error, description);
  });
  try {
    // /proc is the kernel's memory: inline, this never waits on the file's own file system.
    const real = inline
      ? readlinkSync(`/proc/self/fd/${handle.fd}`)
      : await new Promise<string>((resolve, reject) => readlink(`/proc/self/fd/${handle.fd}`, (error, link) => (error ? reject(error) : resolve(link))));
    if (!isInside(realRoot, real)) throw forbidden(description, 'is a symbolic link that leads outside SOURCE_ROOT');
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

const procFdAvailable = process.platform === 'linux' && existsSync('/proc/self/fd');

/**
 * An open file by its descriptor number, through fs's callback functions rather than a
 * FileHandle: open, readlink, fstat, a 1 KiB read and close cost 75–100 µs of CPU with
 * FileHandle and 44–55 µs with the callback functions (fifty at once, Node 24, this
 * machine): FileHandle's promise and close tracking, on every upload. What FileHandle
 * guarded is kept: the number is closed once, and only when no call on it is still under
 * way (a read that ran after the close could read a file opened since under the same
 * number); nothing reads it after its close; a stream that takes it over closes it itself.
 *
 * `inline` (file-calls.ts): open, fstat, small reads and close run synchronously on the
 * event loop, and answer settled promises; a read larger than INLINE_READ_MAX_BYTES still
 * goes to the thread pool, and a close waits for it as above.
 */
class FileDescriptor {
  /** Set once the descriptor is closed (or closing), or handed to a stream that closes it. */
  private released = false;
  /** Calls on the descriptor under way in the thread pool; the close waits for them to settle. */
  private readonly underWay = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  private constructor(
    readonly fd: number,
    private readonly inline: boolean,
  ) {}

  static open(file: string, flags: number, inline: boolean): Promise<FileDescriptor> {
    if (inline) return settledNow(() => new FileDescriptor(openSync(file, flags), true));
    return new Promise((resolve, reject) => open(file, flags, (error, fd) => (error ? reject(error) : resolve(new FileDescriptor(fd, false)))));
  }

  stat(): Promise<Stats> {
    if (this.inline) return this.callNow(() => fstatSync(this.fd));
    return this.call<Stats>((done) => fstat(this.fd, done));
  }

  read(buffer: Uint8Array, position: number): Promise<number> {
    if (this.inline && buffer.byteLength <= INLINE_READ_MAX_BYTES) return this.callNow(() => readSync(this.fd, buffer, 0, buffer.byteLength, position));
    return this.call<number>((done) => read(this.fd, buffer, 0, buffer.byteLength, position, (error, bytesRead) => done(error, bytesRead)));
  }

  /** A stream of the file from `start`, which closes the descriptor when it ends or is destroyed. */
  readStream(start: number): Readable {
    if (this.released) throw closedError();
    this.released = true;
    return createReadStream('', { fd: this.fd, start, highWaterMark: FILE_READ_CHUNK_BYTES, autoClose: true });
  }

  close(): Promise<void> {
    if (this.released) return this.closing ?? Promise.resolve();
    this.released = true;
    this.closing = this.closeAfterCallsUnderWay();
    return this.closing;
  }

  private async closeAfterCallsUnderWay(): Promise<void> {
    // No call starts after `released`: the set only empties.
    while (this.underWay.size > 0) await Promise.allSettled([...this.underWay]);
    if (this.inline) closeSync(this.fd);
    else await new Promise<void>((resolve, reject) => close(this.fd, (error) => (error ? reject(error) : resolve())));
  }

  /** Runs one fs call on the descriptor in the thread pool, tracked so that a close waits for it. */
  private call<T>(start: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
    if (this.released) return Promise.reject(closedError());
    const answer = new Promise<T>((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value))));
    this.underWay.add(answer);
    const settled = () => this.underWay.delete(answer);
    answer.then(settled, settled);
    return answer;
  }

  /** Runs one fs call on the descriptor inline: it is over before anything else runs, so a close has nothing to wait for. */
  private callNow<T>(call: () => T): Promise<T> {
    if (this.released) return Promise.reject(closedError());
    return settledNow(call);
  }
}

/** A synchronous call's outcome as a settled promise: what the asynchronous call would have answered. */
function settledNow<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

function closedError(): Error {
  return Object.assign(new Error('the source file was already closed'), { code: 'EBADF' });
}

/** The real path of a file, refused unless it lies inside the real root (symlinks resolved). */
async function realFileInside(realRoot: string, candidate: string, description: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(candidate);
  } catch (error) {
    throw notFoundOr(error, description);
  }
  if (!isInside(realRoot, real)) throw forbidden(description, 'is a symbolic link that leads outside SOURCE_ROOT');
  return real;
}

function notFoundOr(error: unknown, description: string): FleetError {
  const code = codeOf(error);
  if (code === 'EACCES' || code === 'EPERM') {
    return new FleetError('UF_SOURCE_FORBIDDEN', `Source path "${description}" cannot be read by the worker (${code})`, { cause: error });
  }
  if (code === 'ELOOP') return forbidden(description, 'is a symbolic link loop');
  // ENOENT, ENOTDIR and anything else that means "there is no such file here".
  return new FleetError('UF_SOURCE_NOT_FOUND', `Source path "${description}" does not exist (${code})`, { cause: error });
}

function forbidden(requestedPath: string, why: string): FleetError {
  return new FleetError('UF_SOURCE_FORBIDDEN', `Source path "${requestedPath}" ${why}`);
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

function assertOffset(offset: number, size: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > size) {
    throw new RangeError(`offset must be an integer from 0 to ${size}, got ${offset}`);
  }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
