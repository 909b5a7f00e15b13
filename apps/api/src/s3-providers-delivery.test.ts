/**
 * S3-compatible providers end to end through the fleet: deliveries naming `provider`
 * submitted to the HTTP API, uploaded by a real worker process (WORKER_POOLS=s3) to
 * s3rver, read back through the status API. MinIO is reached at its `s3host`, R2 through
 * the operator's endpoint template (S3_R2_ENDPOINT), as a jurisdiction or gateway would
 * set it. What the provider cannot honour is refused at submit time, naming the field.
 *
 * B2, Wasabi and Spaces address buckets by virtual host (`<bucket>.<endpoint>`), names
 * this machine's resolver cannot give a worker process; their requests are checked at the
 * adapter level with a resolver of their own (packages/destinations/src/s3/providers.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_KEY, startS3Server, type LocalS3Server, type WorkerProcess } from '@upload-fleet/testkit';
import { asAlice, deliveryEnd, keysOf, startHarness, startHarnessWorker, type Harness } from './test-harness.js';

const BUCKET = 'renders';
const ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
// s3rver checks no signature, so a secret of the test's own is accepted; it must never come back out.
const SECRET = 'provider-secret-4f9a2c7e1b';

describe('S3-compatible providers through the API', () => {
  let s3: LocalS3Server;
  let h: Harness;
  let worker: WorkerProcess;
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-api-s3-providers-'));
  // Over 5 MiB, so each upload is a multipart upload.
  const bytes = randomBytes(6 * 1024 * 1024 + 17);
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  beforeAll(async () => {
    writeFileSync(join(sourceRoot, 'welcome.mp4'), bytes);
    s3 = await startS3Server({ buckets: [BUCKET] });
    h = await startHarness('api-s3-providers');
    worker = startHarnessWorker(h, 's3', sourceRoot, {
      // R2's endpoint, moved to the local server: the template keeps its placeholder.
      S3_R2_ENDPOINT: `http://127.0.0.1:${s3.port}`,
    });
  }, 60_000);
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await worker?.exited;
    await h?.close();
    await s3?.close();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it('delivers to MinIO and R2 byte for byte, sends no ACL, and says what decides access', async () => {
    const submitted = await h.app.inject({
      method: 'POST',
      url: '/v1/deliveries',
      headers: asAlice,
      payload: {
        source: { path: 'welcome.mp4' },
        uploads: [
          { destination: { type: 's3', provider: 'minio', s3host: `127.0.0.1:${s3.port}`, bucket: BUCKET, filename: 'minio/welcome.mp4', aws_access_key_id: S3RVER_KEY, aws_secret_access_key: SECRET } },
          { destination: { type: 's3', provider: 'r2', account_id: ACCOUNT_ID, bucket: BUCKET, filename: 'r2/welcome.mp4', aws_access_key_id: S3RVER_KEY, aws_secret_access_key: SECRET } },
        ],
      },
    });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const { token } = submitted.json<{ token: string }>();

    type Result = { url: string; bytes: number; provider: string; acl_applied: string | null; url_public?: boolean; notes?: string[] };
    const status = await deliveryEnd(h, token);
    expect(status.body.state, `${status.text}\n${worker.output().slice(-2000)}`).toBe('completed');
    const [minio, r2] = status.body.uploads.map((u) => u.result as unknown as Result);
    expect(minio).toMatchObject({ url: `http://127.0.0.1:${s3.port}/${BUCKET}/minio/welcome.mp4`, bytes: bytes.length, provider: 'minio', acl_applied: null });
    expect(r2).toMatchObject({ url: `http://127.0.0.1:${s3.port}/${BUCKET}/r2/welcome.mp4`, bytes: bytes.length, provider: 'r2', acl_applied: null, url_public: false });
    expect(r2!.notes!.join('\n')).toMatch(/not public: .*custom domain or the r2\.dev subdomain/);

    expect(await s3.stored(BUCKET, 'minio/welcome.mp4')).toEqual({ size: bytes.length, sha256 });
    expect(await s3.stored(BUCKET, 'r2/welcome.mp4')).toEqual({ size: bytes.length, sha256 });
    // Neither provider takes an object ACL: none went out, on any request of either upload.
    const uploadRequests = s3.requests.filter((r) => r.bucket === BUCKET && /^(minio|r2)\//.test(r.key));
    expect(uploadRequests.map((r) => r.operation)).toContain('CreateMultipartUpload');
    expect(uploadRequests.filter((r) => r.headers['x-amz-acl'] !== undefined)).toEqual([]);
    // R2 requests are signed for its one region, "auto"; MinIO's for the default region.
    const signingRegion = (key: string) => /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(s3.requests.find((r) => r.key === key)?.headers.authorization))?.[1];
    expect(signingRegion('r2/welcome.mp4')).toBe('auto');
    expect(signingRegion('minio/welcome.mp4')).toBe('us-east-1');
    expect(status.text).not.toContain(SECRET);
    expect(worker.output()).not.toContain(SECRET);
  }, 120_000);

  it('refuses at submit time what a provider cannot honour, naming the field, and stores nothing', async () => {
    const before = await keysOf(h);
    const refused = await h.app.inject({
      method: 'POST',
      url: '/v1/deliveries',
      headers: asAlice,
      payload: {
        source: { path: 'welcome.mp4' },
        uploads: [
          { destination: { type: 's3', provider: 'r2', bucket: BUCKET, filename: 'r2/refused.mp4', acl: 'public-read-write', aws_access_key_id: S3RVER_KEY, aws_secret_access_key: SECRET } },
          { destination: { type: 's3', provider: 'minio', bucket: BUCKET, filename: 'minio/refused.mp4', aws_access_key_id: S3RVER_KEY, aws_secret_access_key: SECRET } },
        ],
      },
    });
    expect(refused.statusCode, refused.body).toBe(400);
    const problems = refused.json<{ error: { problems: { path: string; message: string }[] } }>().error.problems;
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath['uploads.0.destination.account_id']).toMatch(/account_id is required/);
    expect(byPath['uploads.0.destination.acl']).toMatch(/R2/);
    expect(byPath['uploads.1.destination.s3host']).toMatch(/s3host is required with provider "minio"/);
    expect(await keysOf(h)).toEqual(before);
  });
});
