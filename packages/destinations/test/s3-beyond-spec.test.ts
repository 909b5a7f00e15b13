/**
 * The S3 parameters beyond the spec, against s3rver (behind the testkit's HTTP front where
 * S3 itself would behave differently from s3rver): buckets with ACLs disabled and
 * acl "bucket-default", storage_class, sse, tags, session_token, signed result URLs,
 * url_prefix, and the MD5 integrity checks (checksum.ts) against a front that alters a byte.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FleetError, type UploadResult } from '@upload-fleet/core';
import { s3ErrorAnswer, startHttpFront, type HttpFront } from '@upload-fleet/testkit';
import { s3DestinationSchema, type S3Destination } from '../src/s3/definition.js';
import { createS3Adapter } from '../src/s3/index.js';
import { defaultDestinationsConfig } from '../src/definitions.js';
import { fileSource, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3Server, type LocalS3Server } from './behaviour/targets/s3.js';

const MiB = 1024 * 1024;
const BUCKET = 'beyond';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLETOKEN//session';
/** No keys in the job: the fleet's own credentials sign (aws_use_policy). */
const fleetCredentials = { aws_access_key_id: undefined, aws_secret_access_key: undefined, aws_use_policy: true };

let server: LocalS3Server;
let front: HttpFront;
let dir: string;
let small: SourceFile;
let twoParts: SourceFile;

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  front = await startHttpFront(server.port);
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-s3-beyond-'));
  small = await writeRandomFile(dir, 'small.mp4', 200 * 1024 + 3);
  twoParts = await writeRandomFile(dir, 'two-parts.mp4', 5 * MiB + 4321);
});
afterAll(async () => {
  await front?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  front.answer = undefined;
  front.corrupt = undefined;
});

function destination(overrides: Record<string, unknown> = {}): S3Destination {
  return s3DestinationSchema.parse({
    type: 's3',
    bucket: BUCKET,
    filename: 'renders/welcome.mp4',
    aws_access_key_id: S3RVER_KEY,
    aws_secret_access_key: S3RVER_SECRET,
    s3host: `127.0.0.1:${front.port}`,
    ...overrides,
  });
}

function run(dest: S3Destination, file: SourceFile): Promise<UploadResult> {
  const adapter = createS3Adapter({ ...defaultDestinationsConfig().s3, partsInFlight: 2 });
  return adapter.upload(testUploadContext(dest, { source: fileSource(file), secrets: [S3RVER_SECRET, SESSION_TOKEN] }));
}

