import { Readable, type Writable } from 'node:stream';
import type { UploadSource } from '../adapter.js';
import { writeSource } from '../source-writer.js';

/**
 * The body of a STOR or APPE. basic-ftp pipes a Readable into the data connection once the
 * server has said 150 and the connection (TLS included) is up; this one pushes no bytes of
 * its own. At the first read, which is that moment, it writes the source straight into the
 * data connection with `writeSource` (two reused buffers of SOURCE_WRITE_CHUNK_BYTES, exactly `size - offset`
 * bytes, UF_SOURCE_CHANGED otherwise) and then ends, so basic-ftp's pipe ends the data
 * connection after the last byte has been taken.
 *
 * Piping a file stream instead allocated a buffer per chunk, and the garbage collector's
 * full collections that this sets off cost the worker more CPU than the transfer itself
 * (`--cpu-prof` of a 256 MiB upload to vsftpd: 0.94 s in the collector; docs/benchmarks.md).
 */
export class DataConnectionBody extends Readable {
  private started = false;
  /** Stops the writing when basic-ftp (or the adapter) destroys the body. */
  private readonly stopped = new AbortController();

  constructor(
    private readonly source: UploadSource,
    private readonly offset: number,
    /** The data connection basic-ftp opened for this transfer (its `ftp.dataSocket`). */
    private readonly dataConnection: () => Writable | undefined,
    private readonly signal: AbortSignal,
  ) {
    super();
  }

  override _read(): void {
    if (this.started) return;
    this.started = true;
    const connection = this.dataConnection();
    if (!connection) {
      this.destroy(new Error('the FTP transfer started without a data connection'));
      return;
    }
    writeSource(this.source, this.offset, connection, { destination: 'ftp', signal: AbortSignal.any([this.signal, this.stopped.signal]) }).then(
      () => this.push(null),
      (error: unknown) => this.destroy(error as Error),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopped.abort(error ?? new Error('the FTP transfer was stopped'));
    callback(error);
  }
}
