import { execFileSync } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetworkGuard, FleetError } from '@upload-fleet/core';
import { freePort, until } from '@upload-fleet/testkit';
import { openSource } from './index.js';

const CONTENT = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function fleetErrorOf(promise: Promise<unknown>): Promise<FleetError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FleetError);
    return error as FleetError;
  }
  throw new Error('expected a FleetError');
}

const guardAllowingLocal = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'] });

// Every behaviour of a path source holds whichever way its file calls are made (sources/file-calls.ts).
describe.each(['inline', 'thread-pool'] as const)('path sources, file calls %s', (fileCalls) => {
  let base: string;
  let root: string;
  let outside: string;
  const options = () => ({ sourceRoot: root, network: guardAllowingLocal, fileCalls });

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'upload-fleet-sources-'));
    root = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'renders', 'nested'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(root, 'renders', 'video.mp4'), CONTENT);
    writeFileSync(join(root, 'renders', 'empty.mp4'), '');
    writeFileSync(join(outside, 'secret.txt'), 'do not upload me');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'renders', 'escape.mp4'));
    symlinkSync(outside, join(root, 'renders', 'escape-dir'));
    symlinkSync(join(root, 'renders', 'video.mp4'), join(root, 'renders', 'nested', 'inside-link.mp4'));
    symlinkSync(root, join(base, 'root-link'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('reports the size from stat and describes the file relative to the root', async () => {
    const source = await openSource({ path: 'renders/video.mp4' }, options());
    expect(source.size).toBe(CONTENT.length);
    expect(source.description).toBe('renders/video.mp4');
  });

  it('opens from the start and from any offset, including the end', async () => {
    const source = await openSource({ path: 'renders/video.mp4' }, options());
    expect(await readAll(await source.open())).toEqual(CONTENT);
    expect(await readAll(await source.open(10))).toEqual(CONTENT.subarray(10));
    expect(await readAll(await source.open(CONTENT.length - 1))).toEqual(CONTENT.subarray(-1));
    expect(await readAll(await source.open(CONTENT.length))).toEqual(Buffer.alloc(0));
  });

  it('returns a fresh stream on every open', async () => {
    const source = await openSource({ path: 'renders/video.mp4' }, options());
    const first = await source.open();
    first.destroy();
    expect(await readAll(await source.open())).toEqual(CONTENT);
  });

  it('rejects offsets outside the file', async () => {
    const source = await openSource({ path: 'renders/video.mp4' }, options());
    await expect(source.open(CONTENT.length + 1)).rejects.toThrow(RangeError);
    await expect(source.open(-1)).rejects.toThrow(RangeError);
  });

  it('reads a 0-byte file', async () => {
    const source = await openSource({ path: 'renders/empty.mp4' }, options());
    expect(source.size).toBe(0);
    expect(await readAll(await source.open())).toEqual(Buffer.alloc(0));
  });

  it('follows symlinks that stay inside the root', async () => {
    const source = await openSource({ path: 'renders/nested/inside-link.mp4' }, options());
    expect(await readAll(await source.open())).toEqual(CONTENT);
  });

  it('accepts an absolute path inside the root, and a root that is itself a symlink', async () => {
    const absolute = await openSource({ path: join(root, 'renders', 'video.mp4') }, options());
    expect(absolute.size).toBe(CONTENT.length);
    const viaLink = await openSource({ path: 'renders/video.mp4' }, { sourceRoot: join(base, 'root-link'), network: guardAllowingLocal, fileCalls });
    expect(await readAll(await viaLink.open())).toEqual(CONTENT);
  });

  it.each([
    ['../outside/secret.txt', 'outside SOURCE_ROOT'],
    ['renders/../../outside/secret.txt', 'outside SOURCE_ROOT'],
    ['..', 'outside SOURCE_ROOT'],
    ['.', 'outside SOURCE_ROOT'],
    ['renders/escape.mp4', 'symbolic link'],
    ['renders/escape-dir/secret.txt', 'symbolic link'],
    ['renders/video.mp4\0.txt', 'NUL'],
  ])('refuses %s as UF_SOURCE_FORBIDDEN', async (requested, why) => {
    const error = await fleetErrorOf(openSource({ path: requested }, options()));
    expect(error.code).toBe('UF_SOURCE_FORBIDDEN');
    expect(error.category).toBe('permanent');
    expect(error.message).toContain(why);
  });

  it('refuses an absolute path outside the root without saying whether it exists', async () => {
    const existing = await fleetErrorOf(openSource({ path: join(outside, 'secret.txt') }, options()));
    const missing = await fleetErrorOf(openSource({ path: join(outside, 'nope.txt') }, options()));
    expect(existing.code).toBe('UF_SOURCE_FORBIDDEN');
    expect(missing.code).toBe('UF_SOURCE_FORBIDDEN');
    expect(await fleetErrorOf(openSource({ path: '/etc/passwd' }, options()))).toMatchObject({ code: 'UF_SOURCE_FORBIDDEN' });
  });

  it.each(['renders/missing.mp4', 'missing-dir/video.mp4', 'renders/video.mp4/child'])(
    'reports %s as UF_SOURCE_NOT_FOUND (permanent)',
    async (requested) => {
      const error = await fleetErrorOf(openSource({ path: requested }, options()));
      expect(error.code).toBe('UF_SOURCE_NOT_FOUND');
      expect(error.retryable).toBe(false);
    },
  );

  it('refuses a directory', async () => {
    const error = await fleetErrorOf(openSource({ path: 'renders/nested' }, options()));
    expect(error.code).toBe('UF_SOURCE_NOT_FOUND');
    expect(error.message).toContain('not a regular file');
  });

  it('fails open() when the file was deleted or replaced by an escaping symlink after the size was read', async () => {
    writeFileSync(join(root, 'renders', 'short-lived.mp4'), CONTENT);
    const deleted = await openSource({ path: 'renders/short-lived.mp4' }, options());
    rmSync(join(root, 'renders', 'short-lived.mp4'));
    expect((await fleetErrorOf(deleted.open())).code).toBe('UF_SOURCE_NOT_FOUND');

    writeFileSync(join(root, 'renders', 'swapped.mp4'), CONTENT);
    const swapped = await openSource({ path: 'renders/swapped.mp4' }, options());
    rmSync(join(root, 'renders', 'swapped.mp4'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'renders', 'swapped.mp4'));
    expect((await fleetErrorOf(swapped.open())).code).toBe('UF_SOURCE_FORBIDDEN');
  });

  it('fails open() when a directory on the path became an escaping symlink, or the file a FIFO, after the check', async () => {
    mkdirSync(join(root, 'renders', 'day'));
    writeFileSync(join(root, 'renders', 'day', 'cut.mp4'), CONTENT);
    writeFileSync(join(outside, 'cut.mp4'), CONTENT);
    const moved = await openSource({ path: 'renders/day/cut.mp4' }, options());
    rmSync(join(root, 'renders', 'day'), { recursive: true });
    symlinkSync(outside, join(root, 'renders', 'day'));
    expect((await fleetErrorOf(moved.openReader!())).code).toBe('UF_SOURCE_FORBIDDEN');

    writeFileSync(join(root, 'renders', 'pipe.mp4'), CONTENT);
    const piped = await openSource({ path: 'renders/pipe.mp4' }, options());
    rmSync(join(root, 'renders', 'pipe.mp4'));
    execFileSync('mkfifo', [join(root, 'renders', 'pipe.mp4')]);
    // Refused, not left waiting for a writer that never comes.
    expect((await fleetErrorOf(piped.openReader!())).code).toBe('UF_SOURCE_NOT_FOUND');
  });

  it('fails open() when the file changed size since it was opened', async () => {
    writeFileSync(join(root, 'renders', 'growing.mp4'), CONTENT);
    const source = await openSource({ path: 'renders/growing.mp4' }, options());
    writeFileSync(join(root, 'renders', 'growing.mp4'), Buffer.concat([CONTENT, CONTENT]));
    const error = await fleetErrorOf(source.open());
    expect(error.message).toContain('changed size');
    expect(error.retryable).toBe(true);
  });

  describe('held open (the worker\'s source of an attempt)', () => {
    const heldOptions = () => ({ sourceRoot: root, network: guardAllowingLocal, fileCalls, holdOpen: true });
    const openDescriptors = () => readdirSync('/proc/self/fd').length;

    it.each([
      ['../outside/secret.txt', 'UF_SOURCE_FORBIDDEN'],
      ['renders/escape.mp4', 'UF_SOURCE_FORBIDDEN'],
      ['renders/escape-dir/secret.txt', 'UF_SOURCE_FORBIDDEN'],
      ['renders/missing.mp4', 'UF_SOURCE_NOT_FOUND'],
      ['renders/video.mp4/child', 'UF_SOURCE_NOT_FOUND'],
      ['renders/nested', 'UF_SOURCE_NOT_FOUND'],
    ])('refuses %s as %s, as the unheld source does, leaving no descriptor open', async (requested, code) => {
      const before = openDescriptors();
      expect((await fleetErrorOf(openSource({ path: requested }, heldOptions()))).code).toBe(code);
      expect(openDescriptors()).toBe(before);
    });

    it('refuses a FIFO at once instead of waiting for a writer', async () => {
      execFileSync('mkfifo', [join(root, 'renders', 'held-pipe.mp4')]);
      expect((await fleetErrorOf(openSource({ path: 'renders/held-pipe.mp4' }, heldOptions()))).message).toContain('not a regular file');
    });

    it('reads the file it checked on the first open, even when the path was swapped for an escaping symlink since; later opens check again', async () => {
      writeFileSync(join(root, 'renders', 'held.mp4'), CONTENT);
      const source = await openSource({ path: 'renders/held.mp4' }, heldOptions());
      rmSync(join(root, 'renders', 'held.mp4'));
      symlinkSync(join(outside, 'secret.txt'), join(root, 'renders', 'held.mp4'));
      expect(await readAll(await source.open())).toEqual(CONTENT);
      expect((await fleetErrorOf(source.open())).code).toBe('UF_SOURCE_FORBIDDEN');
      expect((await fleetErrorOf(source.openReader!())).code).toBe('UF_SOURCE_FORBIDDEN');
    });

    it('hands its descriptor to the first positional reader, and close() releases one nothing read', async () => {
      const before = openDescriptors();
      const read = await openSource({ path: 'renders/video.mp4' }, heldOptions());
      expect(openDescriptors()).toBe(before + 1);
      const reader = await read.openReader!();
      expect(openDescriptors()).toBe(before + 1);
      const buffer = Buffer.alloc(CONTENT.length + 1);
      expect(await reader.read(buffer, 0)).toBe(CONTENT.length);
      await reader.close();
      await read.close!();
      expect(openDescriptors()).toBe(before);

      const unread = await openSource({ path: 'renders/video.mp4' }, heldOptions());
      expect(openDescriptors()).toBe(before + 1);
      await unread.close!();
      expect(openDescriptors()).toBe(before);
      // Closed, it opens afresh (and checks again) when read after all.
      expect(await readAll(await unread.open())).toEqual(CONTENT);
    });

    it('closes a descriptor once: a reader closed twice, or read after its close, never touches a file opened since under the same number', async () => {
      writeFileSync(join(root, 'renders', 'other.mp4'), Buffer.from('another file'));
      const source = await openSource({ path: 'renders/video.mp4' }, heldOptions());
      const reader = await source.openReader!();
      await reader.close();
      // The number just freed is the lowest free one: the next open takes it.
      const other = await openSource({ path: 'renders/other.mp4' }, heldOptions());
      const before = openDescriptors();
      await reader.close();
      await source.close!();
      expect(openDescriptors()).toBe(before);
      await expect(reader.read(Buffer.alloc(16), 0)).rejects.toMatchObject({ code: 'EBADF' });
      const otherReader = await other.openReader!();
      const buffer = Buffer.alloc(32);
      expect(buffer.subarray(0, await otherReader.read(buffer, 0)).toString()).toBe('another file');
      await otherReader.close();
    });

    it('closes a descriptor only once the reads under way on it are done: they read the file, and close() settles after them', async () => {
      const large = Buffer.alloc(8 * 1024 * 1024, 9);
      writeFileSync(join(root, 'renders', 'large.mp4'), large);
      const before = openDescriptors();
      const source = await openSource({ path: 'renders/large.mp4' }, heldOptions());
      const reader = await source.openReader!();
      const into = [Buffer.alloc(large.length), Buffer.alloc(large.length)];
      const reads = into.map((buffer) => reader.read(buffer, 0));
      let readsDone = false;
      void Promise.all(reads).then(() => (readsDone = true));
      await reader.close();
      expect(readsDone).toBe(true);
      expect(await Promise.all(reads)).toEqual([large.length, large.length]);
      for (const buffer of into) expect(buffer.equals(large)).toBe(true);
      await source.close!();
      expect(openDescriptors()).toBe(before);
    });

    it('lets the stream of the first open close the descriptor, and a later close() of the source close nothing else', async () => {
      const before = openDescriptors();
      const source = await openSource({ path: 'renders/video.mp4' }, heldOptions());
      expect(await readAll(await source.open())).toEqual(CONTENT);
      await until('the stream to close its descriptor', async () => (openDescriptors() === before ? true : undefined), 5_000);
      const other = await openSource({ path: 'renders/video.mp4' }, heldOptions());
      await source.close!();
      expect(openDescriptors()).toBe(before + 1);
      await other.close!();
      expect(openDescriptors()).toBe(before);
    });
  });

  it('offers positional reads into the caller\'s buffer, with the checks of open()', async () => {
    const source = await openSource({ path: 'renders/video.mp4' }, options());
    const reader = await source.openReader!();
    const buffer = Buffer.alloc(7);
    expect(await reader.read(buffer, 3)).toBe(7);
    expect(buffer).toEqual(CONTENT.subarray(3, 10));
    expect(await reader.read(buffer, CONTENT.length)).toBe(0);
    await reader.close();

    writeFileSync(join(root, 'renders', 'grown.mp4'), CONTENT);
    const grown = await openSource({ path: 'renders/grown.mp4' }, options());
    writeFileSync(join(root, 'renders', 'grown.mp4'), Buffer.concat([CONTENT, CONTENT]));
    expect((await fleetErrorOf(grown.openReader!())).message).toContain('changed size');
    rmSync(join(root, 'renders', 'grown.mp4'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'renders', 'grown.mp4'));
    expect((await fleetErrorOf(grown.openReader!())).code).toBe('UF_SOURCE_FORBIDDEN');
  });
});

