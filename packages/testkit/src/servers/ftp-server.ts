import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { FileSystem, FtpSrv, type FtpConnection } from 'ftp-srv';

/** ftp-srv in this process: the FTP stand-in of the tests and of `pnpm demo`. */

export const REFUSED_FOLDER = 'refused';

export interface FtpServerOptions {
  /** user name -> password. */
  users?: Record<string, string>;
  /** Accept USER anonymous (with any password). */
  anonymous?: boolean;
  /** FTPS with this key and certificate: explicit (AUTH TLS) unless `implicitTls`. */
  tls?: { key: string; cert: string };
  /** TLS from the first byte (implicit FTPS) instead of AUTH TLS. */
  implicitTls?: boolean;
  /** The login folder, relative to the root (default "/"). */
  home?: string;
  /** Refuse RNTO onto an existing file (550), as IIS and some NAS servers do. */
  renameRefusesExisting?: boolean;
  /** The address PASV answers name (default: the client's own, ftp-srv's behaviour for local clients). */
  pasvAddress?: string;
  /** Commands answered 502 for everyone, e.g. ['EPSV'] or ['APPE']. */
  refusedCommands?: string[];
}

export interface LocalFtpServer {
  /** "127.0.0.1:<port>", as a destination's host. */
  readonly host: string;
  readonly port: number;
  /** The folder the FTP root maps to. */
  readonly root: string;
  /** File bytes written to disk since the start. */
  bytesReceived(): number;
  /** Limits file bytes per second over all uploads; 0 removes the limit. */
  throttle(bytesPerSecond: number): void;
  /** Every command line received, in order (PASS included: tests check where it did not go). */
  readonly commands: string[];
  /** Every login, in order, and whether its control connection was encrypted. */
  readonly logins: { user: string; tls: boolean }[];
  /** Every upload (STOR/APPE), in order, and whether its data connection was encrypted. */
  readonly uploads: { path: string; tls: boolean }[];
  close(): Promise<void>;
}

