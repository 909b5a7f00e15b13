/**
 * S3 deliveries end to end through the fleet, to a bucket with ACLs disabled (Object
 * Ownership "bucket owner enforced", the default of new AWS buckets since April 2023):
 * submitted to the HTTP API, uploaded by a real worker process (WORKER_POOLS=s3) to s3rver
 * behind the testkit's HTTP front, which refuses x-amz-acl with S3's documented error,
 * read back through the status API.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '@upload-fleet/core';
import { S3RVER_KEY, S3RVER_SECRET, s3ErrorAnswer, startHttpFront, startS3Server, startWorker, until, type HttpFront, type LocalS3Server, type WorkerProcess } from '@upload-fleet/testkit';
import { asAlice, startHarness, type Harness } from './test-harness.js';

const KEY = `k1:${Buffer.alloc(32, 9).toString('base64')}`;
const BUCKET = 'acl-less';

describe('an S3 delivery to a bucket with ACLs disabled, through the API', () => {
  let server: LocalS3Server;
  let front: HttpFront;
  let h: Harness;
  let worker: WorkerProcess;
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-api-s3-'));
  // Two parts: CreateMultipartUpload carries the ACL.
  const bytes = randomBytes(5 * 1024 * 1024 + 77);
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  beforeAll(async () => {
    writeFileSync(join(sourceRoot, 'welcome.mp4'), bytes);
    server = await startS3Server({ buckets: [BUCKET] });
    front = await startHttpFront(server.port);
    front.answer = (request) =>
      request.headers['x-amz-acl'] !== undefined ? s3ErrorAnswer(400, 'AccessControlListNotSupported', 'The bucket does not allow ACLs') : undefined;
    h = await startHarness('api-s3', {}, { secretBox: SecretBox.fromConfig(KEY) });
    worker = startWorker({
      REDIS_URL: h.redisUrl,
      REDIS_PREFIX: h.prefix,
      ENCRYPTION_KEYS: KEY,
      WEBHOOK_SECRET: 'api-s3-webhook-secret',
      WORKER_POOLS: 's3',
      SOURCE_ROOT: sourceRoot,
      ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
      // The fleet's own credentials, for aws_use_policy (the SDK's default chain reads them).
      AWS_ACCESS_KEY_ID: S3RVER_KEY,
      AWS_SECRET_ACCESS_KEY: S3RVER_SECRET,
    });
  }, 60_000);
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await worker?.exited;
    await h?.close();
    await front?.close();
    await server?.close();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it('completes without an ACL when acl is left out, and fails an explicit acl for good, saying what to do', async () => {
    const s3 = (filename: string, extra: Record<string, unknown>) => ({ destination: { type: 's3', bucket: BUCKET, filename, s3host: `127.0.0.1:${front.port}`, ...extra } });
    const keys = { aws_access_key_id: S3RVER_KEY, aws_secret_access_key: S3RVER_SECRET };
    const submitted = await h.app.inject({
      method: 'POST',
      url: '/v1/deliveries',
      headers: asAlice,
      payload: { source: { path: 'welcome.mp4' }, uploads: [s3('api/default.mp4', { aws_use_policy: true, sign_urls_for: 600 }), s3('api/explicit.mp4', { ...keys, acl: 'public-read' })] },
    });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const { token } = submitted.json<{ token: string }>();

    interface Upload {
      state: string;
      attempts?: number;
      result?: Record<string, unknown>;
      error?: { code: string; message: string; category?: string };
    }
    const status = await until(
      'both uploads to finish',
      async () => {
        const res = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice });
        const body = res.json<{ state: string; uploads: Upload[] }>();
        return body.uploads.every((u) => ['completed', 'failed'].includes(u.state)) ? { text: res.body, body } : undefined;
      },
      90_000,
    );
    const [left, explicit] = status.body.uploads;
    expect(left?.state, `${status.text}\n${worker.output().slice(-2000)}`).toBe('completed');
    expect(left?.result).toMatchObject({ bytes: bytes.length, acl_applied: null, acl_note: expect.stringContaining('ACLs disabled'), checksum: { algorithm: 'MD5', parts: 2, verified: true } });
    expect(await server.stored(BUCKET, 'api/default.mp4')).toEqual({ size: bytes.length, sha256 });
    // The signed URL fetches the object.
    const served = await fetch(String(left?.result?.signed_url));
    expect(served.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await served.arrayBuffer())).digest('hex')).toBe(sha256);

    expect(explicit?.state).toBe('failed');
    // Permanent: one attempt, no retries.
    expect(explicit).toMatchObject({ attempts: 1, error: { code: 'UF_DESTINATION_REJECTED' } });
    expect(explicit?.error?.message).toContain('has ACLs disabled (Object Ownership "bucket owner enforced") and refused acl "public-read"');
    expect(explicit?.error?.message).toContain('"bucket-default"');
    expect(await server.stored(BUCKET, 'api/explicit.mp4')).toBeUndefined();
  }, 120_000);
});
