/**
 * The Cloud Storage adapter against the testkit's GCS fake: what reaches GCS (metadata,
 * ACL, storage class, Content-Range, X-Goog-Hash), the service-account token (JWT grant,
 * cache, one renewal), resume across attempts with the whole object's CRC32C still
 * checked, expired sessions, checksum mismatches caught by GCS and by the adapter, and
 * GCS's errors. The shared behaviour suite (behaviour/targets/gcs.ts) covers sizes, names,
 * abort and worker crashes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { startGcsFake, type FakeServiceAccountKey, type GcsFake } from '@upload-fleet/testkit';
import { gcsDestinationSchema, type GcsDestination } from '../src/gcs/definition.js';
import { createGcsAdapter, type GcsResult } from '../src/gcs/index.js';
import { clearTokenCache } from '../src/gcs/access-token.js';
import type { GcsCheckpoint } from '../src/gcs/resumable-upload.js';
import type { CheckpointStore } from '../src/index.js';
import { fileSource, memoryCheckpoints, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';

const KiB = 1024;
const CHUNK = 256 * KiB;
const BUCKET = 'fleet-videos';

let fake: GcsFake;
let key: FakeServiceAccountKey;
let dir: string;
let adapter: ReturnType<typeof createGcsAdapter>;
let small: SourceFile;
let medium: SourceFile; // four 256 KiB chunks and a little

beforeAll(async () => {
  fake = await startGcsFake({ buckets: [BUCKET] });
  key = fake.serviceAccountKey();
  // Small chunks (GCS_CHUNK_BYTES=262144) so a file of a few chunks shows the protocol.
  adapter = createGcsAdapter({ apiBaseUrl: fake.url, chunkBytes: CHUNK });
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-gcs-'));
  small = await writeRandomFile(dir, 'small.mp4', 10 * KiB + 7);
  medium = await writeRandomFile(dir, 'medium.mp4', 4 * CHUNK + 1234);
});
afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.setFaults([]);
  fake.throttle(0);
});

function destination(fields: Record<string, unknown> = {}): GcsDestination {
  return gcsDestinationSchema.parse({ type: 'gcs', bucket: BUCKET, filename: 'renders/welcome.mp4', credentials: key, ...fields });
}

function upload(dest: GcsDestination, file: SourceFile, options: { checkpoint?: CheckpointStore; signal?: AbortSignal; onProgress?: (b: number) => void } = {}): Promise<GcsResult> {
  return adapter.upload(testUploadContext(dest, { source: fileSource(file), ...options })) as Promise<GcsResult>;
}

async function errorOf(promise: Promise<unknown>): Promise<FleetError> {
  const error = await promise.then(
    () => new Error('the upload succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

/** Checkpoint saves in order, to restart from any of them (as a worker that died then would). */
function recordingCheckpoints(onSave?: (state: GcsCheckpoint) => void) {
  const store = memoryCheckpoints();
  const history: GcsCheckpoint[] = [];
  const save = store.save.bind(store);
  store.save = async <T,>(state: T) => {
    history.push(structuredClone(state) as GcsCheckpoint);
    await save(state);
    onSave?.(state as GcsCheckpoint);
  };
  return { store, history };
}

function checkpointWith(state: GcsCheckpoint) {
  const store = memoryCheckpoints();
  store.state = structuredClone(state);
  return store;
}

const base64 = (algorithm: string, file: SourceFile) => createHash(algorithm).update(readFileSync(file.path)).digest('base64');
const sessionRequests = (from: number) => fake.requests.slice(from).filter((r) => r.step === 'chunk' || r.step === 'status');