export async function startFtpServer(options: FtpServerOptions = {}): Promise<LocalFtpServer> {
  const root = mkdtempSync(join(tmpdir(), 'upload-fleet-ftp-srv-'));
  const meter = new Meter();
  const commands: string[] = [];
  const logins: { user: string; tls: boolean }[] = [];
  const uploads: { path: string; tls: boolean }[] = [];
  const pasvMin = 21_000 + Math.floor(Math.random() * 40) * 200;
  const signalListeners = listenersOf(['SIGTERM', 'SIGINT', 'SIGQUIT']);
  const server = new FtpSrv({
    url: options.implicitTls ? 'ftps://127.0.0.1:0' : 'ftp://127.0.0.1:0',
    pasv_url: (options.pasvAddress ?? '127.0.0.1') as string,
    pasv_min: pasvMin,
    pasv_max: pasvMin + 199,
    anonymous: options.anonymous ?? false,
    blacklist: options.refusedCommands ?? [],
    tls: options.tls ?? false,
    log: quietLog,
  });
  // ftp-srv exits the process on SIGTERM/SIGINT, which is not its call inside a test run.
  for (const [signal, before] of signalListeners) {
    for (const listener of process.listeners(signal)) if (!before.includes(listener)) process.removeListener(signal, listener);
  }
  if (options.pasvAddress) {
    // ftp-srv answers local clients with their own address unless pasv_url is a function.
    const address = options.pasvAddress;
    (server as unknown as { options: { pasv_url: unknown } }).options.pasv_url = () => address;
  }

  // 'connect' is emitted by ftp-srv (src/index.js) but missing from its typings.
  (server as unknown as NodeJS.EventEmitter).on('connect', ({ connection }: { connection: FtpConnection }) => {
    const socket = (connection as unknown as { commandSocket: NodeJS.EventEmitter }).commandSocket;
    socket.on('data', (data: Buffer) => commands.push(...data.toString('utf8').split('\r\n').filter(Boolean)));
  });
  server.on('login', ({ connection, username, password }, resolve, reject) => {
    const anonymous = options.anonymous === true && username === 'anonymous';
    if (!anonymous && (options.users?.[username] === undefined || options.users[username] !== password)) {
      reject(new Error('Login incorrect'));
      return;
    }
    logins.push({ user: username, tls: Boolean(connection.secure) });
    const fs = new MeteredFileSystem(connection, { root, cwd: options.home ?? '/' }, meter, options.renameRefusesExisting ?? false, uploads);
    resolve({ fs: fs as unknown as FileSystem });
  });
  if (options.home) mkdirSync(join(root, options.home), { recursive: true });
  await server.listen();
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();

  return {
    host: `127.0.0.1:${port}`,
    port,
    root,
    bytesReceived: () => meter.bytes,
    throttle: (bytesPerSecond) => meter.setRate(bytesPerSecond),
    commands,
    logins,
    uploads,
    async close() {
      meter.setRate(0);
      await server.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * ftp-srv's file system, with every upload's bytes going through the meter, and writes
 * under REFUSED_FOLDER refused (ftp-srv answers a thrown error with 550).
 */
class MeteredFileSystem extends FileSystem {
  constructor(
    connection: FtpConnection,
    paths: { root: string; cwd: string },
    private readonly meter: Meter,
    private readonly renameRefusesExisting: boolean,
    private readonly uploads: { path: string; tls: boolean }[],
  ) {
    super(connection, paths);
  }

  override rename(from: string, to: string): Promise<unknown> {
    const target = (this as unknown as { _resolvePath(path: string): { fsPath: string } })._resolvePath(to);
    if (this.renameRefusesExisting && existsSync(target.fsPath)) return Promise.reject(new Error('Cannot create a file when that file already exists'));
    return super.rename(from, to);
  }

  override write(fileName: string, options?: { append?: boolean; start?: unknown }): { stream: Writable; clientPath: string } {
    const resolved = (this as unknown as { _resolvePath(path: string): { clientPath: string } })._resolvePath(fileName);
    if (resolved.clientPath.split('/').includes(REFUSED_FOLDER)) throw new Error('Permission denied');
    const inner = super.write(fileName, options) as { stream: Writable; clientPath: string };
    const dataSocket = (this.connection as unknown as { connector?: { socket?: unknown } }).connector?.socket;
    this.uploads.push({ path: inner.clientPath, tls: dataSocket instanceof TLSSocket });
    return { stream: meteredWriter(inner.stream, this.meter), clientPath: inner.clientPath };
  }
}

/**
 * A Writable in front of the file's write stream: each chunk waits for the meter, then
 * goes to the file. ftp-srv ends an upload by emitting 'close' on the stream it was given
 * and waits for 'finish' (see its stor.js and fs.js), so 'close' ends this writer, and
 * 'finish' comes once the file is closed: the 226 reply means the bytes are on disk.
 */
function meteredWriter(file: Writable, meter: Meter): Writable {
  const writer = new Writable({
    write(chunk: Buffer, _encoding, done) {
      meter.take(chunk.length).then(
        () => {
          meter.bytes += chunk.length;
          file.write(chunk, (error) => done(error ?? null));
        },
        (error: Error) => done(error),
      );
    },
    final(done) {
      file.once('error', done);
      file.once('close', () => done());
      file.end();
    },
    destroy(error, done) {
      file.destroy(error ?? undefined);
      done(error);
    },
  });
  writer.once('close', () => {
    if (!writer.destroyed) writer.end();
  });
  return writer;
}

/** Counts bytes and paces them to a rate shared by every upload (0: no limit). */
export class Meter {
  bytes = 0;
  private rate = 0;
  private nextFree = 0;
  private readonly waiting = new Set<{ timer: NodeJS.Timeout; release(): void }>();

  take(bytes: number): Promise<void> {
    if (this.rate <= 0) return Promise.resolve();
    const now = Date.now();
    const start = Math.max(now, this.nextFree);
    this.nextFree = start + (bytes / this.rate) * 1000;
    const wait = start - now;
    if (wait <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.waiting.delete(entry);
          resolve();
        }, wait),
        release: () => {
          clearTimeout(entry.timer);
          resolve();
        },
      };
      this.waiting.add(entry);
    });
  }

  setRate(bytesPerSecond: number): void {
    this.rate = bytesPerSecond;
    this.nextFree = Date.now();
    if (bytesPerSecond <= 0) {
      for (const entry of this.waiting) entry.release();
      this.waiting.clear();
    }
  }
}

export async function storedFile(path: string): Promise<{ size: number; sha256: string } | undefined> {
  // One open file for both the size and the bytes: a stat and a read by name can straddle a rename
  // and mix the old file's size with the new file's bytes.
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) return undefined;
    const hash = createHash('sha256');
    for await (const chunk of file.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    return { size: stat.size, sha256: hash.digest('hex') };
  } finally {
    await file.close();
  }
}


function listenersOf(signals: NodeJS.Signals[]): [NodeJS.Signals, unknown[]][] {
  return signals.map((signal) => [signal, process.listeners(signal)]);
}

/** ftp-srv logs through bunyan to stdout by default; TEST_LOG_LEVEL=debug shows its errors. */
const quietLog = (() => {
  const show = process.env.TEST_LOG_LEVEL === 'debug';
  const noop = () => undefined;
  const log: Record<string, unknown> = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: show ? (...args: unknown[]) => console.warn('[ftp-srv]', ...args) : noop,
    error: show ? (...args: unknown[]) => console.warn('[ftp-srv]', ...args) : noop,
    fatal: noop,
    child: () => log,
  };
  return log;
})();
