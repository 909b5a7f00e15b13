/**
 * The WebDAV destination against Debian's Apache httpd with mod_dav (a real server, started
 * by the testkit on a free port with its own config): Basic and Digest, missing collections,
 * overwrite, read-only and full collections, locks, ranged-PUT resume and the servers that
 * do not do ranged PUTs, the clean-up of the temporary file, the network guard.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync, chownSync, statSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetError, createNetworkGuard } from '@upload-fleet/core';
import {
  BASIC_PASSWORD,
  BASIC_USER,
  DIGEST_PASSWORD,
  DIGEST_USER,
  apacheWebdavUnavailable,
  startApacheWebdav,
  until,
  type ApacheWebdav,
} from '@upload-fleet/testkit';
import { webdavDestinationSchema } from '../src/webdav/definition.js';
import { createWebdavAdapter, type WebdavCheckpoint } from '../src/webdav/index.js';
import { uploadPaths } from '../src/webdav/paths.js';
import type { UploadSource } from '../src/index.js';
import { memoryCheckpoints, testUploadContext, fileSource } from './upload-context.js';
import { writeRandomFile, type SourceFile } from './behaviour/harness.js';

const MiB = 1024 * 1024;
const adapter = createWebdavAdapter({ connectTimeoutMs: 10_000, responseTimeoutMs: 30_000 });

if (apacheWebdavUnavailable) throw new Error(`the WebDAV tests need Apache with mod_dav: ${apacheWebdavUnavailable}`);

describe('webdav adapter against Apache mod_dav', () => {
  let server: ApacheWebdav;
  let dir: string;
  let small: SourceFile;
  let large: SourceFile;

  beforeAll(async () => {
    server = await startApacheWebdav({ fullDisk: true });
    dir = mkdtempSync(join(tmpdir(), 'upload-fleet-webdav-'));
    small = await writeRandomFile(dir, 'small.mp4', 300 * 1024 + 7);
    large = await writeRandomFile(dir, 'large.mp4', 40 * MiB + 3);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const basic = (filename: string, overrides: Record<string, unknown> = {}) =>
    webdavDestinationSchema.parse({ type: 'webdav', url: `${server.url}/basic/`, filename, user: BASIC_USER, password: BASIC_PASSWORD, ...overrides });
  const digest = (filename: string, overrides: Record<string, unknown> = {}) =>
    webdavDestinationSchema.parse({ type: 'webdav', url: `${server.url}/digest`, filename, user: DIGEST_USER, password: DIGEST_PASSWORD, ...overrides });

  function upload(destination: ReturnType<typeof basic>, file: SourceFile | UploadSource, options: Partial<Parameters<typeof testUploadContext>[1]> = {}) {
    const source = 'open' in file ? file : fileSource(file);
    return adapter.upload(testUploadContext(destination, { source, ...options }));
  }
  async function failure(promise: Promise<unknown>): Promise<FleetError> {
    const error = await promise.then(() => new Error('the upload succeeded'), (e: unknown) => e);
    expect(error).toBeInstanceOf(FleetError);
    return error as FleetError;
  }
  /** Temporary files left in a collection of the DAV tree. */
  const leftovers = (folder: string) => readdirSync(join(server.root, folder)).filter((name) => name.endsWith('.upload-fleet-part'));

  it('uploads with Basic auth (a UTF-8 password with a colon), creating every missing collection, and returns the file URL', async () => {
    const result = await upload(basic('shows/2026/week 49/ep1.mp4'), small);
    expect(await server.stored('/basic/shows/2026/week 49/ep1.mp4')).toEqual({ size: small.size, sha256: small.sha256 });
    expect(result).toEqual({ url: `${server.url}/basic/shows/2026/week%2049/ep1.mp4`, bytes: small.size });
    expect(leftovers('basic/shows/2026/week 49')).toEqual([]);
    // The collections exist now: a second upload into them (MKCOL answers 405) works too.
    await upload(basic('shows/2026/week 49/ep2.mp4'), small);
    expect((await server.stored('/basic/shows/2026/week 49/ep2.mp4'))?.sha256).toBe(small.sha256);
  });

  it('uploads a large file with Digest auth, byte for byte, with progress up to its size', async () => {
    const progress: number[] = [];
    const result = await upload(digest('big/large.mp4'), large, { onProgress: (bytes) => progress.push(bytes) });
    expect(result.bytes).toBe(large.size);
    expect(await server.stored('/digest/big/large.mp4')).toEqual({ size: large.size, sha256: large.sha256 });
    expect(progress.at(-1)).toBe(large.size);
    expect(progress.every((bytes) => bytes <= large.size)).toBe(true);
  }, 60_000);

  it('refuses a wrong password as permanent, for Basic and for Digest', async () => {
    for (const destination of [basic('wrong.mp4', { password: 'not-it' }), digest('wrong.mp4', { password: 'not-it' })]) {
      const error = await failure(upload(destination, small));
      expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_CREDENTIALS_INVALID', category: 'permanent' });
      expect(error.message).toContain('not accepted');
      expect(error.message).not.toContain('not-it');
    }
  });

  it('sends an Authorization header given in headers instead of user/password', async () => {
    const authorization = `Basic ${Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`, 'utf8').toString('base64')}`;
    await upload(basic('header-auth.mp4', { user: undefined, password: undefined, headers: { Authorization: authorization } }), small);
    expect((await server.stored('/basic/header-auth.mp4'))?.sha256).toBe(small.sha256);
  });

  it('replaces an existing file when overwrite is true (the default)', async () => {
    const first = await writeRandomFile(dir, 'first.mp4', 1000);
    await upload(basic('replace.mp4'), first);
    await upload(basic('replace.mp4'), small);
    expect((await server.stored('/basic/replace.mp4'))?.sha256).toBe(small.sha256);
  });

  it('with overwrite false, fails permanently when the file exists, before sending it, and leaves the file as it was', async () => {
    const first = await writeRandomFile(dir, 'keep.mp4', 1000);
    await upload(basic('keep.mp4'), first);
    const before = server.proxy.bytesUp;
    const error = await failure(upload(basic('keep.mp4', { overwrite: false }), large));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error.message).toMatch(/keep\.mp4 exists already .* overwrite is false/);
    expect(server.proxy.bytesUp - before).toBeLessThan(64 * 1024);
    expect((await server.stored('/basic/keep.mp4'))?.sha256).toBe(first.sha256);
  }, 30_000);

  it('with overwrite false, a file that appears during the upload makes MOVE answer 412: permanent, and the temporary file is deleted', async () => {
    const other = await writeRandomFile(dir, 'other.mp4', 500);
    const finalPath = join(server.root, 'basic', 'race', 'late.mp4');
    const source = fileSource(small);
    // The source's open() is the moment the bytes start: another client stores the file then.
    const racing: UploadSource = {
      ...source,
      open: async (offset) => {
        writeFileSync(finalPath, await readAll(other.path));
        const owner = statSync(join(server.root, 'basic'));
        chownSync(finalPath, owner.uid, owner.gid);
        return source.open(offset);
      },
    };
    const error = await failure(upload(basic('race/late.mp4', { overwrite: false }), racing));
    expect({ code: error.code, status: error.status, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', status: 412, category: 'permanent' });
    expect(error.message).toContain('race/late.mp4 exists already');
    expect((await server.stored('/basic/race/late.mp4'))?.sha256).toBe(other.sha256);
    expect(leftovers('basic/race')).toEqual([]);
  });

  it('fails permanently on a read-only collection (403), leaving nothing behind', async () => {
    const error = await failure(upload(basic('readonly/no.mp4'), small));
    expect({ code: error.code, status: error.status, category: error.category }).toEqual({ code: 'UF_PERMISSION_DENIED', status: 403, category: 'permanent' });
    expect(leftovers('basic/readonly')).toEqual([]);
    const nested = await failure(upload(basic('readonly/new/no.mp4'), small));
    expect({ code: nested.code, status: nested.status }).toEqual({ code: 'UF_PERMISSION_DENIED', status: 403 });
  });

  it('names a collection url that does not exist (404), and a file standing where a collection is needed (409)', async () => {
    const missing = await failure(upload(basic('x.mp4', { url: `${server.url}/basic/nowhere/` }), small));
    expect({ code: missing.code, status: missing.status }).toEqual({ code: 'UF_DESTINATION_NOT_FOUND', status: 404 });
    expect(missing.message).toContain('the collection url does not exist');
    await upload(basic('plain-file'), small);
    const conflict = await failure(upload(basic('plain-file/inside.mp4'), small));
    expect(conflict.category).toBe('permanent');
    expect(conflict.message).toContain('/basic/plain-file/');
  });

  it('fails permanently when the server has no space left (507), with a message that says so', async () => {
    const destination = webdavDestinationSchema.parse({ type: 'webdav', url: `${server.url}/full/`, filename: 'too-big.mp4', user: BASIC_USER, password: BASIC_PASSWORD });
    const error = await failure(upload(destination, small));
    expect({ code: error.code, status: error.status, category: error.category }).toEqual({ code: 'UF_FILE_TOO_LARGE', status: 507, category: 'permanent' });
    expect(error.message).toContain('no storage space left');
  });

  it('retries a file another client has locked (423) as transient', async () => {
    await server.lock('/basic/locked.mp4');
    const error = await failure(upload(basic('locked.mp4'), small));
    expect({ code: error.code, status: error.status, category: error.category }).toEqual({ code: 'UF_DESTINATION_UNAVAILABLE', status: 423, category: 'transient' });
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(30_000);
  });

  it('continues from what the server holds: the second attempt sends only the rest', async () => {
    const checkpoint = memoryCheckpoints();
    const controller = new AbortController();
    const before = server.proxy.bytesUp;
    server.proxy.setThrottle(8 * MiB);
    const first = upload(basic('resume/large.mp4'), large, { checkpoint, signal: controller.signal });
    first.catch(() => undefined);
    await until('half of the file to arrive', () => server.proxy.bytesUp - before > large.size / 2);
    controller.abort('shutdown');
    expect((await failure(first)).code).toBe('UF_ABORTED');
    server.proxy.setThrottle(0);
    expect((checkpoint.state as WebdavCheckpoint).partialPut).toBe(true);

    const secondStart = server.proxy.bytesUp;
    await upload(basic('resume/large.mp4'), large, { checkpoint });
    expect(await server.stored('/basic/resume/large.mp4')).toEqual({ size: large.size, sha256: large.sha256 });
    expect((server.proxy.bytesUp - secondStart) / large.size).toBeLessThan(0.6);
    expect(checkpoint.state).toBeUndefined();
    expect(leftovers('basic/resume')).toEqual([]);
  }, 60_000);

  it('sends the whole file again when a server ignores Content-Range on a resume (and would keep only the tail)', async () => {
    const destination = basic('range-ignored/tail.mp4');
    const source = fileSource(small);
    const { temp } = uploadPaths(destination.url, destination.filename, { uploadId: undefined, sourceSize: source.size, sourceDescription: source.description });
    // What an interrupted attempt left: the first 100 000 bytes, and its checkpoint.
    const tempPath = join(server.root, 'basic', 'range-ignored', decodeURIComponent(temp.pathname.split('/').at(-1)!));
    writeFileSync(tempPath, (await readAll(small.path)).subarray(0, 100_000));
    const owner = statSync(join(server.root, 'basic', 'range-ignored'));
    chownSync(tempPath, owner.uid, owner.gid);
    const checkpoint = memoryCheckpoints();
    await checkpoint.save<WebdavCheckpoint>({ temp: temp.href, size: source.size, partialPut: true });

    await upload(destination, source, { checkpoint });
    expect(await server.stored('/basic/range-ignored/tail.mp4')).toEqual({ size: small.size, sha256: small.sha256 });
    expect(leftovers('basic/range-ignored')).toEqual([]);
  });

  it('sends a plain PUT when a server refuses Content-Range with 400', async () => {
    await upload(basic('range-refused/plain.mp4'), small);
    expect(await server.stored('/basic/range-refused/plain.mp4')).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it('goes on without PROPFIND where the server has none (405, as nginx\'s dav module answers)', async () => {
    await upload(basic('clip.mp4', { url: `${server.url}/basic/no-propfind/` }), small);
    expect(await server.stored('/basic/no-propfind/clip.mp4')).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it('refuses a private address the guard does not allow before sending anything', async () => {
    const before = server.proxy.bytesUp;
    const error = await failure(upload(basic('guarded.mp4'), small, { network: createNetworkGuard({ allowedPrivateHosts: [] }) }));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(server.proxy.bytesUp).toBe(before);
  });

  it('cleans up the temporary file after a transient failure on the last attempt', async () => {
    await upload(basic('last/seed.mp4'), small);
    await server.lock('/basic/last/locked.mp4');
    const error = await failure(upload(basic('last/locked.mp4'), small, { lastAttempt: true }));
    expect(error.category).toBe('transient');
    expect(leftovers('basic/last')).toEqual([]);
  });
});

async function readAll(path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(path)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