describe('what reaches Cloud Storage', () => {
  it('sends every parameter: name, predefinedAcl, contentType, cacheControl, metadata and storageClass', async () => {
    const name = 'renders/Grüße aus Köln & co (1) ✓.mp4';
    const result = await upload(
      destination({
        filename: name,
        content_type: 'video/quicktime',
        cache_control: 'public, max-age=3600',
        metadata: { customer: 'acme', render: '42' },
        predefined_acl: 'publicRead',
        storage_class: 'NEARLINE',
      }),
      small,
    );
    const object = fake.object(BUCKET, name)!;
    expect(object).toMatchObject({
      size: small.size,
      sha256: small.sha256,
      contentType: 'video/quicktime',
      cacheControl: 'public, max-age=3600',
      metadata: { customer: 'acme', render: '42' },
      storageClass: 'NEARLINE',
      predefinedAcl: 'publicRead',
    });
    expect(result).toEqual({
      url: `${fake.url}/${BUCKET}/renders/${encodeURIComponent('Grüße aus Köln & co (1) ✓.mp4')}`,
      bytes: small.size,
      bucket: BUCKET,
      name,
      generation: object.generation,
      crc32c: object.crc32c,
      md5_hash: object.md5Hash,
      gs_uri: `gs://${BUCKET}/${name}`,
    });
    expect(object.md5Hash).toBe(base64('md5', small));
  });

  it('takes the content type from the extension when content_type is not given', async () => {
    await upload(destination({ filename: 'renders/typed.webm' }), small);
    expect(fake.object(BUCKET, 'renders/typed.webm')?.contentType).toBe('video/mp4'); // the upload's extension (mp4) wins over the name
  });

  it('sends 256 KiB-multiple chunks with Content-Range, and the whole object\'s X-Goog-Hash on the last one only', async () => {
    const from = fake.requests.length;
    const progress: number[] = [];
    await upload(destination({ filename: 'renders/chunks.mp4' }), medium, { onProgress: (b) => progress.push(b) });
    const size = medium.size;
    const chunks = sessionRequests(from);
    expect(chunks.map((r) => r.contentRange)).toEqual([
      `bytes 0-${CHUNK - 1}/${size}`,
      `bytes ${CHUNK}-${2 * CHUNK - 1}/${size}`,
      `bytes ${2 * CHUNK}-${3 * CHUNK - 1}/${size}`,
      `bytes ${3 * CHUNK}-${4 * CHUNK - 1}/${size}`,
      `bytes ${4 * CHUNK}-${size - 1}/${size}`,
    ]);
    expect(chunks.map((r) => r.status)).toEqual([308, 308, 308, 308, 200]);
    const object = fake.object(BUCKET, 'renders/chunks.mp4')!;
    expect(chunks.slice(0, -1).every((r) => r.xGoogHash === undefined)).toBe(true);
    expect(chunks.at(-1)!.xGoogHash).toBe(`crc32c=${object.crc32c},md5=${base64('md5', medium)}`);
    expect(progress).toEqual([0, CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK, size]);
  });

  it('accepts the key as its JSON text', async () => {
    await upload(destination({ filename: 'renders/json-text.mp4', credentials: JSON.stringify(key) }), small);
    expect(fake.object(BUCKET, 'renders/json-text.mp4')).toMatchObject({ sha256: small.sha256, writer: key.client_email });
  });
});

