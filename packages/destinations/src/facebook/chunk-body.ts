import { randomBytes } from 'node:crypto';
import type { GraphRequestBody } from './graph-client.js';

/**
 * Request bodies of the three upload phases. `start` and `finish` carry a few text fields
 * (form-urlencoded); `transfer` is multipart/form-data with the chunk in `video_file_chunk`,
 * as Graph requires for it.
 */

export function formBody(fields: Record<string, string>): GraphRequestBody {
  const body = new URLSearchParams(fields).toString();
  return { headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) }, body };
}

export interface ChunkPart {
  /** Form field of the chunk. */
  field: string;
  filename: string;
  contentType: string;
  length: number;
  bytes: AsyncIterable<Uint8Array>;
}

export interface ChunkBody extends GraphRequestBody {
  /** Bytes of the chunk inside `transferred` bytes of body, for progress reports. */
  chunkBytesWithin(transferred: number): number;
}

/**
 * multipart/form-data with the text fields first (Graph, and the fake, read them before
 * the chunk) and the chunk streamed through. Built by hand: the envelope is three
 * fixed pieces, and its exact length gives a Content-Length, which Graph's front ends
 * expect on uploads (no chunked transfer encoding).
 */
export function chunkBody(fields: Record<string, string>, part: ChunkPart): ChunkBody {
  const boundary = `upload-fleet-${randomBytes(16).toString('hex')}`;
  const head =
    Object.entries(fields)
      .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`)
      .join('') +
    `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(part.field)}"; filename="${quoted(part.filename)}"\r\n` +
    `Content-Type: ${part.contentType.replace(/[\r\n]/g, '')}\r\n\r\n`;
  const preamble = Buffer.from(head, 'utf8');
  const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');

  async function* body(): AsyncGenerator<Uint8Array> {
    yield preamble;
    yield* part.bytes;
    yield epilogue;
  }

  return {
    headers: {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(preamble.length + part.length + epilogue.length),
    },
    body: body(),
    chunkBytesWithin: (transferred) => Math.min(Math.max(transferred - preamble.length, 0), part.length),
  };
}

/** Names and filenames inside the quoted Content-Disposition parameters (RFC 7578: escape quotes, no line breaks). */
function quoted(text: string): string {
  return text.replace(/[\r\n]/g, ' ').replace(/"/g, '%22');
}