async function failure(upload: Promise<unknown>): Promise<FleetError> {
  const error = await upload.then(
    () => new Error('the upload succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

/** The bucket as Object Ownership "bucket owner enforced" makes it: any request with x-amz-acl is refused, as S3 documents. */
function refuseAcls(): void {
  front.answer = (request) =>
    request.headers['x-amz-acl'] !== undefined ? s3ErrorAnswer(400, 'AccessControlListNotSupported', 'The bucket does not allow ACLs') : undefined;
}

/** The requests s3rver received from now on, by operation. */
function watch() {
  const start = server.requests.length;
  return (operation: string) => server.requests.slice(start).filter((r) => r.operation === operation);
}

const sizes = [
  ['a single PUT', () => small, 'PutObject'],
  ['a multipart upload', () => twoParts, 'CreateMultipartUpload'],
] as const;

describe('a bucket with ACLs disabled (Object Ownership "bucket owner enforced")', () => {
  it.each(sizes)('with acl left out, stores the object without an ACL and says so (%s)', async (_how, file, creating) => {
    refuseAcls();
    const requests = watch();
    const key = `acl-less/${file().name}`;
    const result = await run(destination({ filename: key }), file());
    expect(result).toMatchObject({ acl_applied: null, acl_note: expect.stringContaining('ACLs disabled') });
    // Tried with the spec's default first, refused by the front, then sent without.
    const refused = front.requests.filter((r) => r.answeredByFront);
    expect(refused.at(-1)?.headers['x-amz-acl']).toBe('public-read');
    expect(requests(creating).map((r) => r.headers['x-amz-acl'])).toEqual([undefined]);
    expect(await server.stored(BUCKET, key)).toEqual({ size: file().size, sha256: file().sha256 });
  });

  it.each(sizes)('with an explicit acl, fails for good saying the bucket has ACLs disabled and what to do (%s)', async (_how, file, creating) => {
    refuseAcls();
    const requests = watch();
    const key = `acl-refused/${file().name}`;
    for (const acl of ['private', 'public-read']) {
      const error = await failure(run(destination({ filename: key, acl }), file()));
      expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
      expect(error.message).toContain(`has ACLs disabled (Object Ownership "bucket owner enforced") and refused acl "${acl}"`);
      expect(error.message).toContain('set acl to "bucket-default"');
    }
    expect(requests(creating)).toEqual([]);
    expect(await server.stored(BUCKET, key)).toBeUndefined();
    expect(server.uploadsInProgress(BUCKET).filter((u) => u.key === key)).toEqual([]);
  });

  it.each(sizes)('with acl "bucket-default", sends no ACL at all (%s)', async (_how, file, creating) => {
    refuseAcls();
    const requests = watch();
    const key = `bucket-default/${file().name}`;
    const result = await run(destination({ filename: key, acl: 'bucket-default' }), file());
    expect(result).toMatchObject({ acl_applied: null, acl_note: expect.stringContaining('"bucket-default"') });
    expect(front.requests.filter((r) => r.answeredByFront && r.url.includes('bucket-default'))).toEqual([]);
    expect(requests(creating).map((r) => r.headers['x-amz-acl'])).toEqual([undefined]);
    expect(await server.stored(BUCKET, key)).toEqual({ size: file().size, sha256: file().sha256 });
  });

  it('leaves the result as it was on a bucket that takes ACLs', async () => {
    const result = await run(destination({ filename: 'acl-ok.mp4' }), small);
    expect(result).not.toHaveProperty('acl_applied');
    expect(watch()('PutObject')).toEqual([]);
  });
});

describe('object settings beyond the spec', () => {
  it.each(sizes)('sends storage_class, sse with its KMS key, tags and the session token (%s)', async (_how, file, creating) => {
    const requests = watch();
    const key = `settings/${file().name}`;
    const result = await run(
      destination({
        filename: key,
        storage_class: 'STANDARD_IA',
        sse: 'aws:kms',
        sse_kms_key_id: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        tags: { customer: 'c 7', 'render+id': 'r/42&x' },
        session_token: SESSION_TOKEN,
      }),
      file(),
    );
    expect(result.storage_class).toBe('STANDARD_IA');
    // s3rver keeps the storage class; SSE and tags it accepts without storing, so the headers are what can be checked.
    const head = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.StorageClass).toBe('STANDARD_IA');
    const [created] = requests(creating);
    expect(created?.headers).toMatchObject({
      'x-amz-storage-class': 'STANDARD_IA',
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      'x-amz-tagging': 'customer=c%207&render%2Bid=r%2F42%26x',
    });
    const tagging = new URLSearchParams(String(created?.headers['x-amz-tagging']));
    expect(Object.fromEntries(tagging)).toEqual({ customer: 'c 7', 'render+id': 'r/42&x' });
    // Every request of the upload is signed with the temporary credentials' token.
    const all = server.requests.filter((r) => r.key === key && r.operation !== 'HeadObject');
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((r) => r.headers['x-amz-security-token'] === SESSION_TOKEN)).toBe(true);
    expect(JSON.stringify(result)).not.toContain(SESSION_TOKEN);
  });

  it('sends REDUCED_REDUNDANCY for the spec\'s reduced_redundancy, and storage_class REDUCED_REDUNDANCY with it', async () => {
    await run(destination({ filename: 'rr/a.mp4', reduced_redundancy: true }), small);
    await run(destination({ filename: 'rr/b.mp4', reduced_redundancy: true, storage_class: 'REDUCED_REDUNDANCY' }), small);
    for (const key of ['rr/a.mp4', 'rr/b.mp4']) expect((await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).StorageClass).toBe('REDUCED_REDUNDANCY');
  });

  it.each([
    [{ reduced_redundancy: true, storage_class: 'GLACIER' }, 'storage_class', 'contradicts reduced_redundancy'],
    [{ storage_class: 'COLD' }, 'storage_class', 'STANDARD_IA'],
    [{ sse: 'aws:kms:dsse' }, 'sse', 'AES256'],
    [{ sse_kms_key_id: 'alias/videos' }, 'sse_kms_key_id', 'set sse to "aws:kms"'],
    [{ aws_access_key_id: undefined, aws_secret_access_key: undefined, aws_use_policy: true, session_token: 'x' }, 'session_token', 'aws_access_key_id'],
    [{ tags: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, 'v'])) }, 'tags', 'at most 10 tags'],
    [{ ...fleetCredentials, sign_urls_for: 604_801 }, 'sign_urls_for', '7 days'],
    [{ ...fleetCredentials, sign_urls_for: 1.5 }, 'sign_urls_for', 'whole seconds'],
    [{ url_prefix: 'cdn.example.com' }, 'url_prefix', 'http(s) URL'],
    [{ acl: 'none' }, 'acl', '"bucket-default"'],
  ])('refuses %j at submit time, naming %s', (fields, path, words) => {
    const parsed = s3DestinationSchema.safeParse({ type: 's3', bucket: BUCKET, filename: 'x.mp4', aws_access_key_id: 'AKIA', aws_secret_access_key: 'secret', ...fields });
    expect(parsed.success).toBe(false);
    const issues = parsed.error!.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    expect(issues).toContainEqual({ path, message: expect.stringContaining(words) });
  });
});

