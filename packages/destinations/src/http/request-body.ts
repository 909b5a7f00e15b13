import { FormDataEncoder, type FileLike, type FormDataEntryValue, type FormDataLike } from 'form-data-encoder';

/**
 * The two request bodies of the HTTP destination, both streamed from the source and both
 * of a length known in advance: many upload endpoints (and proxies in front of them)
 * refuse chunked transfer encoding, and a Content-Length lets the server reject a file
 * that is too large before it arrives. The adapter writes `before`, then the file
 * (`writeSource`, exactly its size), then `after`.
 */
export interface RequestBody {
  /** Content-Type (with the multipart boundary) and Content-Length. */
  headers: Record<string, string>;
  /** Body bytes before the file (the multipart envelope up to the file's bytes); none for PUT. */
  before: Uint8Array[];
  /** Body bytes after the file (the multipart trailer); none for PUT. */
  after: Uint8Array[];
  /** Bytes of the file inside `transferred` bytes of body, for progress reports. */
  fileBytesWithin(transferred: number): number;
}

/** PUT: the body is the file, byte for byte. */
export function rawBody(size: number, contentType: string): RequestBody {
  return {
    headers: { 'content-type': contentType, 'content-length': String(size) },
    before: [],
    after: [],
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
 * POST: multipart/form-data, encoded by form-data-encoder. Given a File-like object of the
 * source's size, the encoder computes the exact Content-Length and lists the envelope's
 * pieces around the file (`values()`); the file's own bytes are not read through the
 * encoder, whose `encode()` would cut them into 64 KiB copies.
 */
export function multipartBody(size: number, parts: MultipartParts): RequestBody {
  const form = new StreamingForm();
  for (const [name, value] of Object.entries(parts.fields)) form.append(name, value);
  const file = new SourceFile(parts.filename, parts.contentType, size);
  form.append(parts.fileField, file);
  const encoder = new FormDataEncoder(form);

  const pieces = [...encoder.values()];
  const fileIndex = pieces.indexOf(file);
  const before = pieces.slice(0, fileIndex) as Uint8Array[];
  const after = pieces.slice(fileIndex + 1) as Uint8Array[];
  const bytesBeforeFile = before.reduce((sum, piece) => sum + piece.byteLength, 0);

  return {
    headers: { 'content-type': encoder.contentType, 'content-length': String(encoder.contentLength) },
    before,
    after,
    fileBytesWithin: (transferred) => clamp(transferred - bytesBeforeFile, size),
  };
}

function clamp(bytes: number, size: number): number {
  return Math.min(Math.max(bytes, 0), size);
}

/**
 * The File shape form-data-encoder recognises (its isFile() checks the toStringTag and a
 * `stream()` method): it stands for the source's bytes, which the adapter writes itself.
 */
class SourceFile implements FileLike {
  readonly [Symbol.toStringTag] = 'File';
  readonly lastModified = Date.now();

  constructor(
    readonly name: string,
    readonly type: string,
    readonly size: number,
  ) {}

  stream(): AsyncIterable<Uint8Array> {
    throw new Error('the file of a multipart body is written by the HTTP adapter, not read through the encoder');
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
