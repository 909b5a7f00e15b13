/**
 * A Google Drive delivery end to end: submitted through the HTTP API, run by a real worker
 * process (apps/worker, WORKER_POOLS=googledrive), stored by the testkit's Drive fake; the
 * status the API answers carries the result and never the token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '@upload-fleet/core';
import { DRIVE_FAKE_TOKEN, startGoogleDriveFake, startWorker, started, type GoogleDriveFake, type WorkerProcess } from '@upload-fleet/testkit';
import { deliverAndWait, postDelivery, startHarness, type Harness } from './test-harness.js';

const ENCRYPTION_KEY = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
const FOLDER = '1TeamRendersFolder00000000000000';

let h: Harness;
let fake: GoogleDriveFake;
let worker: WorkerProcess;
let dir: string;
// Three chunks and a bit: the upload goes through several PUTs on one session.
const file = randomBytes(2 * 8 * 1024 * 1024 + 4321);

beforeAll(async () => {
  fake = await startGoogleDriveFake();
  fake.addFolder(FOLDER, { name: 'Team renders', driveId: '0ATeamDrive0000000000' });
  h = await startHarness('googledrive-delivery', {}, { secretBox: SecretBox.fromConfig(ENCRYPTION_KEY) });
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-drive-api-'));
  writeFileSync(join(dir, 'welcome.mov'), file);
  worker = startWorker({
    REDIS_URL: h.redisUrl,
    REDIS_PREFIX: h.prefix,
    ENCRYPTION_KEYS: ENCRYPTION_KEY,
    WEBHOOK_SECRET: 'googledrive-delivery-webhook-secret',
    WORKER_POOLS: 'googledrive',
    SOURCE_ROOT: dir,
    ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
    GOOGLEDRIVE_API_BASE_URL: fake.apiBaseUrl,
    GOOGLEDRIVE_UPLOAD_BASE_URL: fake.uploadBaseUrl,
  });
  await started(worker);
}, 60_000);
afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await h?.close();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const deliver = (destination: Record<string, unknown>) => deliverAndWait(h, { source: { path: 'welcome.mov' }, upload: { extension: 'mov', destination } });

describe('a googledrive delivery through the API', () => {
  it('stores the file byte for byte with every parameter, and answers the file id and link without the token', async () => {
    const { status, body } = await deliver({
      type: 'googledrive',
      filename: 'Welcome, Alex! (final).mov',
      folder_id: FOLDER,
      shared_drive: true,
      mimetype: 'video/quicktime',
      description: 'Rendered for Alex, delivered by the fleet.',
      oauth_access_token: DRIVE_FAKE_TOKEN,
    });
    expect(status.state, JSON.stringify(status.uploads[0]?.error)).toBe('completed');
    const stored = fake.fileNamed('Welcome, Alex! (final).mov')!;
    expect(stored).toMatchObject({
      size: file.length,
      sha256: createHash('sha256').update(file).digest('hex'),
      parents: [FOLDER],
      driveId: '0ATeamDrive0000000000',
      supportsAllDrives: true,
      mimeType: 'video/quicktime',
      uploadContentType: 'video/quicktime',
      description: 'Rendered for Alex, delivered by the fleet.',
    });
    expect(status.result).toEqual({
      url: stored.webViewLink,
      bytes: file.length,
      file_id: stored.id,
      name: 'Welcome, Alex! (final).mov',
      mime_type: 'video/quicktime',
      // The whole file's SHA-256, computed by the worker while it streamed.
      sha256: createHash('sha256').update(file).digest('hex'),
    });
    expect(status.upload).toBe(stored.webViewLink);
    expect(body).not.toContain(DRIVE_FAKE_TOKEN);
  });

  it('a rate-limited start is deferred without using an attempt, then completes', async () => {
    fake.setFaults([{ step: 'start', error: 'userRateLimitExceeded', times: 2 }]);
    const { status } = await deliver({ type: 'googledrive', filename: 'rate-limited.mov', oauth_access_token: DRIVE_FAKE_TOKEN });
    expect(status.state, JSON.stringify(status.uploads[0]?.error)).toBe('completed');
    expect(status.uploads[0]).toMatchObject({ attempts: 1 });
    expect(fake.requests.filter((r) => r.step === 'start').slice(-3).map((r) => r.status)).toEqual([403, 403, 200]);
    expect(fake.files.filter((f) => f.name === 'rate-limited.mov')).toHaveLength(1);
  });

  it('a missing folder and a full Drive fail after one attempt, saying what to fix', async () => {
    const missing = await deliver({ type: 'googledrive', filename: 'missing.mov', folder_id: '1NoSuchFolder', oauth_access_token: DRIVE_FAKE_TOKEN });
    expect(missing.status.uploads[0]).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'UF_DESTINATION_NOT_FOUND', message: expect.stringContaining('folder_id "1NoSuchFolder"') } });

    fake.setStorageQuota(file.length - 1);
    const full = await deliver({ type: 'googledrive', filename: 'full.mov', oauth_access_token: DRIVE_FAKE_TOKEN });
    fake.setStorageQuota(undefined);
    expect(full.status.uploads[0]).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'UF_DESTINATION_REJECTED', message: expect.stringContaining('storage is full') } });
    expect(full.body).not.toContain(DRIVE_FAKE_TOKEN);
  });

  it('refuses a folder URL in folder_id at submit, naming the field', async () => {
    const res = await postDelivery(h, {
      source: { path: 'welcome.mov' },
      upload: { destination: { type: 'googledrive', filename: 'a.mov', folder_id: `https://drive.google.com/drive/folders/${FOLDER}`, oauth_access_token: DRIVE_FAKE_TOKEN } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/upload\.destination\.folder_id/);
    expect(res.body).not.toContain(DRIVE_FAKE_TOKEN);
  });
});
