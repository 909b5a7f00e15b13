/**
 * A Vimeo delivery end to end: submitted through the HTTP API, taken by a real worker
 * process, uploaded with tus to the real tus server behind the Vimeo fake, read back
 * through the status API. Every parameter arrives, the bytes are identical, and no secret
 * comes back in any answer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVimeoFake, until, VIMEO_FAKE_TOKEN, VIMEO_FAKE_USER_ID, type VimeoFake, type WorkerProcess } from '@upload-fleet/testkit';
import { asAlice, startHarness, startHarnessWorker, type Harness } from './test-harness.js';

const PASSWORD = 'viewers-password-7d1e';

describe('a Vimeo delivery through the HTTP API and a worker process', () => {
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-vimeo-api-'));
  let h: Harness;
  let fake: VimeoFake;
  let worker: WorkerProcess;

  beforeAll(async () => {
    fake = await startVimeoFake();
    h = await startHarness('vimeo-api');
    worker = startHarnessWorker(h, 'vimeo', sourceRoot, {
      VIMEO_API_BASE_URL: fake.apiBaseUrl,
      VIMEO_CHUNK_BYTES: String(1024 * 1024),
      VIMEO_TRANSCODE_WAIT_MS: '2000',
      VIMEO_TRANSCODE_POLL_MS: '100',
    });
  }, 60_000);
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await h?.close();
    await fake?.close();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it('delivers the file with every parameter and reports the video id, URL and processing state', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(join(sourceRoot, 'welcome.mp4'), bytes);
    const submitted = await h.app.inject({
      method: 'POST',
      url: '/v1/deliveries',
      headers: asAlice,
      payload: {
        source: { path: 'welcome.mp4' },
        upload: {
          destination: {
            type: 'vimeo',
            name: 'Welcome, Ada',
            description: 'Your personal video',
            privacy: { view: 'password', embed: 'private', comments: 'nobody', download: false },
            password: PASSWORD,
            folder_id: '456',
            oauth_access_token: VIMEO_FAKE_TOKEN,
          },
        },
      },
    });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const { token } = submitted.json() as { token: string };

    const status = await until(
      'the delivery to finish',
      async () => {
        const res = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice });
        const body = res.json() as { state: string };
        return body.state === 'completed' || body.state === 'failed' ? res : undefined;
      },
      60_000,
    );
    const body = status.json() as { state: string; uploads: { result?: Record<string, unknown>; error?: unknown }[] };
    expect(body.state, JSON.stringify(body.uploads[0]?.error) + worker.output().slice(-2000)).toBe('completed');

    const video = fake.videos.at(-1)!;
    expect(body.uploads[0]!.result).toEqual({ url: video.link, bytes: bytes.length, video_id: video.id, uri: video.uri, processing: 'complete', sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(video).toMatchObject({
      name: 'Welcome, Ada',
      description: 'Your personal video',
      privacy: { view: 'password', embed: 'private', comments: 'nobody', download: false },
      password: PASSWORD,
      folderUri: `/users/${VIMEO_FAKE_USER_ID}/projects/456`,
    });
    expect(await fake.stored(video)).toEqual({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), offset: bytes.length });
    // The answers show neither the viewing password nor the token.
    expect(submitted.body + status.body).not.toContain(PASSWORD);
    expect(submitted.body + status.body).not.toContain(VIMEO_FAKE_TOKEN);
    expect(worker.output()).not.toContain(PASSWORD);
    expect(worker.output()).not.toContain(VIMEO_FAKE_TOKEN);
  }, 90_000);
});