describe('path sources and the thread pool', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'upload-fleet-file-calls-'));
    writeFileSync(join(dir, 'small.mp4'), CONTENT);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Keeps every thread of libuv's pool busy with a key derivation, then opens, sizes, reads
   * and closes a small file as an upload attempt does: answers whether that finished before
   * the pool was free again. A call that needs the pool waits behind the derivations.
   */
  async function sourceBeatsBusyPool(fileCalls: 'inline' | 'thread-pool'): Promise<boolean> {
    const options = { sourceRoot: dir, network: guardAllowingLocal, fileCalls, holdOpen: true };
    // The root's real path is resolved once per process (in the pool): not part of what is timed.
    await (await openSource({ path: 'small.mp4' }, options)).close!();
    let poolFree = false;
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const busy = Array.from({ length: poolSize }, () => new Promise<void>((resolve) => pbkdf2('busy', 'salt', 300_000, 64, 'sha512', () => {
            poolFree = true;
            resolve();
          })));
    const source = await openSource({ path: 'small.mp4' }, options);
    const reader = await source.openReader!();
    const buffer = Buffer.alloc(CONTENT.length + 1);
    expect(await reader.read(buffer, 0)).toBe(CONTENT.length);
    expect(buffer.subarray(0, CONTENT.length)).toEqual(CONTENT);
    await reader.close();
    await source.close!();
    const beat = !poolFree;
    await Promise.all(busy);
    return beat;
  }

  it('inline, a small file needs no thread of the pool; in the thread pool, each call waits its turn there', async () => {
    expect(await sourceBeatsBusyPool('inline')).toBe(true);
    expect(await sourceBeatsBusyPool('thread-pool')).toBe(false);
  });
});

