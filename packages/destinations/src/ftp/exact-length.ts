import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { FleetError } from '@upload-fleet/core';

/**
 * The source's bytes from an offset, checked against the length the upload expects.
 * FTP has no Content-Length: a source that yields fewer bytes (a file truncated or
 * rewritten mid-upload) would otherwise end as a "complete" shorter file on the server.
 * The error travels down the data connection, so the transfer fails and the temporary
 * file is never renamed.
 */
export class ExactLength extends Transform {
  /** Bytes passed through so far. */
  bytes = 0;

  constructor(
    source: Readable,
    private readonly expected: number,
  ) {
    super();
    // pipe() does not forward errors: a failing source must fail the transfer.
    source.once('error', (error) => this.destroy(error));
    source.pipe(this);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expected) done(sourceChanged(this.expected, `more than ${this.expected}`));
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.bytes !== this.expected) done(sourceChanged(this.expected, String(this.bytes)));
    else done();
  }
}

function sourceChanged(expected: number, got: string): FleetError {
  return new FleetError('UF_SOURCE_CHANGED', `The source changed while it was being uploaded (expected ${expected} bytes from the resume point, read ${got})`, {
    destination: 'ftp',
  });
}
