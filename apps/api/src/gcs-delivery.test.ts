/**
 * A Google Cloud Storage delivery end to end: submitted through the HTTP API, run by a real
 * worker process (apps/worker, WORKER_POOLS=gcs), stored by the testkit's GCS fake; the
 * status the API answers carries the result and never the key.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcsFake, started, type FakeServiceAccountKey, type GcsFake, type WorkerProcess } from '@upload-fleet/testkit';
import { deliverAndWait, postDelivery, startHarness, startHarnessWorker, type Harness } from './test-harness.js';

let h: Harness;
let fake: GcsFake;
let key: FakeServiceAccountKey;
let worker: WorkerProcess;
let dir: string;
const file = randomBytes(3 * 1024 * 1024 + 77);

beforeAll(async () => {
  fake = await startGcsFake({ buckets: ['fleet-videos'] });
  key = fake.serviceAccountKey();
  h = await startHarness('gcs-delivery');
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-gcs-api-'));
  writeFileSync(join(dir, 'welcome.mp4'), file);
  worker = startHarnessWorker(h, 'gcs', dir, {
    GCS_API_BASE_URL: fake.url,
  });
  await started(worker);
}, 60_000);
afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await h?.close();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const deliver = (destination: Record<string, unknown>) => deliverAndWait(h, { source: { path: 'welcome.mp4' }, upload: { extension: 'mp4', destination } });

describe('a gcs delivery through the API', () => {
  it('stores the file byte for byte with its parameters, and answers the result without the key', async () => {
    // Key files carry public strings beside the secret ones (the project, Google's URLs);
    // a project named like its bucket must not turn the bucket into "[redacted]" in the result.
    const { status, body } = await deliver({
      type: 'gcs',
      bucket: 'fleet-videos',
      filename: 'renders/api/welcome.mp4',
      credentials: { ...key, project_id: 'fleet-videos', universe_domain: 'googleapis.com' },
      cache_control: 'no-cache',
      metadata: { customer: 'acme' },
      predefined_acl: 'projectPrivate',
      storage_class: 'COLDLINE',
    });
    expect(status.state, JSON.stringify(status.uploads[0]?.error)).toBe('completed');
    const object = fake.object('fleet-videos', 'renders/api/welcome.mp4')!;
    expect(object).toMatchObject({
      size: file.length,
      sha256: createHash('sha256').update(file).digest('hex'),
      contentType: 'video/mp4',
      cacheControl: 'no-cache',
      metadata: { customer: 'acme' },
      predefinedAcl: 'projectPrivate',
      storageClass: 'COLDLINE',
    });
    expect(status.result).toMatchObject({ bucket: 'fleet-videos', name: 'renders/api/welcome.mp4', generation: object.generation, crc32c: object.crc32c, gs_uri: 'gs://fleet-videos/renders/api/welcome.mp4' });
    expect(status.upload).toBe(`${fake.url}/fleet-videos/renders/api/welcome.mp4`);
    expect(body).not.toContain('PRIVATE KEY');
    expect(body).not.toContain(key.private_key_id);
  });

  it('a missing bucket fails after one attempt with UF_DESTINATION_NOT_FOUND', async () => {
    const { status } = await deliver({ type: 'gcs', bucket: 'no-such-bucket', filename: 'renders/api/missing.mp4', credentials: key });
    expect(status.state).toBe('failed');
    expect(status.uploads[0]).toMatchObject({ attempts: 1, error: { code: 'UF_DESTINATION_NOT_FOUND' } });
  });

  it('refuses a key that is not a service account key at submit, naming the field', async () => {
    const res = await postDelivery(h, { source: { path: 'welcome.mp4' }, upload: { destination: { type: 'gcs', bucket: 'fleet-videos', filename: 'a.mp4', credentials: { ...key, type: 'authorized_user' } } } });
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/upload\.destination\.credentials/);
    expect(res.body).toMatch(/service_account/);
    expect(res.body).not.toContain('PRIVATE KEY');
  });
});
