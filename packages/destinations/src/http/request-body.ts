import type { Readable } from 'node:stream';
import { FormDataEncoder, type FileLike, type FormDataEntryValue, type FormDataLike } from 'form-data-encoder';
import { FleetError } from '@upload-fleet/core';

/**
 * The two request bodies of the HTTP destination, both streamed from the source and both
 * of a length known in advance: many upload endpoints (and proxies in front of them)
 * refuse chunked transfer encoding, and a Content-Length lets the server reject a file
 * that is too large before it arrives.
 */
export interface RequestBody {
  /** Content-Type (with the multipart boundary) and Content-Length. */
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array>;
  /** Bytes of the file inside `transferred` bytes of body, for progress reports. */
  fileBytesWithin(transferred: number): number;
}

/** PUT: the body is the file, byte for byte. */
export function rawBody(stream: Readable, size: number, contentType: string): RequestBody {
  return {
    headers: { 'content-type': contentType, 'content-length': String(size) },
    body: exactly(stream, size),
    fileBytesWithin: (transferred) => clamp(transferred, size),
  };
}

export interface MultipartParts {
  /** The form field the file goes in (`fileid`). */
  fileField: string;
  filename: string;
  contentType: string;
  /** Text fields (`fields`), sent before the file so the server sees them first. */
  fields: Record<string, string>;
}

/**
 * POST: multipart/form-data, encoded by form-data-encoder. Given a File-like object whose
 * `stream()` is the source, the encoder computes the exact Content-Length from the size
 * and streams the file through without holding it.
 */
export function multipartBody(stream: Readable, size: number, parts: MultipartParts): RequestBody {
  const form = new StreamingForm();
  for (const [name, value] of Object.entries(parts.fields)) form.append(name, value);
  form.append(parts.fileField, new SourceFile(parts.filename, parts.contentType, size, exactly(stream, size)));
  const encoder = new FormDataEncoder(form);

  // values() lists the envelope pieces and the file without reading the file: what comes
  // before the file is the part of the body that is not the file's progress.
  let bytesBeforeFile = 0;
  for (const piece of encoder.values()) {
    if (!(piece instanceof Uint8Array)) break;
    bytesBeforeFile += piece.byteLength;
  }

  return {
    headers: { 'content-type': encoder.contentType, 'content-length': String(encoder.contentLength) },
    body: encoder.encode(),
    fileBytesWithin: (transferred) => clamp(transferred - bytesBeforeFile, size),
  };
}

/** The most form-data-encoder passes through without splitting (see `exactly`). */
const MAX_CHUNK = 65_536;

/**
 * The source's bytes, checked against the size the headers promised. A source that
 * yields more or fewer bytes (a file rewritten mid-upload) would otherwise make a body
 * that contradicts its Content-Length: the server would hang waiting or read garbage.
 */
async function* exactly(stream: Readable, size: number): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    sent += chunk.byteLength;
    if (sent > size) throw sizeChanged(size, `more than ${size}`);
    // form-data-encoder splits chunks over 64 KiB with `chunk.buffer.slice(...)`, which
    // ignores the chunk's byteOffset: a view into a larger pooled buffer would be sent as
    // the wrong bytes. Pieces of at most 64 KiB are passed through untouched.
    for (let offset = 0; offset < chunk.byteLength; offset += MAX_CHUNK) {
      yield chunk.subarray(offset, offset + MAX_CHUNK);
    }
  }
  if (sent !== size) throw sizeChanged(size, String(sent));
}

function sizeChanged(expected: number, got: string): FleetError {
  return new FleetError('UF_UNKNOWN', `The source changed while it was being uploaded (expected ${expected} bytes, read ${got}); the upload will start again`);
}

function clamp(bytes: number, size: number): number {
  return Math.min(Math.max(bytes, 0), size);
}

/**
 * The File shape form-data-encoder recognises (its isFile() checks the toStringTag and a
 * `stream()` method). The global File would need the bytes up front; this one streams.
 */
class SourceFile implements FileLike {
  readonly [Symbol.toStringTag] = 'File';
  readonly lastModified = Date.now();

  constructor(
    readonly name: string,
    readonly type: string,
    readonly size: number,
    private readonly chunks: AsyncIterable<Uint8Array>,
  ) {}

  stream(): AsyncIterable<Uint8Array> {
    return this.chunks;
  }
}

/**
 * The FormData shape form-data-encoder reads. Node's global FormData turns any value that
 * is not a Blob into a string, so it cannot hold a streaming file.
 */
class StreamingForm implements FormDataLike {
  readonly [Symbol.toStringTag] = 'FormData';
  private readonly list: [string, FormDataEntryValue][] = [];

  append(name: string, value: unknown): void {
    this.list.push([name, value instanceof SourceFile ? value : String(value)]);
  }

  getAll(name: string): FormDataEntryValue[] {
    return this.list.filter(([key]) => key === name).map(([, value]) => value);
  }

  entries(): IterableIterator<[string, FormDataEntryValue]> {
    return this.list[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, FormDataEntryValue]> {
    return this.entries();
  }
}