describe('the result URL', () => {
  it('with sign_urls_for, adds a presigned GET URL that fetches the object and expires when it says', async () => {
    // aws_use_policy: the fleet's own credentials (here from the environment) sign, as they must (see below).
    vi.stubEnv('AWS_ACCESS_KEY_ID', S3RVER_KEY);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', S3RVER_SECRET);
    let result: UploadResult;
    const before = Date.now();
    try {
      result = await run(destination({ filename: 'signed/private clip.mp4', acl: 'private', sign_urls_for: 3600, ...fleetCredentials }), small);
    } finally {
      vi.unstubAllEnvs();
    }
    const signed = new URL(String(result.signed_url));
    expect(signed.pathname).toBe(`/${BUCKET}/signed/private%20clip.mp4`);
    expect(signed.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(signed.searchParams.get('X-Amz-Expires')).toBe('3600');
    expect(signed.searchParams.get('X-Amz-Credential')).toMatch(new RegExp(`^${S3RVER_KEY}/\\d{8}/us-east-1/s3/aws4_request$`));
    expect(signed.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const expiresAt = Date.parse(String(result.signed_url_expires_at));
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
    // The URL serves the object (through the front, to s3rver).
    const served = await fetch(signed);
    expect(served.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await served.arrayBuffer())).digest('hex')).toBe(small.sha256);
  });

  it('refuses sign_urls_for with the job\'s own keys: the URL would carry the key id the fleet keeps secret', () => {
    const parsed = s3DestinationSchema.safeParse({ type: 's3', bucket: BUCKET, filename: 'x.mp4', aws_access_key_id: 'AKIA', aws_secret_access_key: 'secret', sign_urls_for: 60 });
    expect(parsed.error?.issues).toContainEqual(expect.objectContaining({ path: ['sign_urls_for'], message: expect.stringContaining('set aws_use_policy: true') }));
  });

  it('with url_prefix, reports the CDN URL of the key instead of the bucket\'s', async () => {
    const result = await run(destination({ filename: 'cdn/Köln clip.mp4', url_prefix: 'https://cdn.example.com/videos/' }), small);
    expect(result.url).toBe('https://cdn.example.com/videos/cdn/K%C3%B6ln%20clip.mp4');
    expect(await server.stored(BUCKET, 'cdn/Köln clip.mp4')).toEqual({ size: small.size, sha256: small.sha256 });
  });
});

describe('integrity (MD5: Content-MD5 per body, and S3\'s ETag checked against it)', () => {
  it('reports the object\'s MD5 for a single PUT, and the multipart checksum of the parts', async () => {
    const single = await run(destination({ filename: 'sum/single.mp4' }), small);
    expect(single.checksum).toEqual({ algorithm: 'MD5', scope: 'object', value: createHash('md5').update(await readAll(small)).digest('hex'), verified: true });
    const multi = await run(destination({ filename: 'sum/multi.mp4' }), twoParts);
    const data = await readAll(twoParts);
    const partMd5s = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB)].map((part) => createHash('md5').update(part).digest());
    const expected = `${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-2`;
    expect(multi.checksum).toEqual({ algorithm: 'MD5', scope: 'parts', value: expected, parts: 2, verified: true });
  });

  it('fails a single PUT whose bytes arrived altered, saying so (transient: the retry sends it again)', async () => {
    front.corrupt = (request) => request.method === 'PUT' && request.url.includes('sum/altered.mp4');
    const error = await failure(run(destination({ filename: 'sum/altered.mp4' }), small));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_NETWORK', category: 'transient' });
    expect(error.message).toMatch(/stored the object with ETag [0-9a-f]{32}, but the MD5 of the bytes sent is [0-9a-f]{32}: the bytes changed on the way \(checksum mismatch\)/);
  });

  it('sends a part that arrived altered once more, and completes with the right bytes', async () => {
    let corrupted = 0;
    front.corrupt = (request) => {
      if (corrupted > 0 || !request.url.includes('partNumber=2') || !request.url.includes('sum/resent.mp4')) return false;
      corrupted += 1;
      return true;
    };
    const requests = watch();
    const result = await run(destination({ filename: 'sum/resent.mp4' }), twoParts);
    expect(corrupted).toBe(1);
    expect(requests('UploadPart').map((r) => r.partNumber).sort()).toEqual([1, 2, 2]);
    expect(result.checksum).toMatchObject({ verified: true, parts: 2 });
    expect(await server.stored(BUCKET, 'sum/resent.mp4')).toEqual({ size: twoParts.size, sha256: twoParts.sha256 });
  });

  it('fails a multipart upload whose part keeps arriving altered, and aborts it so no resume uses that part', async () => {
    front.corrupt = (request) => request.url.includes('partNumber=1') && request.url.includes('sum/always.mp4');
    const error = await failure(run(destination({ filename: 'sum/always.mp4' }), twoParts));
    expect(error.code).toBe('UF_NETWORK');
    expect(error.message).toMatch(/stored part 1 with ETag [0-9a-f]{32}, but the MD5 of the bytes sent is [0-9a-f]{32}.*checksum mismatch/);
    expect(server.uploadsInProgress(BUCKET).filter((u) => u.key === 'sum/always.mp4')).toEqual([]);
    expect(await server.stored(BUCKET, 'sum/always.mp4')).toBeUndefined();
  });
});

async function readAll(file: SourceFile): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  return readFile(file.path);
}
