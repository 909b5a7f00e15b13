import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@upload-fleet/core';
import { deletePrefix, dumpPrefix, S3RVER_KEY, S3RVER_SECRET, startS3Server, uniquePrefix, type LocalS3Server } from '@upload-fleet/testkit';
import { startWorkerFleet, type WorkerFleet } from '../src/index.js';
import { testConfig } from './fleet-harness.js';

const BUCKET = 'key-id';
/** A key id s3rver does not know: its refusal (InvalidAccessKeyId) quotes it back. */
const UNKNOWN_KEY_ID = 'AKIAPLANTEDKEYID0001';

/**
 * The access key id and its secret identify an account together (issue 13, item 10): the
 * id is encrypted with the secret before the job reaches Redis, and neither the logs, the
 * status nor a failure that quotes it shows it.
 */
describe('an S3 upload with an access key id', () => {
  const prefix = uniquePrefix('s3-key-id');
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-sources-'));
  const config = testConfig(prefix, sourceRoot, { pools: [{ type: 's3', concurrency: 2 }], maxAttempts: 1 });
  const logLines: string[] = [];
  let server: LocalS3Server;
  let fleet: WorkerFleet;

  beforeAll(async () => {
    server = await startS3Server({ buckets: [BUCKET] });
    const logs = new Writable({ write: (chunk: Buffer, _encoding, done) => (logLines.push(chunk.toString()), done()) });
    fleet = await startWorkerFleet(config, createLogger({ level: 'debug' }, logs));
    writeFileSync(join(sourceRoot, 'v.mp4'), Buffer.alloc(64 * 1024, 7));
  });
  afterAll(async () => {
    await fleet?.close();
    await server?.close();
    await deletePrefix(config.redisUrl, prefix);
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  const submit = (filename: string, keyId: string) =>
    fleet.producer.enqueue({
      source: { path: 'v.mp4' },
      upload: { destination: { type: 's3', bucket: BUCKET, filename, aws_access_key_id: keyId, aws_secret_access_key: S3RVER_SECRET, s3host: `127.0.0.1:${server.port}` } },
    });

  it('uploads with it, and it is nowhere in Redis, the logs or the status', async () => {
    const { token } = await submit('ok.mp4', S3RVER_KEY);
    const final = await fleet.producer.waitFor(token, { timeoutMs: 30_000, pollIntervalMs: 100 });
    expect(final.state).toBe('completed');
    expect((await server.stored(BUCKET, 'ok.mp4'))?.size).toBe(64 * 1024);

    const redis = [...(await dumpPrefix(config.redisUrl, prefix)).values()].join('\n');
    expect(redis).toContain(token);
    expect(logLines.join('')).toContain(token);
    for (const [where, text] of [['redis', redis], ['logs', logLines.join('')], ['status', JSON.stringify(final)]] as const) {
      expect(text, where).not.toContain(S3RVER_KEY);
    }
  });

  it('keeps it out of a refusal that quotes it, in the stored failure, the logs and the status', async () => {
    const { token, uploads } = await submit('refused.mp4', UNKNOWN_KEY_ID);
    const final = await fleet.producer.waitFor(token, { timeoutMs: 30_000, pollIntervalMs: 100 });
    expect(final.uploads[0]).toMatchObject({ state: 'failed', error: { code: 'UF_CREDENTIALS_INVALID' } });
    const job = await fleet.producer.queue('s3').getJob(uploads[0]!.job_id);
    expect(job?.failedReason).toContain('aws_access_key_id');

    const redis = [...(await dumpPrefix(config.redisUrl, prefix)).values()].join('\n');
    for (const [where, text] of [['redis', redis], ['logs', logLines.join('')], ['status', JSON.stringify(final)]] as const) {
      expect(text, where).not.toContain(UNKNOWN_KEY_ID);
    }
  });
});
