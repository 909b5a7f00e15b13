import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { UploadSource } from '@upload-fleet/destinations';
import { FILE_READ_CHUNK_BYTES, openPathSource } from './path-source.js';
import { digestingSource } from './source-digest.js';
import { THREADED_SHA256_MIN_BYTES } from './sha256-thread.js';

const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-digest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = randomBytes(3 * 1024 * 1024 + 17);
writeFileSync(join(dir, 'clip.mp4'), bytes);
const expected = createHash('sha256').update(bytes).digest('hex');

/** The path source, counting the bytes read from the file. */
async function countingSource(): Promise<{ source: UploadSource; read: () => number }> {
  const inner = await openPathSource('clip.mp4', dir);
  let read = 0;
  return {
    read: () => read,
    source: {
      size: inner.size,
      description: inner.description,
      async open(offset) {
        const stream = await inner.open(offset);
        stream.on('data', (chunk: Buffer) => (read += chunk.length));
        return stream;
      },
    },
  };
}

async function drain(stream: Readable, limit = Infinity): Promise<number> {
  let got = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    got += chunk.length;
    if (got >= limit) break;
  }
  return got;
}

describe('the digesting source', () => {
  it('hashes the whole file from one sequential read, reading nothing twice', async () => {
    const { source, read } = await countingSource();
    const digesting = digestingSource(source);
    expect(await drain(await digesting.open())).toBe(bytes.length);
    expect(await digesting.sha256()).toBe(expected);
    expect(read()).toBe(bytes.length);
  });

  it('after a resume from an offset, reads the skipped prefix once (only it) and hashes the whole file', async () => {
    const { source, read } = await countingSource();
    const digesting = digestingSource(source);
    const offset = 1024 * 1024 + 5;
    await drain(await digesting.open(offset));
    expect(read()).toBe(bytes.length - offset);
    expect(await digesting.sha256()).toBe(expected);
    // The prefix, plus at most the rest of the one read chunk that crosses its end.
    expect(read() - (bytes.length - offset)).toBeGreaterThanOrEqual(offset);
    expect(read() - (bytes.length - offset)).toBeLessThan(offset + FILE_READ_CHUNK_BYTES);
  });

  it('reads exactly the skipped prefix through a file source\'s reader', async () => {
    const inner = await openPathSource('clip.mp4', dir);
    let readThroughReader = 0;
    const source: UploadSource = {
      ...inner,
      open: (offset) => inner.open(offset),
      async openReader() {
        const reader = await inner.openReader!();
        return { read: async (buffer, position) => { const n = await reader.read(buffer, position); readThroughReader += n; return n; }, close: () => reader.close() };
      },
    };
    const digesting = digestingSource(source);
    const offset = 1024 * 1024 + 5;
    await drain(await digesting.open(offset));
    expect(await digesting.sha256()).toBe(expected);
    expect(readThroughReader).toBe(offset);
  });

  it('keeps the path source\'s positional reader, and hashes what is read through it into a reused buffer', async () => {
    const inner = await openPathSource('clip.mp4', dir);
    const digesting = digestingSource(inner);
    expect(digesting.openReader).toBeTypeOf('function');
    const reader = await digesting.openReader!();
    // One buffer reused for every read, as writeSource does: the hash must have what was in it before the refill.
    const buffer = Buffer.alloc(256 * 1024);
    let position = 0;
    for (let bytesRead; (bytesRead = await reader.read(buffer, position)) > 0; ) {
      expect(buffer.subarray(0, bytesRead).equals(bytes.subarray(position, position + bytesRead))).toBe(true);
      buffer.fill(0xff);
      position += bytesRead;
    }
    await reader.close();
    expect(position).toBe(bytes.length);
    expect(await digesting.sha256()).toBe(expected);
  });

  it('hashes parts read out of order and parts read twice (a retried part) in file order', async () => {
    const { source, read } = await countingSource();
    const digesting = digestingSource(source);
    const part = 1024 * 1024;
    // Part 2 and the tail first, part 1 broken off half-way, then part 1 again.
    await drain(await digesting.open(2 * part));
    await drain(await digesting.open(part), 1);
    await drain(await digesting.open(0), part + 200);
    await drain(await digesting.open(part));
    expect(await digesting.sha256()).toBe(expected);
    // Nothing beyond what the "adapter" read: no second pass.
    const readByAdapter = read();
    expect(await digesting.sha256()).toBe(expected);
    expect(read()).toBe(readByAdapter);
  });
});

describe('the digesting source of a large file (hashed on a thread when read into shared buffers)', () => {
  const large = randomBytes(THREADED_SHA256_MIN_BYTES + 3 * 1024 * 1024 + 17);
  writeFileSync(join(dir, 'large.mp4'), large);
  const largeSha256 = createHash('sha256').update(large).digest('hex');

  it('hashes a stream and a resumed stream of it', async () => {
    const whole = digestingSource(await openPathSource('large.mp4', dir));
    expect(await drain(await whole.open())).toBe(large.length);
    expect(await whole.sha256()).toBe(largeSha256);
    const resumed = digestingSource(await openPathSource('large.mp4', dir));
    await drain(await resumed.open(5 * 1024 * 1024 + 3));
    expect(await resumed.sha256()).toBe(largeSha256);
  });

  it('hashes shared read buffers in place: a read into a buffer waits until the thread has hashed it', async () => {
    const digesting = digestingSource(await openPathSource('large.mp4', dir));
    const reader = await digesting.openReader!();
    // Two shared buffers refilled at once, in turns, as writeSource does: a refill that did
    // not wait would change bytes the thread has not hashed yet, and the digest would differ.
    const buffers = [Buffer.from(new SharedArrayBuffer(1024 * 1024)), Buffer.from(new SharedArrayBuffer(1024 * 1024))];
    let position = 0;
    for (let turn = 0, bytesRead; (bytesRead = await reader.read(buffers[turn]!, position)) > 0; turn = 1 - turn) {
      expect(buffers[turn]!.subarray(0, bytesRead).equals(large.subarray(position, position + bytesRead))).toBe(true);
      position += bytesRead;
    }
    await reader.close();
    expect(position).toBe(large.length);
    expect(await digesting.sha256()).toBe(largeSha256);
  });

  it('drops the hash of an attempt that ends before its digest', async () => {
    const digesting = digestingSource(await openPathSource('large.mp4', dir));
    await drain(await digesting.open(), 4 * 1024 * 1024);
    digesting.close();
    await expect(digesting.sha256()).rejects.toThrow(/already computed or discarded/);
  });
});
