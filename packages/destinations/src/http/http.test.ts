import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetError, createNetworkGuard, type NetworkGuard } from '@upload-fleet/core';
import { httpDestinationSchema, type HttpDestination } from './definition.js';
import { startHttpReceiver, type HttpReceiver } from '@upload-fleet/testkit';
import type { UploadContext, UploadSource } from '../adapter.js';
import { httpAdapter, httpTimeouts } from './index.js';
import { fileReaderSource, testUploadContext } from '../../test/upload-context.js';
import { SOURCE_WRITE_CHUNK_BYTES } from '../source-writer.js';

const MiB = 1024 * 1024;
const localGuard = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'] });

// ---- helpers -------------------------------------------------------------------------

/** A source reading a real file, the way the runtime's path sources do. */
function fileSource(path: string): UploadSource & { opened: Readable[] } {
  const opened: Readable[] = [];
  return {
    size: statSync(path).size,
    description: path,
    opened,
    async open(offset = 0) {
      const stream = createReadStream(path, { start: offset });
      opened.push(stream);
      return stream;
    },
  };
}

/** A source that produces 64 KiB every few milliseconds: an upload that is still running when a test acts. */
function slowSource(size: number): UploadSource & { opened: Readable[] } {
  const opened: Readable[] = [];
  return {
    size,
    description: 'slow source',
    opened,
    async open() {
      let produced = 0;
      const stream = new Readable({
        read() {
          if (produced >= size) {
            this.push(null);
            return;
          }
          setTimeout(() => {
            const n = Math.min(64 * 1024, size - produced);
            produced += n;
            this.push(Buffer.alloc(n, 7));
          }, 5);
        },
      });
      opened.push(stream);
      return stream;
    },
  };
}

interface TestContext {
  context: UploadContext<HttpDestination>;
  progress: number[];
  controller: AbortController;
}

function makeContext(
  destination: Record<string, unknown>,
  source: UploadSource,
  options: { network?: NetworkGuard; contentType?: string; onProgress?: (bytes: number) => void } = {},
): TestContext {
  const progress: number[] = [];
  const controller = new AbortController();
  const context = testUploadContext(httpDestinationSchema.parse({ type: 'http', ...destination }), {
    source,
    contentType: options.contentType ?? 'video/mp4',
    signal: controller.signal,
    onProgress: (bytes) => {
      progress.push(bytes);
      options.onProgress?.(bytes);
    },
    network: options.network ?? localGuard,
  });
  return { context, progress, controller };
}