describe('url sources', () => {
  let server: Server;
  let origin: string;
  const seen: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];

  /** Serves CONTENT with HEAD and Range support, plus routes that misbehave in known ways. */
  function serveFile(req: IncomingMessage, res: ServerResponse, options: { head?: boolean; ranges?: boolean; length?: boolean; body?: Buffer } = {}) {
    const { head = true, ranges = true, length = true, body = CONTENT } = options;
    if (req.method === 'HEAD' && !head) {
      res.writeHead(405).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && ranges) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      const slice = body.subarray(start, end + 1);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': slice.length });
      res.end(req.method === 'HEAD' ? undefined : slice);
      return;
    }
    if (length) res.writeHead(200, { 'content-length': body.length });
    else res.writeHead(200, { 'transfer-encoding': 'chunked' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      const path = (req.url ?? '').split('?')[0];
      switch (path) {
        case '/file.bin':
          return serveFile(req, res);
        case '/empty.bin':
          return serveFile(req, res, { body: Buffer.alloc(0), head: false });
        case '/no-head.bin':
          return serveFile(req, res, { head: false });
        case '/no-length-head.bin':
          // HEAD without a length, GET with ranges: the size comes from Content-Range.
          if (req.method === 'HEAD') return void res.writeHead(200, { 'transfer-encoding': 'chunked' }).end();
          return serveFile(req, res);
        case '/no-size.bin':
          return serveFile(req, res, { ranges: false, length: false });
        case '/ignores-range.bin':
          return serveFile(req, res, { ranges: false });
        case '/missing.bin':
          return void res.writeHead(404).end('nope');
        case '/gone.bin':
          return void res.writeHead(410).end();
        case '/forbidden.bin':
          return void res.writeHead(403).end();
        case '/unavailable.bin':
          return void res.writeHead(503, { 'retry-after': '7' }).end();
        case '/error.bin':
          return void res.writeHead(500).end();
        case '/flaky-get.bin':
          if (req.method === 'HEAD') return serveFile(req, res);
          return void res.writeHead(502).end();
        case '/reset-mid-body.bin':
          if (req.method === 'HEAD') return serveFile(req, res);
          res.writeHead(200, { 'content-length': CONTENT.length });
          res.write(CONTENT.subarray(0, 10), () => setTimeout(() => req.socket.destroy(), 20));
          return;
        case '/slow.bin':
          return; // never answers
        case '/redirect.bin':
          return void res.writeHead(302, { location: '/file.bin' }).end();
        case '/redirect-metadata.bin':
          return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam' }).end();
        case '/redirect-private.bin':
          return void res.writeHead(307, { location: 'http://10.0.0.1/file.bin' }).end();
        case '/redirect-loopback6.bin':
          return void res.writeHead(301, { location: 'http://[::1]/file.bin' }).end();
        case '/redirect-loop.bin':
          return void res.writeHead(302, { location: '/redirect-loop.bin' }).end();
        default:
          return void res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const open = (path: string, network = guardAllowingLocal, requestTimeoutMs?: number) =>
    openSource({ url: `${origin}${path}` }, { sourceRoot: tmpdir(), network, requestTimeoutMs });

  it('takes the size from HEAD and reads the whole file', async () => {
    const source = await open('/file.bin');
    expect(source.size).toBe(CONTENT.length);
    expect(await readAll(await source.open())).toEqual(CONTENT);
  });

  it('asks for the stored bytes (identity encoding), so sizes and ranges are the file\'s', async () => {
    seen.length = 0;
    const source = await open('/file.bin');
    await readAll(await source.open());
    expect(seen.map((r) => r.headers['accept-encoding'])).toEqual(['identity', 'identity']);
  });

  it('reads from an offset with a Range request and checks the 206 answer', async () => {
    const source = await open('/file.bin');
    seen.length = 0;
    expect(await readAll(await source.open(5))).toEqual(CONTENT.subarray(5));
    expect(seen[0]?.headers.range).toBe('bytes=5-');
    expect(await readAll(await source.open(CONTENT.length))).toEqual(Buffer.alloc(0));
  });

  it('falls back to a one-byte Range request when HEAD is refused or has no length', async () => {
    const noHead = await open('/no-head.bin');
    expect(noHead.size).toBe(CONTENT.length);
    const noLength = await open('/no-length-head.bin');
    expect(noLength.size).toBe(CONTENT.length);
    expect(await readAll(await noLength.open(30))).toEqual(CONTENT.subarray(30));
  });

  it('learns that an empty file is empty from a 416 answer', async () => {
    const source = await open('/empty.bin');
    expect(source.size).toBe(0);
    expect(await readAll(await source.open())).toEqual(Buffer.alloc(0));
  });

  it('refuses a source whose size the server does not tell, saying it must send Content-Length', async () => {
    const error = await fleetErrorOf(open('/no-size.bin'));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Content-Length');
  });

  it('fails clearly when resuming from a server that ignores Range', async () => {
    const source = await open('/ignores-range.bin');
    expect(await readAll(await source.open())).toEqual(CONTENT);
    const error = await fleetErrorOf(source.open(5));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('does not support resuming');
  });

  it.each([
    ['/missing.bin', 404],
    ['/gone.bin', 410],
  ])('reports %s as UF_SOURCE_NOT_FOUND', async (path, status) => {
    const error = await fleetErrorOf(open(path));
    expect(error.code).toBe('UF_SOURCE_NOT_FOUND');
    expect(error.status).toBe(status);
    expect(error.message).toContain('source server');
  });

  it('reports 403 as UF_SOURCE_FORBIDDEN', async () => {
    expect((await fleetErrorOf(open('/forbidden.bin'))).code).toBe('UF_SOURCE_FORBIDDEN');
  });

  it('reports 5xx as transient, says the source failed, and keeps Retry-After', async () => {
    const unavailable = await fleetErrorOf(open('/unavailable.bin'));
    expect(unavailable.code).toBe('UF_SOURCE_UNAVAILABLE');
    expect(unavailable.retryable).toBe(true);
    expect(unavailable.retryAfterMs).toBe(7000);
    expect(unavailable.message).toContain('source');
    const flaky = await open('/flaky-get.bin');
    const error = await fleetErrorOf(flaky.open());
    expect(error.code).toBe('UF_SOURCE_UNAVAILABLE');
    expect(error.status).toBe(502);
  });

  it('turns a connection reset mid-body into a transient UF_NETWORK error on the stream', async () => {
    const source = await open('/reset-mid-body.bin');
    const error = await fleetErrorOf(readAll(await source.open()));
    expect(error.code).toBe('UF_NETWORK');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('source');
  });

  it('turns a server that does not answer into UF_TIMEOUT', async () => {
    const error = await fleetErrorOf(open('/slow.bin', guardAllowingLocal, 200));
    expect(error.code).toBe('UF_TIMEOUT');
    expect(error.retryable).toBe(true);
  });

  it('turns a refused connection into UF_NETWORK', async () => {
    const port = await freePort();
    const error = await fleetErrorOf(openSource({ url: `http://127.0.0.1:${port}/x` }, { sourceRoot: tmpdir(), network: guardAllowingLocal }));
    expect(error.code).toBe('UF_NETWORK');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('follows redirects to allowed hosts', async () => {
    const source = await open('/redirect.bin');
    expect(source.size).toBe(CONTENT.length);
    expect(await readAll(await source.open(3))).toEqual(CONTENT.subarray(3));
  });

  it.each([
    ['/redirect-metadata.bin', '169.254.169.254'],
    ['/redirect-private.bin', '10.0.0.1'],
    ['/redirect-loopback6.bin', '::1'],
  ])('refuses %s, a redirect to the blocked host %s', async (path, host) => {
    const error = await fleetErrorOf(open(path));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(error.message).toContain(host);
  });

  it('refuses a redirect loop as permanent', async () => {
    const error = await fleetErrorOf(open('/redirect-loop.bin'));
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('redirected');
  });

  it('refuses 127.0.0.1 when the allowlist does not name it, before sending anything', async () => {
    seen.length = 0;
    const strict = createNetworkGuard({ allowedPrivateHosts: [] });
    const error = await fleetErrorOf(open('/file.bin', strict));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(seen).toHaveLength(0);
  });

  it('describes the source without its credentials or query string, but still sends them', async () => {
    seen.length = 0;
    const url = new URL(`${origin}/file.bin?signature=s3cr3t`);
    url.username = 'alice';
    url.password = 'pa55word';
    const source = await openSource({ url: url.toString() }, { sourceRoot: tmpdir(), network: guardAllowingLocal });
    expect(source.description).toBe(`${origin}/file.bin`);
    expect(seen[0]?.url).toBe('/file.bin?signature=s3cr3t');
    expect(seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from('alice:pa55word').toString('base64')}`);
    const error = await fleetErrorOf(openSource({ url: `${origin}/missing.bin?signature=s3cr3t` }, { sourceRoot: tmpdir(), network: guardAllowingLocal }));
    expect(error.message).not.toContain('s3cr3t');
  });
});
