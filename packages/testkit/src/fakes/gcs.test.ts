/**
 * The GCS fake answers as Cloud Storage and Google's token endpoint do: these requests are
 * made by hand (fetch and node:crypto), not by the adapter, so the fake's checks are
 * proven on their own.
 */
import { createSign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { GOOGLE_CHUNK_UNIT } from './google-resumable.js';
import { startGcsFake, type FakeServiceAccountKey, type GcsFake } from './gcs.js';

let fake: GcsFake;
let key: FakeServiceAccountKey;
beforeAll(async () => {
  fake = await startGcsFake({ buckets: ['b'] });
  key = fake.serviceAccountKey();
});
afterAll(() => fake?.close());

function assertion(signingKey: FakeServiceAccountKey, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'RS256', typ: 'JWT', kid: key.private_key_id })}.${part({ iss: key.client_email, scope: 'https://www.googleapis.com/auth/devstorage.read_write', aud: fake.tokenUrl, iat: now, exp: now + 3600, ...claims })}`;
  return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(signingKey.private_key, 'base64url')}`;
}

async function grant(jwt: string) {
  const res = await fetch(fake.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function startSession(token: string | undefined, size: number, bucket = 'b'): Promise<Response> {
  return fetch(`${fake.url}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=a.bin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-upload-content-length': String(size), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ contentType: 'application/octet-stream' }),
  });
}

const put = (uri: string, headers: Record<string, string>, body: Buffer = Buffer.alloc(0)) => fetch(uri, { method: 'PUT', headers, body, redirect: 'manual' });
const base64Crc = (bytes: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32c(bytes) >>> 0);
  return out.toString('base64');
};

describe('the token endpoint', () => {
  it('issues a token for an assertion signed by the key, and refuses other signatures, audiences and lifetimes', async () => {
    expect(await grant(assertion(key))).toMatchObject({ status: 200, body: { token_type: 'Bearer', expires_in: 3599, access_token: expect.stringMatching(/^ya29\./) } });
    const other = fake.serviceAccountKey();
    expect(await grant(assertion(other))).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } });
    expect((await grant(assertion(key, { aud: 'https://oauth2.googleapis.com/token' }))).body.error).toBe('invalid_grant');
    expect((await grant(assertion(key, { exp: Math.floor(Date.now() / 1000) + 7200 }))).body.error).toBe('invalid_grant');
  });
});

describe('the upload', () => {
  it('refuses the start without a valid bearer token, and a missing bucket, in the JSON API error format', async () => {
    const unauthenticated = await startSession(undefined, 10);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toEqual({
      error: { code: 401, message: 'Invalid Credentials', errors: [{ message: 'Invalid Credentials', domain: 'global', reason: 'authError', locationType: 'header', location: 'Authorization' }] },
    });
    const token = String((await grant(assertion(key))).body.access_token);
    const missing = await startSession(token, 10, 'nope');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { errors: { reason: string }[] } }).error.errors[0]!.reason).toBe('notFound');
  });

  it('answers 308 without Range before any byte, refuses chunks that are not 256 KiB multiples, and checks X-Goog-Hash', async () => {
    const token = String((await grant(assertion(key))).body.access_token);
    const size = GOOGLE_CHUNK_UNIT + 100;
    const file = Buffer.alloc(size, 7);
    const uri = (await startSession(token, size)).headers.get('location')!;
    const query = await put(uri, { 'content-range': `bytes */${size}` });
    expect([query.status, query.headers.get('range')]).toEqual([308, null]);
    const odd = await put(uri, { 'content-range': `bytes 0-999/${size}` }, file.subarray(0, 1000));
    expect(odd.status).toBe(400);
    expect(((await odd.json()) as { error: { message: string } }).error.message).toMatch(/multiple of 262144/);
    const first = await put(uri, { 'content-range': `bytes 0-${GOOGLE_CHUNK_UNIT - 1}/${size}` }, file.subarray(0, GOOGLE_CHUNK_UNIT));
    expect([first.status, first.headers.get('range')]).toEqual([308, `bytes=0-${GOOGLE_CHUNK_UNIT - 1}`]);
    const gap = await put(uri, { 'content-range': `bytes ${GOOGLE_CHUNK_UNIT + 1}-${size - 1}/${size}` }, file.subarray(GOOGLE_CHUNK_UNIT + 1));
    expect(gap.status).toBe(400);
    const wrong = await put(uri, { 'content-range': `bytes ${GOOGLE_CHUNK_UNIT}-${size - 1}/${size}`, 'x-goog-hash': 'crc32c=AAAAAA==' }, file.subarray(GOOGLE_CHUNK_UNIT));
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe(`Provided CRC32C "AAAAAA==" doesn't match calculated CRC32C "${base64Crc(file)}".`);
    expect(fake.object('b', 'a.bin')).toBeUndefined();
  });

  it('creates the object on the last byte and answers its resource with crc32c and md5Hash', async () => {
    const token = String((await grant(assertion(key))).body.access_token);
    const file = Buffer.from('hello, cloud storage');
    const uri = (await startSession(token, file.length)).headers.get('location')!;
    const done = await put(uri, { 'content-range': `bytes 0-${file.length - 1}/${file.length}`, 'x-goog-hash': `crc32c=${base64Crc(file)}` }, file);
    expect(done.status).toBe(200);
    const resource = (await done.json()) as Record<string, unknown>;
    expect(resource).toMatchObject({ kind: 'storage#object', bucket: 'b', name: 'a.bin', size: String(file.length), crc32c: base64Crc(file), generation: expect.stringMatching(/^\d+$/) });
    const again = await put(uri, { 'content-range': `bytes */${file.length}` });
    expect([again.status, ((await again.json()) as Record<string, unknown>).generation]).toEqual([200, resource.generation]);
  });
});