describe('the service account token', () => {
  it('signs one JWT grant per key and reuses the token for later uploads', async () => {
    clearTokenCache();
    const before = fake.tokensIssued;
    await upload(destination({ filename: 'renders/token-1.mp4' }), small);
    await upload(destination({ filename: 'renders/token-2.mp4' }), small);
    expect(fake.tokensIssued - before).toBe(1);
    const other = fake.serviceAccountKey();
    await upload(destination({ filename: 'renders/token-3.mp4', credentials: other }), small);
    expect(fake.tokensIssued - before).toBe(2);
  });

  it('uploads of one key wait for one token request; one that is aborted stops waiting without failing the others', async () => {
    clearTokenCache();
    fake.setTokenDelayMs(400);
    try {
      const before = fake.tokensIssued;
      const aborted = new AbortController();
      const first = upload(destination({ filename: 'renders/shared-token-1.mp4' }), small, { signal: aborted.signal });
      const second = upload(destination({ filename: 'renders/shared-token-2.mp4' }), small);
      setTimeout(() => aborted.abort('shutdown'), 50);
      expect((await errorOf(first)).code).toBe('UF_ABORTED');
      await second;
      expect(fake.object(BUCKET, 'renders/shared-token-2.mp4')?.sha256).toBe(small.sha256);
      expect(fake.tokensIssued - before).toBe(1);
    } finally {
      fake.setTokenDelayMs(0);
    }
  });

  it('after a 401 gets a new token once and goes on', async () => {
    await upload(destination({ filename: 'renders/before-expiry.mp4' }), small);
    fake.expireTokens();
    const before = fake.tokensIssued;
    await upload(destination({ filename: 'renders/after-expiry.mp4' }), small);
    expect(fake.tokensIssued - before).toBe(1);
    expect(fake.object(BUCKET, 'renders/after-expiry.mp4')?.sha256).toBe(small.sha256);
  });

  it('a 401 for the new token too is permanent: UF_CREDENTIALS_INVALID', async () => {
    fake.setFaults([{ step: 'start', error: 'authError', times: 2 }]);
    const error = await errorOf(upload(destination({ filename: 'renders/401.mp4' }), small));
    expect(error).toMatchObject({ code: 'UF_CREDENTIALS_INVALID', category: 'permanent', status: 401 });
  });

  it('a deleted key is refused at the token endpoint, without quoting the key', async () => {
    const gone = fake.serviceAccountKey();
    fake.deleteKey(gone);
    const error = await errorOf(upload(destination({ filename: 'renders/deleted.mp4', credentials: gone }), small));
    expect(error).toMatchObject({ code: 'UF_CREDENTIALS_INVALID', category: 'permanent' });
    expect(error.message).toMatch(/invalid_grant.*Invalid JWT Signature/);
    expect(error.message).not.toContain('PRIVATE KEY');
  });

  it('refuses a token_uri at a private address before sending the key anywhere', async () => {
    const before = fake.requests.length;
    const error = await errorOf(upload(destination({ filename: 'renders/metadata.mp4', credentials: { ...key, token_uri: 'http://169.254.169.254/token' } }), small));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(fake.requests.length).toBe(before);
  });

  it('a key that is not JSON fails the upload naming credentials', async () => {
    const error = await errorOf(upload(destination({ filename: 'renders/not-json.mp4', credentials: 'not a key' }), small));
    expect(error).toMatchObject({ code: 'UF_CREDENTIALS_INVALID', category: 'permanent' });
    expect(error.message).toMatch(/credentials is not JSON/);
  });
});

