import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inlineSha256, sha256For, stopSha256Thread, threadedSha256, THREADED_SHA256_MIN_BYTES } from './sha256-thread.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** `bytes` in a SharedArrayBuffer, as writeSource's read buffers are. */
function shared(bytes: Buffer): Buffer {
  const copy = Buffer.from(new SharedArrayBuffer(bytes.length));
  bytes.copy(copy);
  return copy;
}

describe('the SHA-256 of a large file on a thread', () => {
  it('digests chunks in the order given, shared memory in place and plain memory copied, like createHash', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 3);
    const hash = threadedSha256();
    const waits: Promise<void>[] = [];
    // Plain, shared, a plain slice in the middle of a larger buffer, shared again.
    expect(hash.update(bytes.subarray(0, 1000))).toBeUndefined();
    const inPlace = hash.update(shared(bytes.subarray(1000, 2 * 1024 * 1024)));
    expect(inPlace).toBeInstanceOf(Promise);
    waits.push(inPlace!);
    expect(hash.update(Buffer.from(bytes).subarray(2 * 1024 * 1024, 4 * 1024 * 1024))).toBeUndefined();
    waits.push(hash.update(shared(bytes.subarray(4 * 1024 * 1024)))!);
    await Promise.all(waits);
    expect(await hash.digest()).toBe(sha256(bytes));
  });

  it('takes a plain chunk\'s bytes before update returns: changing them afterwards changes nothing', async () => {
    const bytes = randomBytes(1024 * 1024);
    const reused = Buffer.from(bytes);
    const hash = threadedSha256();
    hash.update(reused);
    reused.fill(0);
    expect(await hash.digest()).toBe(sha256(bytes));
  });

  it('keeps uploads apart: interleaved hashes each digest their own bytes', async () => {
    const a = randomBytes(3 * 1024 * 1024);
    const b = randomBytes(2 * 1024 * 1024);
    const first = threadedSha256();
    const second = threadedSha256();
    for (let at = 0; at < a.length; at += 512 * 1024) {
      first.update(a.subarray(at, at + 512 * 1024));
      if (at < b.length) await second.update(shared(b.subarray(at, at + 512 * 1024)));
    }
    const discarded = threadedSha256();
    discarded.update(a);
    discarded.discard();
    expect(await Promise.all([first.digest(), second.digest()])).toEqual([sha256(a), sha256(b)]);
    expect(() => discarded.update(b)).toThrow(/already computed or discarded/);
  });

  it('fails the hashes of a thread that stopped with a clear error, and the next upload gets a new thread', async () => {
    const bytes = randomBytes(64 * 1024);
    const cut = threadedSha256();
    cut.update(bytes);
    await stopSha256Thread();
    await expect(cut.digest()).rejects.toThrow(/SHA-256 thread exited/);
    const next = threadedSha256();
    next.update(bytes);
    expect(await next.digest()).toBe(sha256(bytes));
  });

  it('hashes a small file inline, and a large one on the thread when it is read into shared memory', async () => {
    const small = sha256For(THREADED_SHA256_MIN_BYTES - 1);
    // Inline: shared memory is hashed at once, so there is nothing to wait for.
    expect(small.update(shared(randomBytes(16)))).toBeUndefined();
    const large = sha256For(THREADED_SHA256_MIN_BYTES);
    expect(large.update(shared(randomBytes(16)))).toBeInstanceOf(Promise);
    large.discard();
    // Read into plain buffers (S3's parts): inline, even a shared chunk later.
    const parts = sha256For(THREADED_SHA256_MIN_BYTES);
    const first = randomBytes(16);
    const second = shared(randomBytes(16));
    expect(parts.update(first)).toBeUndefined();
    expect(parts.update(second)).toBeUndefined();
    expect(await parts.digest()).toBe(sha256(Buffer.concat([first, second])));
    const inline = inlineSha256();
    inline.update(Buffer.from('upload-fleet'));
    expect(await inline.digest()).toBe(sha256(Buffer.from('upload-fleet')));
  });
});