async function uploadError(context: UploadContext<HttpDestination>): Promise<FleetError> {
  try {
    await httpAdapter.upload(context);
  } catch (error) {
    expect(error).toBeInstanceOf(FleetError);
    return error as FleetError;
  }
  throw new Error('expected the upload to fail');
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

// ---- tests ---------------------------------------------------------------------------

describe('http adapter', () => {
  let dir: string;
  let receiver: HttpReceiver;
  const files: Record<string, { path: string; data: Buffer }> = {};

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'upload-fleet-http-'));
    for (const [name, size] of [
      ['small', 200 * 1024 + 13],
      ['medium', 8 * MiB + 5],
      ['empty', 0],
    ] as const) {
      const data = randomBytes(size);
      const path = join(dir, `${name}.mp4`);
      writeFileSync(path, data);
      files[name] = { path, data };
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    receiver = await startHttpReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  const file = (name: string) => files[name]!;

  it('POSTs multipart with exactly the file bytes, the fields, the headers, basic auth and the filename', async () => {
    const { path, data } = file('small');
    const { context } = makeContext(
      {
        url: `${receiver.url}/api/videos?token=abc`,
        filename: 'welcome.mp4',
        fileid: 'video',
        user: 'alice',
        password: 'p@ss:word',
        fields: { title: 'Welcome, Alex!', campaign: 'spring' },
        headers: { 'X-Api-Key': 'key-123' },
      },
      fileSource(path),
    );
    const result = await httpAdapter.upload(context);

    expect(receiver.requests).toHaveLength(1);
    const received = receiver.requests[0]!;
    expect(received.method).toBe('POST');
    expect(received.path).toBe('/api/videos?token=abc');
    expect(received.files).toHaveLength(1);
    expect(received.files[0]).toMatchObject({ field: 'video', filename: 'welcome.mp4', contentType: 'video/mp4', size: data.length, sha256: sha256(data) });
    expect(received.fields).toEqual({ title: 'Welcome, Alex!', campaign: 'spring' });
    expect(received.headers['x-api-key']).toBe('key-123');
    expect(received.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(Number(received.headers['content-length'])).toBe(received.bodyBytes);
    expect(received.headers['transfer-encoding']).toBeUndefined();
    expect(received.basicAuth).toEqual({ user: 'alice', password: 'p@ss:word' });
    expect(result).toMatchObject({ url: `${receiver.url}/api/videos?token=abc`, bytes: data.length, status: 200 });
    expect(JSON.parse(result.body as string)).toEqual({ received: data.length, sha256: sha256(data) });
  });

  it('uses the default field name "file" and sends an empty password when only user is given', async () => {
    const { path, data } = file('small');
    const { context } = makeContext({ url: `${receiver.url}/upload`, filename: 'a.mp4', user: 'bob' }, fileSource(path));
    await httpAdapter.upload(context);
    const received = receiver.requests[0]!;
    expect(received.files[0]).toMatchObject({ field: 'file', sha256: sha256(data) });
    expect(received.basicAuth).toEqual({ user: 'bob', password: '' });
  });

  it('sends an Authorization header given in headers as is, instead of basic auth from user/password', async () => {
    const { path } = file('small');
    const { context } = makeContext(
      { url: `${receiver.url}/upload`, filename: 'a.mp4', user: 'bob', password: 'pw', headers: { Authorization: 'Bearer tok-1' } },
      fileSource(path),
    );
    await httpAdapter.upload(context);
    expect(receiver.requests[0]!.headers.authorization).toBe('Bearer tok-1');
  });

  it('PUTs the raw file as the body with Content-Type and Content-Length', async () => {
    const { path, data } = file('medium');
    const { context } = makeContext({ url: `${receiver.url}/bucket/video.mp4`, filename: 'video.mp4', method: 'put' }, fileSource(path), {
      contentType: 'video/quicktime',
    });
    const result = await httpAdapter.upload(context);
    const received = receiver.requests[0]!;
    expect(received.method).toBe('PUT');
    expect(received.headers['content-type']).toBe('video/quicktime');
    expect(received.headers['content-length']).toBe(String(data.length));
    expect(received.fileSize).toBe(data.length);
    expect(received.sha256).toBe(sha256(data));
    expect(result.bytes).toBe(data.length);
  });

  it('lets a Content-Type header given for PUT win, and never sends a given Content-Length', async () => {
    const { path, data } = file('small');
    const { context } = makeContext(
      { url: `${receiver.url}/signed`, filename: 'x.mp4', method: 'PUT', headers: { 'Content-Type': 'application/x-custom', 'Content-Length': '5' } },
      fileSource(path),
    );
    await httpAdapter.upload(context);
    const received = receiver.requests[0]!;
    expect(received.headers['content-type']).toBe('application/x-custom');
    expect(received.headers['content-length']).toBe(String(data.length));
    expect(received.sha256).toBe(sha256(data));
  });

  it.each(['POST', 'PUT'])('uploads a 0-byte file with %s', async (method) => {
    const { path } = file('empty');
    const { context, progress } = makeContext({ url: `${receiver.url}/empty`, filename: 'empty.mp4', method }, fileSource(path));
    const result = await httpAdapter.upload(context);
    const received = receiver.requests[0]!;
    expect(received.fileSize).toBe(0);
    expect(received.sha256).toBe(sha256(Buffer.alloc(0)));
    if (method === 'POST') expect(received.files[0]?.filename).toBe('empty.mp4');
    expect(result.bytes).toBe(0);
    expect(progress.at(-1)).toBe(0);
  });

  it('sends a filename with spaces and non-ASCII characters intact', async () => {
    const { path, data } = file('small');
    const filename = 'Mein Vidéo – 日本語 "final".mp4';
    const { context } = makeContext({ url: `${receiver.url}/upload`, filename }, fileSource(path));
    await httpAdapter.upload(context);
    // form-data-encoder escapes the double quote as %22 (the WHATWG multipart rule).
    expect(receiver.requests[0]!.files[0]).toMatchObject({ filename: filename.replaceAll('"', '%22'), sha256: sha256(data) });
  });

  it('reports progress that rises, never exceeds the size, and ends at exactly the size', async () => {
    for (const method of ['POST', 'PUT']) {
      const { path, data } = file('medium');
      const { context, progress } = makeContext({ url: `${receiver.url}/p`, filename: 'p.mp4', method }, fileSource(path));
      await httpAdapter.upload(context);
      expect(progress.length).toBeGreaterThan(2);
      expect(progress.every((bytes, i) => bytes <= data.length && (i === 0 || bytes >= progress[i - 1]!))).toBe(true);
      expect(progress.some((bytes) => bytes > 0 && bytes < data.length)).toBe(true);
      expect(progress.at(-1)).toBe(data.length);
    }
  });

  it('counts only file bytes as progress, not the multipart envelope or the fields before the file', async () => {
    const { path, data } = file('medium');
    const inner = fileSource(path);
    let produced = 0;
    const counting: UploadSource = {
      ...inner,
      async open(offset) {
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            produced += chunk.length;
            done(null, chunk);
          },
        });
        return (await inner.open(offset)).pipe(counter);
      },
    };
    const overReported: number[] = [];
    const { context, progress } = makeContext(
      // A 1 MiB text field goes out before the file: counted as file bytes, it would put
      // the progress a whole MiB ahead of what the source has even produced.
      { url: `${receiver.url}/p`, filename: 'p.mp4', fields: { notes: 'n'.repeat(MiB) } },
      counting,
      { onProgress: (bytes) => bytes > produced && overReported.push(bytes - produced) },
    );
    await httpAdapter.upload(context);
    expect(receiver.requests[0]!.fields.notes).toHaveLength(MiB);
    expect(overReported).toEqual([]);
    expect(progress.at(-1)).toBe(data.length);
  });

  it('returns the Location header as the URL, the headers without set-cookie, and the body', async () => {
    receiver.setFaults([{ status: 201, headers: { location: '/files/42', 'set-cookie': 'session=s3cr3t', 'x-request-id': 'r1' }, body: '{"id":42}' }]);
    const { path, data } = file('small');
    const { context } = makeContext({ url: `http://user:pw@127.0.0.1:${new URL(receiver.url).port}/api/videos`, filename: 'v.mp4' }, fileSource(path));
    const result = await httpAdapter.upload(context);
    expect(result).toMatchObject({ url: `${receiver.url}/files/42`, bytes: data.length, status: 201, body: '{"id":42}' });
    expect(result.headers).toMatchObject({ 'x-request-id': 'r1' });
    expect(result.headers).not.toHaveProperty('set-cookie');
    expect(result).not.toHaveProperty('body_truncated');
  });

  it('stores no credential the endpoint echoes back: Basic (computed from user/password), custom headers, URL userinfo', async () => {
    const password = 'hunter2-echoed-password';
    const basic = `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`;
    const token = 'tok-echoed-5f1c9a7e';
    const userinfoBasic = Buffer.from('bob:url-secret-77').toString('base64');
    receiver.setFaults([
      {
        status: 200,
        headers: { 'x-echo-authorization': basic, 'x-echo-token': `Bearer ${token}` },
        body: JSON.stringify({ headers: { authorization: basic, 'x-api-key': token }, raw: `${password} ${token} ${userinfoBasic} url-secret-77` }),
      },
    ]);
    const { path } = file('small');
    const port = new URL(receiver.url).port;
    const { context } = makeContext({ url: `http://127.0.0.1:${port}/echo`, filename: 'v.mp4', user: 'alice', password, headers: { 'X-Api-Key': token } }, fileSource(path));
    const result = await httpAdapter.upload(context);
    expect(receiver.requests[0]!.headers.authorization).toBe(basic);
    const stored = JSON.stringify(result);
    for (const secret of [basic, basic.slice('Basic '.length), password, token]) expect(stored).not.toContain(secret);
    expect(result.headers).toMatchObject({ 'x-echo-authorization': '[REDACTED]', 'x-echo-token': 'Bearer [REDACTED]' });

    receiver.setFaults([{ status: 200, body: `you sent Basic ${userinfoBasic} (url-secret-77)` }]);
    const viaUrl = makeContext({ url: `http://bob:url-secret-77@127.0.0.1:${port}/echo`, filename: 'v.mp4' }, fileSource(path));
    const echoed = await httpAdapter.upload(viaUrl.context);
    expect(echoed.body).toBe('you sent Basic [REDACTED] ([REDACTED])');
  });

  it('sends the upload id as Idempotency-Key (an sf-string); a caller\'s own Idempotency-Key wins', async () => {
    const { path } = file('small');
    const { context } = makeContext({ url: `${receiver.url}/keyed`, filename: 'v.mp4' }, fileSource(path));
    await httpAdapter.upload({ ...context, uploadId: '0b6f2c1e-6a51-4c1f-9d1c-2f8e7a9b3c4d' });
    const own = makeContext({ url: `${receiver.url}/keyed`, filename: 'v.mp4', headers: { 'Idempotency-Key': '"mine"' } }, fileSource(path));
    await httpAdapter.upload({ ...own.context, uploadId: '0b6f2c1e-6a51-4c1f-9d1c-2f8e7a9b3c4d' });
    expect(receiver.requests.map((r) => r.headers['idempotency-key'])).toEqual(['"0b6f2c1e-6a51-4c1f-9d1c-2f8e7a9b3c4d"', '"mine"']);
  });

  it('returns the destination URL without its userinfo when there is no Location', async () => {
    const { path } = file('small');
    const port = new URL(receiver.url).port;
    const { context } = makeContext({ url: `http://user:pw@127.0.0.1:${port}/api?x=1`, filename: 'v.mp4' }, fileSource(path));
    const result = await httpAdapter.upload(context);
    expect(result.url).toBe(`http://127.0.0.1:${port}/api?x=1`);
    expect(receiver.requests[0]!.basicAuth).toEqual({ user: 'user', password: 'pw' });
  });

  it('keeps at most 64 KiB of the answer body and says it was cut', async () => {
    receiver.setFaults([{ status: 200, body: 'x'.repeat(100 * 1024) }]);
    const { path } = file('small');
    const { context } = makeContext({ url: `${receiver.url}/big-answer`, filename: 'v.mp4' }, fileSource(path));
    const result = await httpAdapter.upload(context);
    expect(result.body).toBe('x'.repeat(64 * 1024));
    expect(result.body_truncated).toBe(true);
  });

  it.each([
    [500, undefined, 'UF_DESTINATION_UNAVAILABLE', undefined],
    [503, '30', 'UF_DESTINATION_UNAVAILABLE', 30_000],
    [502, undefined, 'UF_DESTINATION_UNAVAILABLE', undefined],
    [429, '120', 'UF_RATE_LIMITED', 120_000],
    [408, '5', 'UF_TIMEOUT', 5_000],
  ])('treats %i (Retry-After %s) as retryable %s with retryAfterMs', async (status, retryAfter, code, retryAfterMs) => {
    receiver.setFaults([{ status, ...(retryAfter ? { retryAfter } : {}), body: 'try later' }]);
    const { path } = file('small');
    const { context } = makeContext({ url: `${receiver.url}/upload?token=SECRET-Q`, filename: 'v.mp4' }, fileSource(path));
    const error = await uploadError(context);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(true);
    expect(error.status).toBe(status);
    expect(error.retryAfterMs).toBe(retryAfterMs);
    expect(error.message).toContain(`127.0.0.1:${new URL(receiver.url).port}`);
    expect(error.message).toContain(String(status));
  });

  it.each([
    [400, 'UF_DESTINATION_REJECTED'],
    [401, 'UF_CREDENTIALS_INVALID'],
    [403, 'UF_PERMISSION_DENIED'],
    [404, 'UF_DESTINATION_NOT_FOUND'],
    [413, 'UF_FILE_TOO_LARGE'],
  ])('treats %i as permanent %s', async (status, code) => {
    receiver.setFaults([{ status, body: 'no' }]);
    const { path } = file('small');
    const { context } = makeContext({ url: `${receiver.url}/upload`, filename: 'v.mp4' }, fileSource(path));
    const error = await uploadError(context);
    expect(error.code).toBe(code);
    expect(error.category).toBe('permanent');
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(status);
  });

  it('never puts the password, header values or the query string in an error message', async () => {
    receiver.setFaults([{ status: 500 }]);
    const { path } = file('small');
    const { context } = makeContext(
      {
        url: `${receiver.url}/upload?token=SECRET-QUERY`,
        filename: 'v.mp4',
        user: 'carol',
        password: 'SECRET-PASSWORD',
        headers: { Authorization: 'Bearer SECRET-HEADER' },
      },
      fileSource(path),
    );
    const error = await uploadError(context);
    for (const secret of ['SECRET-QUERY', 'SECRET-PASSWORD', 'SECRET-HEADER', 'token=']) {
      expect(error.message).not.toContain(secret);
      expect(JSON.stringify(error.toJSON())).not.toContain(secret);
    }
  });

  it('turns a connection reset in the middle of the body into a transient UF_NETWORK', async () => {
    receiver.setFaults([{ destroyAfterBytes: 1 * MiB }]);
    const { path } = file('medium');
    const source = fileSource(path);
    const { context } = makeContext({ url: `${receiver.url}/upload`, filename: 'v.mp4' }, source);
    const error = await uploadError(context);
    expect(error.code).toBe('UF_NETWORK');
    expect(error.retryable).toBe(true);
    expect(receiver.requests[0]!.complete).toBe(false);
    expect(receiver.requests[0]!.bodyBytes).toBeLessThan(file('medium').data.length);
    expect(source.opened[0]!.destroyed).toBe(true);
  });

  it('stops promptly with UF_ABORTED when the signal aborts mid-upload, and closes the source', async () => {
    const source = slowSource(256 * MiB);
    let abortedAt = 0;
    const run = makeContext({ url: `${receiver.url}/upload`, filename: 'v.mp4' }, source, {
      onProgress: (bytes) => {
        if (bytes > 256 * 1024 && !abortedAt) {
          abortedAt = Date.now();
          run.controller.abort();
        }
      },
    });
    const error = await uploadError(run.context);
    const elapsed = Date.now() - abortedAt;
    expect(abortedAt).toBeGreaterThan(0);
    expect(error.code).toBe('UF_ABORTED');
    expect(elapsed).toBeLessThan(1000);
    expect(source.opened[0]!.destroyed).toBe(true);
    const received = receiver.requests[0]!;
    expect(received.complete).toBe(false);
    expect(received.bodyBytes).toBeLessThan(16 * MiB);
  });

  it('refuses to start when the signal is already aborted, sending nothing', async () => {
    const { path } = file('small');
    const run = makeContext({ url: `${receiver.url}/upload`, filename: 'v.mp4' }, fileSource(path));
    run.controller.abort();
    expect((await uploadError(run.context)).code).toBe('UF_ABORTED');
    expect(receiver.connections).toBe(0);
  });

  it.each([301, 302, 307, 308])('treats a %i redirect as a permanent error that says to use the final URL', async (status) => {
    receiver.setFaults([{ status, headers: { location: 'https://elsewhere.example/final/path?sig=abc' } }]);
    const { path } = file('small');
    const { context } = makeContext({ url: `${receiver.url}/upload`, filename: 'v.mp4' }, fileSource(path));
    const error = await uploadError(context);
    expect(error.code).toBe('UF_DESTINATION_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('redirects to https://elsewhere.example/final/path');
    expect(error.message).toContain('final URL');
    expect(error.message).not.toContain('sig=abc');
    expect(receiver.requests).toHaveLength(1);
  });

  it('refuses a blocked address before connecting when 127.0.0.1 is not allowed', async () => {
    const { path } = file('small');
    const source = fileSource(path);
    const { context } = makeContext({ url: `${receiver.url}/upload`, filename: 'v.mp4' }, source, {
      network: createNetworkGuard({ allowedPrivateHosts: [] }),
    });
    const error = await uploadError(context);
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(error.message).toContain('127.0.0.1');
    expect(receiver.connections).toBe(0);
    expect(receiver.requests).toHaveLength(0);
    expect(source.opened).toHaveLength(0);
  });

  it('refuses at connect time when the name resolves to a blocked address only then (DNS rebinding)', async () => {
    let lookups = 0;
    const rebinding = createNetworkGuard({
      allowedPrivateHosts: [],
      resolver: (_hostname, _options, callback) => {
        lookups += 1;
        const address = lookups === 1 ? '93.184.216.34' : '127.0.0.1';
        setImmediate(() => callback(null, [{ address, family: 4 }]));
      },
    });
    const { path } = file('small');
    const port = new URL(receiver.url).port;
    const { context } = makeContext({ url: `http://rebind.example:${port}/upload`, filename: 'v.mp4' }, fileSource(path), { network: rebinding });
    const error = await uploadError(context);
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(lookups).toBe(2);
    expect(receiver.connections).toBe(0);
  });

  it('reuses one kept-alive connection for consecutive uploads to the same host', async () => {
    const { path, data } = file('small');
    const network = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'] });
    for (const name of ['first', 'second', 'third']) {
      const { context } = makeContext({ url: `${receiver.url}/${name}`, filename: `${name}.mp4`, method: 'PUT' }, fileSource(path), { network });
      const result = await httpAdapter.upload(context);
      expect(result.status).toBe(200);
    }
    expect(receiver.requests.map((r) => [r.path, r.sha256])).toEqual(['/first', '/second', '/third'].map((p) => [p, sha256(data)]));
    expect(receiver.connections).toBe(1);
  });

  it('keeps a connection per host name: two names of one address never share a socket', async () => {
    const { path } = file('small');
    const port = new URL(receiver.url).port;
    // Both names resolve to the allowed 127.0.0.1 (an allowed literal admits names that resolve to it).
    const network = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'], resolver: (_hostname, _options, callback) => setImmediate(() => callback(null, [{ address: '127.0.0.1', family: 4 }])) });
    for (const host of ['a.example', 'b.example', 'a.example', 'b.example']) {
      const { context } = makeContext({ url: `http://${host}:${port}/${host}`, filename: 'v.mp4', method: 'PUT' }, fileSource(path), { network });
      await httpAdapter.upload(context);
    }
    expect(receiver.requests.map((r) => r.headers.host)).toEqual(['a.example', 'b.example', 'a.example', 'b.example'].map((h) => `${h}:${port}`));
    expect(receiver.connections).toBe(2);
  });

  it('checks every request against the guard, an idle kept-alive socket to the host notwithstanding', async () => {
    const { path } = file('small');
    const port = new URL(receiver.url).port;
    let address = '127.0.0.1';
    const network = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'], resolver: (_hostname, _options, callback) => setImmediate(() => callback(null, [{ address, family: 4 }])) });
    const upload = () => makeContext({ url: `http://rebind.example:${port}/upload`, filename: 'v.mp4', method: 'PUT' }, fileSource(path), { network }).context;
    await httpAdapter.upload(upload());
    expect(receiver.connections).toBe(1);
    // The name now resolves to the metadata address: the open socket to it must not carry a request.
    address = '169.254.169.254';
    const error = await uploadError(upload());
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(error.message).toContain('169.254.169.254');
    expect(receiver.requests).toHaveLength(1);
  });

  it('turns a refused connection into a transient UF_NETWORK', async () => {
    const { path } = file('small');
    const url = `${receiver.url}/upload`;
    await receiver.close();
    const { context } = makeContext({ url, filename: 'v.mp4' }, fileSource(path));
    const error = await uploadError(context);
    expect(error.code).toBe('UF_NETWORK');
    expect(error.message).toContain('ECONNREFUSED');
    receiver = await startHttpReceiver(); // for afterEach
  });

  it('fails with a transient UF_TIMEOUT (response) when the server takes the whole body and never answers', async () => {
    const { path, data } = file('small');
    let received = 0;
    const silent = createServer((request) => request.on('data', (chunk: Buffer) => (received += chunk.length)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const saved = { ...httpTimeouts };
    httpTimeouts.responseMs = 300;
    try {
      const { context } = makeContext({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/upload`, filename: 'v.mp4', method: 'PUT' }, fileSource(path));
      const error = await uploadError(context);
      expect(error.code).toBe('UF_TIMEOUT');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('response timeout');
      expect(received).toBe(data.length);
    } finally {
      Object.assign(httpTimeouts, saved);
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('fails with a transient UF_TIMEOUT (connect) when a new connection does not get its address in time, sending nothing', async () => {
    const { path } = file('small');
    // The check before the request resolves the name; the lookup of the connection itself never answers.
    let lookups = 0;
    const slowDns = createNetworkGuard({
      allowedPrivateHosts: ['127.0.0.1'],
      resolver: (_hostname, _options, callback) => {
        lookups += 1;
        if (lookups === 1) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      },
    });
    const saved = { ...httpTimeouts };
    httpTimeouts.connectMs = 300;
    try {
      const url = new URL(`${receiver.url}/upload`);
      url.hostname = 'slow-dns.test';
      const { context } = makeContext({ url: url.toString(), filename: 'v.mp4' }, fileSource(path), { network: slowDns });
      const error = await uploadError(context);
      expect(error.code).toBe('UF_TIMEOUT');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('connect timeout');
      expect(lookups).toBe(2);
      expect(receiver.requests).toHaveLength(0);
    } finally {
      Object.assign(httpTimeouts, saved);
    }
  });

  it('sends a User-Agent unless one is given, and the URL\'s userinfo (decoded) as Basic auth', async () => {
    const { path } = file('small');
    const url = new URL(`${receiver.url}/upload`);
    url.username = 'bob';
    url.password = 'p@ss word';
    await httpAdapter.upload(makeContext({ url: url.toString(), filename: 'v.mp4', method: 'PUT' }, fileSource(path)).context);
    await httpAdapter.upload(makeContext({ url: `${receiver.url}/upload`, filename: 'v.mp4', method: 'PUT', headers: { 'User-Agent': 'render-farm/2' } }, fileSource(path)).context);
    expect(receiver.requests[0]!.headers['user-agent']).toBe('upload-fleet');
    expect(receiver.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('bob:p@ss word').toString('base64')}`);
    expect(receiver.requests[1]!.headers['user-agent']).toBe('render-farm/2');
    expect(receiver.requests[1]!.headers.authorization).toBeUndefined();
  });

  it.each(['PUT', 'POST'] as const)('%s of a file source: the file exactly, an exact Content-Length, read and written in buffers of SOURCE_WRITE_CHUNK_BYTES', async (method) => {
    const { path, data } = file('medium');
    const inner = fileReaderSource({ path, name: 'medium.mp4' });
    const reads: number[] = [];
    // The adapter writes the buffers it reads into: their sizes are its writes' sizes.
    const source: UploadSource = {
      ...inner,
      open: () => Promise.reject(new Error('a file source is read through its reader, not a stream')),
      openReader: async () => {
        const reader = await inner.openReader!();
        return { read: async (buffer, position) => (reads.push(buffer.byteLength), reader.read(buffer, position)), close: reader.close };
      },
    };
    const { context, progress } = makeContext({ url: `${receiver.url}/reader`, filename: 'v.mp4', method }, source, { contentType: 'video/mp4' });
    const result = await httpAdapter.upload(context);
    const received = receiver.requests[0]!;
    expect(Number(received.headers['content-length'])).toBe(received.bodyBytes);
    expect(received.headers['transfer-encoding']).toBeUndefined();
    if (method === 'PUT') {
      expect(received.bodyBytes).toBe(data.length);
      expect(received.sha256).toBe(sha256(data));
    } else {
      expect(received.files[0]).toMatchObject({ size: data.length, sha256: sha256(data) });
    }
    // 8 MiB + 5 bytes: full buffers, then the 5-byte tail read asking one byte more, which proves the end.
    expect(reads).toEqual([...Array((8 * MiB) / SOURCE_WRITE_CHUNK_BYTES).fill(SOURCE_WRITE_CHUNK_BYTES), 6]);
    expect(progress.at(-1)).toBe(data.length);
    expect(result.bytes).toBe(data.length);
  });

  it('fails with UF_SOURCE_CHANGED, sending no more than its Content-Length, when a file source is longer or shorter than its size', async () => {
    const { path, data } = file('medium');
    for (const size of [data.length - 10, data.length + 10]) {
      const lying: UploadSource = { ...fileReaderSource({ path, name: 'medium.mp4' }), size };
      const { context } = makeContext({ url: `${receiver.url}/changed`, filename: 'v.mp4', method: 'PUT' }, lying);
      const error = await uploadError(context);
      expect(error.code).toBe('UF_SOURCE_CHANGED');
    }
    // The receiver never saw a body longer than the Content-Length it was promised.
    expect(receiver.requests).toHaveLength(2);
    for (const request of receiver.requests) expect(request.bodyBytes).toBeLessThanOrEqual(Number(request.headers['content-length']));
  });

  it('passes a source failure mid-upload through as the source\'s own FleetError', async () => {
    const failing: UploadSource = {
      size: 4 * MiB,
      description: 'failing source',
      async open() {
        let sent = 0;
        return new Readable({
          read() {
            if (sent >= MiB) {
              this.destroy(new FleetError('UF_NETWORK', 'The source server example.org could not be read (ECONNRESET)'));
              return;
            }
            sent += 64 * 1024;
            this.push(Buffer.alloc(64 * 1024));
          },
        });
      },
    };
    const { context } = makeContext({ url: `${receiver.url}/upload`, filename: 'v.mp4', method: 'PUT' }, failing);
    const error = await uploadError(context);
    expect(error.code).toBe('UF_NETWORK');
    expect(error.message).toContain('source server');
  });

  it('fails instead of sending a body that contradicts its Content-Length when the source is shorter than its size', async () => {
    const { path, data } = file('small');
    const lying: UploadSource = { ...fileSource(path), size: data.length + 10 };
    const { context } = makeContext({ url: `${receiver.url}/upload`, filename: 'v.mp4' }, lying);
    const error = await uploadError(context);
    expect(error.message).toContain('source changed');
    expect(error.retryable).toBe(true);
  });
});

describe('http adapter with a 300 MiB file', () => {
  const SIZE = 300 * MiB;
  let dir: string;
  let path: string;
  let expectedSha: string;
  let receiver: HttpReceiver;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'upload-fleet-http-big-'));
    path = join(dir, 'big.mp4');
    // Sparse: random first and last MiB, zeros between (never written, so instant and
    // free on disk). The hash is computed the same way, without the file in memory.
    const head = randomBytes(MiB);
    const tail = randomBytes(MiB);
    const handle = await openFile(path, 'w');
    await handle.write(head, 0, head.length, 0);
    await handle.truncate(SIZE);
    await handle.write(tail, 0, tail.length, SIZE - MiB);
    await handle.close();
    const hash = createHash('sha256').update(head);
    const zeros = Buffer.alloc(MiB);
    for (let i = 0; i < SIZE / MiB - 2; i += 1) hash.update(zeros);
    expectedSha = hash.update(tail).digest('hex');
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['POST', 'PUT'])('streams it with %s without the heap growing anywhere near the file size', async (method) => {
    const before = process.memoryUsage();
    const peak = { heapUsed: before.heapUsed, arrayBuffers: before.arrayBuffers };
    const sample = () => {
      const now = process.memoryUsage();
      peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
      peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers);
    };
    const { context, progress } = makeContext({ url: `${receiver.url}/big`, filename: 'big.mp4', method }, fileSource(path), { onProgress: sample });
    const result = await httpAdapter.upload(context);
    sample();

    const received = receiver.requests.at(-1)!;
    expect(received.fileSize).toBe(SIZE);
    expect(received.sha256).toBe(expectedSha);
    expect(result.bytes).toBe(SIZE);
    expect(progress.at(-1)).toBe(SIZE);
    expect(peak.heapUsed - before.heapUsed).toBeLessThan(64 * MiB);
    // Buffers live outside the JS heap, so heapUsed alone would not notice a file read
    // whole into a Buffer. Spent 64 KiB chunks wait for GC (about 60 MiB here), so the
    // bound is loose, but a buffered copy of the file (300 MiB) would break it.
    expect(peak.arrayBuffers - before.arrayBuffers).toBeLessThan(SIZE / 2);
  });
});