describe('resume and verification', () => {
  it('a new attempt continues the checkpoint\'s session, hashing the bytes GCS has that the checkpoint did not cover', async () => {
    const name = 'renders/resumed.mp4';
    const interruption = new AbortController();
    const recorded = recordingCheckpoints((state) => {
      if (state.offset >= 2 * CHUNK) interruption.abort('shutdown');
    });
    const first = await errorOf(upload(destination({ filename: name }), medium, { checkpoint: recorded.store, signal: interruption.signal }));
    expect(first.code).toBe('UF_ABORTED');
    // The worker died after the first chunk's checkpoint: GCS holds two chunks, the checkpoint's CRC covers one.
    const afterFirstChunk = recorded.history.find((state) => state.offset === CHUNK)!;
    expect(afterFirstChunk.digest.hashed_to).toBe(CHUNK);
    const sessionsBefore = fake.sessions.length;
    const from = fake.requests.length;

    const result = await upload(destination({ filename: name }), medium, { checkpoint: checkpointWith(afterFirstChunk) });
    expect(fake.sessions.length).toBe(sessionsBefore);
    const requests = sessionRequests(from);
    expect(requests[0]).toMatchObject({ step: 'status', status: 308, contentRange: `bytes */${medium.size}` });
    expect(requests[1]!.contentRange).toBe(`bytes ${2 * CHUNK}-${3 * CHUNK - 1}/${medium.size}`);
    const object = fake.object(BUCKET, name)!;
    expect(object).toMatchObject({ size: medium.size, sha256: medium.sha256 });
    expect(result.crc32c).toBe(object.crc32c);
    // The MD5 of bytes another process read cannot be restored: only CRC32C goes with the last chunk.
    expect(requests.at(-1)!.xGoogHash).toBe(`crc32c=${object.crc32c}`);
    expect(fake.generations(BUCKET, name)).toBe(1);
  });

  it('GCS refuses a last chunk whose X-Goog-Hash is not the bytes\' (a changed source): no object, and the checkpoint is dropped', async () => {
    const name = 'renders/refused-hash.mp4';
    const interruption = new AbortController();
    const recorded = recordingCheckpoints((state) => {
      if (state.offset >= CHUNK) interruption.abort('shutdown');
    });
    await errorOf(upload(destination({ filename: name }), medium, { checkpoint: recorded.store, signal: interruption.signal }));
    const saved = recorded.history.find((state) => state.offset === CHUNK)!;
    // As if the bytes before the checkpoint had been different ones.
    const tampered = checkpointWith({ ...saved, digest: { ...saved.digest, crc32c: (saved.digest.crc32c ^ 1) >>> 0 } });
    const error = await errorOf(upload(destination({ filename: name }), medium, { checkpoint: tampered }));
    expect(error).toMatchObject({ code: 'UF_SOURCE_CHANGED', category: 'transient', status: 400 });
    expect(error.message).toMatch(/doesn't match calculated CRC32C/);
    expect(fake.object(BUCKET, name)).toBeUndefined();
    expect(tampered.state).toBeUndefined();
  });

  it('fails with a clear error when the object GCS answers has another CRC32C than the file', async () => {
    const checkpoint = memoryCheckpoints();
    fake.setFaults([{ step: 'chunk', wrongChecksum: true }]);
    const error = await errorOf(upload(destination({ filename: 'renders/wrong-answer.mp4' }), small, { checkpoint }));
    expect(error).toMatchObject({ code: 'UF_SOURCE_CHANGED', category: 'transient' });
    expect(error.message).toMatch(/CRC32C AAAAAA== where the file's is/);
    expect(checkpoint.state).toBeUndefined();
  });

  it('a finished checkpoint returns the object without sending anything', async () => {
    const recorded = recordingCheckpoints();
    await upload(destination({ filename: 'renders/done.mp4' }), small, { checkpoint: recorded.store });
    const from = fake.requests.length;
    const again = await upload(destination({ filename: 'renders/done.mp4' }), small, { checkpoint: recorded.store });
    expect(fake.requests.length).toBe(from);
    expect(again.generation).toBe(fake.object(BUCKET, 'renders/done.mp4')!.generation);
    expect(fake.generations(BUCKET, 'renders/done.mp4')).toBe(1);
  });

  it.each([404, 410] as const)('starts a new session when the checkpoint\'s one has expired (%i)', async (status) => {
    const name = `renders/expired-${status}.mp4`;
    const interruption = new AbortController();
    const recorded = recordingCheckpoints((state) => {
      if (state.offset >= CHUNK) interruption.abort('shutdown');
    });
    await errorOf(upload(destination({ filename: name }), medium, { checkpoint: recorded.store, signal: interruption.signal }));
    fake.expireSessions(status);
    const sessionsBefore = fake.sessions.length;
    await upload(destination({ filename: name }), medium, { checkpoint: recorded.store });
    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.object(BUCKET, name)).toMatchObject({ size: medium.size, sha256: medium.sha256 });
    expect(fake.generations(BUCKET, name)).toBe(1);
  });

  it('a 308 shorter than the chunk: sends again from the byte after it, without hashing those bytes twice', async () => {
    const from = fake.requests.length;
    fake.setFaults([{ step: 'chunk', keepBytes: 0 }]);
    const result = await upload(destination({ filename: 'renders/short.mp4' }), medium);
    const ranges = sessionRequests(from).map((r) => r.contentRange);
    expect(ranges.slice(0, 2)).toEqual([`bytes 0-${CHUNK - 1}/${medium.size}`, `bytes 0-${CHUNK - 1}/${medium.size}`]);
    expect(result.md5_hash).toBe(base64('md5', medium));
    expect(fake.object(BUCKET, 'renders/short.mp4')?.sha256).toBe(medium.sha256);
  });
});

describe('Cloud Storage\'s errors', () => {
  it.each([
    ['429 rateLimitExceeded with Retry-After', { step: 'start' as const, error: 'rateLimitExceeded' as const, headers: { 'retry-after': '7' } }, 'UF_RATE_LIMITED', 'rate_limited'],
    ['403 userRateLimitExceeded', { step: 'start' as const, error: 'userRateLimitExceeded' as const }, 'UF_RATE_LIMITED', 'rate_limited'],
    ['403 forbidden', { step: 'start' as const, error: 'forbidden' as const }, 'UF_PERMISSION_DENIED', 'permanent'],
    ['400 invalid', { step: 'start' as const, error: 'invalid' as const }, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['412 conditionNotMet', { step: 'start' as const, error: 'conditionNotMet' as const }, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['500 internalError on the start', { step: 'start' as const, error: 'internalError' as const }, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
  ])('%s', async (_name, fault, code, category) => {
    fake.setFaults([fault]);
    const error = await errorOf(upload(destination({ filename: 'renders/error.mp4' }), small));
    expect({ code: error.code, category: error.category }).toEqual({ code, category });
  });

  it('429 keeps its Retry-After', async () => {
    fake.setFaults([{ step: 'start', error: 'rateLimitExceeded', headers: { 'retry-after': '7' } }]);
    const error = await errorOf(upload(destination({ filename: 'renders/429.mp4' }), small));
    expect(error.retryAfterMs).toBe(7000);
    expect(error.message).toMatch(/one write a second to the same object name/);
  });

  it('the missing bucket and the missing permission name the bucket and what to grant', async () => {
    const missing = await errorOf(upload(destination({ bucket: 'no-such-bucket' }), small));
    expect(missing).toMatchObject({ code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent', status: 404 });
    expect(missing.message).toMatch(/bucket "no-such-bucket" does not exist/);
    const reader = fake.serviceAccountKey();
    fake.denyWrites(BUCKET, reader.client_email);
    const denied = await errorOf(upload(destination({ credentials: reader }), small));
    expect(denied).toMatchObject({ code: 'UF_PERMISSION_DENIED', status: 403 });
    expect(denied.message).toMatch(/roles\/storage\.objectCreator/);
  });

  it('a 503 on a chunk is an interruption: the same session goes on within the attempt', async () => {
    const sessionsBefore = fake.sessions.length;
    fake.setFaults([{ step: 'chunk', error: 'backendError' }]);
    await upload(destination({ filename: 'renders/chunk-503.mp4' }), medium);
    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.object(BUCKET, 'renders/chunk-503.mp4')?.sha256).toBe(medium.sha256);
  });
});

describe('the schema', () => {
  const problems = (fields: Record<string, unknown>) =>
    (gcsDestinationSchema.safeParse({ type: 'gcs', bucket: BUCKET, filename: 'a.mp4', credentials: key, ...fields }).error?.issues ?? []).map((i) => ({ path: i.path.join('.'), message: i.message }));

  it('refuses a JSON key without its private key, naming the field', () => {
    const { private_key: _dropped, ...partial } = key;
    expect(problems({ credentials: partial })).toEqual([{ path: 'credentials', message: expect.stringMatching(/credentials\.private_key is missing/) }]);
    expect(problems({ credentials: JSON.stringify({ ...key, type: 'authorized_user' }) })).toEqual([{ path: 'credentials', message: expect.stringMatching(/credentials\.type must be "service_account"/) }]);
    expect(problems({ credentials: '{ not json' })).toEqual([{ path: 'credentials', message: expect.stringMatching(/credentials is not JSON/) }]);
  });

  it('keeps only the key\'s grant fields, from an object or its JSON text, so its public strings are not scrubbed from results', () => {
    const full = { ...key, universe_domain: 'googleapis.com', auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs' };
    const expected = { type: 'service_account', client_email: key.client_email, private_key: key.private_key, private_key_id: key.private_key_id, token_uri: key.token_uri };
    expect(destination({ credentials: full }).credentials).toEqual(expected);
    expect(destination({ credentials: JSON.stringify(full) }).credentials).toEqual(expected);
    // Parsing the stored form again (the worker does) gives the same.
    expect(destination({ credentials: expected }).credentials).toEqual(expected);
  });

  it('refuses bucket names and object names GCS refuses, and unknown ACLs and storage classes', () => {
    expect(problems({ bucket: 'My_Bucket' }).map((p) => p.path)).toEqual(['bucket']);
    expect(problems({ bucket: 'goog-videos' }).map((p) => p.path)).toEqual(['bucket']);
    expect(problems({ filename: 'a\nb.mp4' }).map((p) => p.path)).toEqual(['filename']);
    expect(problems({ predefined_acl: 'public-read' })).toEqual([{ path: 'predefined_acl', message: expect.stringContaining('publicRead') }]);
    expect(problems({ storage_class: 'GLACIER' })).toEqual([{ path: 'storage_class', message: expect.stringContaining('NEARLINE') }]);
  });
});
