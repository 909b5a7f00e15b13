import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { UploadSource } from './adapter.js';
import { SOURCE_WRITE_CHUNK_BYTES, writeSource } from './source-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-source-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file source with a positional reader, announcing `size` bytes whatever the file holds. */
function fileSource(path: string, size: number, reader = true): UploadSource {
  return {
    size,
    description: 'clip.mp4',
    open: async (offset = 0) => (await open(path)).createReadStream({ start: offset }),
    ...(reader
      ? {
          openReader: async () => {
            const handle = await open(path);
            return { read: async (buffer: Uint8Array, position: number) => (await handle.read(buffer, 0, buffer.byteLength, position)).bytesRead, close: () => handle.close() };
          },
        }
      : {}),
  };
}

/** A sink that takes its time over each chunk and reads the chunk's bytes only just before it calls back. */
function slowSink(): Writable & { digest(): string; bytes: number } {
  const hash = createHash('sha256');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      setTimeout(() => {
        hash.update(chunk);
        sink.bytes += chunk.length;
        callback();
      }, 2);
    },
  }) as Writable & { digest(): string; bytes: number };
  sink.bytes = 0;
  sink.digest = () => hash.digest('hex');
  return sink;
}

describe('writeSource', () => {
  const bytes = randomBytes(5 * SOURCE_WRITE_CHUNK_BYTES + 12_345);
  const path = join(dir, 'clip.mp4');
  writeFileSync(path, bytes);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it.each([
    ['a positional reader (two reused buffers)', true],
    ['a stream', false],
  ])('writes every byte from the offset, in order and unchanged, with %s and a slow sink', async (_name, reader) => {
    for (const offset of [0, SOURCE_WRITE_CHUNK_BYTES + 7]) {
      const sink = slowSink();
      await writeSource(fileSource(path, bytes.length, reader), offset, sink, { destination: 'http' });
      expect(sink.bytes).toBe(bytes.length - offset);
      expect(sink.digest()).toBe(sha(bytes.subarray(offset)));
    }
  });

  it.each([
    ['shorter', bytes.length + 10, /ended at byte/],
    ['longer', bytes.length - 10, /has more bytes/],
  ])('fails with UF_SOURCE_CHANGED when the file is %s than its announced size', async (_name, size, message) => {
    for (const reader of [true, false]) {
      const error = await writeSource(fileSource(path, size, reader), 0, slowSink(), { destination: 'ftp' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'UF_SOURCE_CHANGED', message: expect.stringMatching(message) });
    }
  });

  it('finds a file that has grown before it writes the last byte: the sink never holds the whole announced size', async () => {
    // A destination that has all it was promised may answer at once (an HTTP 200), taking a grown file as complete.
    const size = 2 * SOURCE_WRITE_CHUNK_BYTES;
    const grownStream: UploadSource = { size, description: 'x', open: async () => Readable.from([bytes.subarray(0, size), bytes.subarray(size, size + 5)]) };
    for (const source of [fileSource(path, size, true), fileSource(path, size, false), grownStream]) {
      const sink = slowSink();
      const error = await writeSource(source, 0, sink, { destination: 'http' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'UF_SOURCE_CHANGED', message: expect.stringMatching(/has more bytes/) });
      expect(sink.bytes).toBeLessThan(size);
    }
  });

  it('reads a small file once: the read that asks one byte past the size proves it ends there, or finds it grown', async () => {
    const small = join(dir, 'small.mp4');
    writeFileSync(small, bytes.subarray(0, 1024));
    for (const [size, expected] of [[1024, 'complete'], [1000, 'grown']] as const) {
      const asked: number[] = [];
      const inner = fileSource(small, size);
      const counting: UploadSource = {
        ...inner,
        openReader: async () => {
          const reader = await inner.openReader!();
          return { read: (buffer, position) => (asked.push(buffer.byteLength), reader.read(buffer, position)), close: reader.close };
        },
      };
      const sink = slowSink();
      const outcome = await writeSource(counting, 0, sink, { destination: 'http' }).then(() => 'complete', (e: unknown) => ((e as { code?: string }).code === 'UF_SOURCE_CHANGED' ? 'grown' : e));
      expect(outcome).toBe(expected);
      expect(asked).toEqual([size + 1]);
      expect(sink.bytes).toBe(expected === 'complete' ? 1024 : 0);
    }
  });

  it('proves the end with one read more when the last read fills a whole buffer (a size of whole buffers)', async () => {
    const asked: number[] = [];
    const inner = fileSource(path, 2 * SOURCE_WRITE_CHUNK_BYTES);
    const reads = { ...inner, openReader: async () => { const reader = await inner.openReader!(); return { read: (buffer: Uint8Array, position: number) => (asked.push(buffer.byteLength), reader.read(buffer, position)), close: reader.close }; } };
    await expect(writeSource(reads, SOURCE_WRITE_CHUNK_BYTES, slowSink(), { destination: 'http' })).rejects.toMatchObject({ code: 'UF_SOURCE_CHANGED', message: expect.stringMatching(/has more bytes/) });
    // One whole buffer from the offset to the announced size, then the byte past it (the file goes on: grown).
    expect(asked).toEqual([SOURCE_WRITE_CHUNK_BYTES, 1]);
  });

  it('stops when the sink is destroyed under a write, and closes the file', async () => {
    let closed = false;
    const source = fileSource(path, bytes.length);
    const openReader = source.openReader!;
    source.openReader = async () => {
      const reader = await openReader();
      return { read: reader.read, close: async () => ((closed = true), await reader.close()) };
    };
    const sink = new Writable({ write: () => setTimeout(() => sink.destroy(new Error('connection reset')), 5) });
    // The sink's owner (got, basic-ftp) listens for its errors; the writer learns of them from the close.
    sink.on('error', () => undefined);
    await expect(writeSource(source, 0, sink, { destination: 'http' })).rejects.toThrow('connection reset');
    expect(closed).toBe(true);
  });

  it('stops at the next chunk once the upload is aborted', async () => {
    const controller = new AbortController();
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        controller.abort(new Error('aborted by the test'));
        callback();
      },
    });
    await expect(writeSource(fileSource(path, bytes.length), 0, sink, { destination: 'http', signal: controller.signal })).rejects.toThrow('aborted by the test');
  });

  it('reads a source that has no positional reader from its stream', async () => {
    const source: UploadSource = { size: 3, description: 'x', open: async () => Readable.from([Buffer.from('abc')]) };
    const sink = slowSink();
    await writeSource(source, 0, sink, { destination: 'http' });
    expect(sink.bytes).toBe(3);
  });
});
