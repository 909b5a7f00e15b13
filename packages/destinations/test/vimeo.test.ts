/**
 * The Vimeo destination's protocol details against the testkit's Vimeo API fake and the
 * real tus server behind it: every parameter arrives, the headers Vimeo asks for, the
 * transcode status, a connection reset mid-upload, an expired upload link, the rate limit,
 * the weekly quota and the token refresh.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { startVimeoFake, until, VIMEO_FAKE_TOKEN, VIMEO_FAKE_USER_ID, type VimeoFake } from '@upload-fleet/testkit';
import type { CredentialProvider } from '../src/index.js';
import { vimeoDestinationSchema, type VimeoSettings } from '../src/vimeo/definition.js';
import { createVimeoAdapter } from '../src/vimeo/index.js';
import { fileSource, memoryCheckpoints, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';

const MiB = 1024 * 1024;

let fake: VimeoFake;
let dir: string;
let small: SourceFile;
let config: VimeoSettings;

beforeAll(async () => {
  fake = await startVimeoFake({ transcodeMs: 300 });
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-vimeo-'));
  small = await writeRandomFile(dir, 'small.mp4', 300 * 1024 + 7);
  config = { apiBaseUrl: fake.apiBaseUrl, chunkBytes: 4 * MiB, transcodeWaitMs: 3_000, transcodePollMs: 50 };
});
afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.setFaults([]);
  fake.throttle(0);
  fake.resetWeeklyQuota();
});

const destination = (fields: Record<string, unknown> = {}) => vimeoDestinationSchema.parse({ type: 'vimeo', oauth_access_token: VIMEO_FAKE_TOKEN, ...fields });

function upload(dest: ReturnType<typeof destination>, file: SourceFile, options: Partial<Parameters<typeof testUploadContext>[1]> = {}, settings: VimeoSettings = config) {
  return createVimeoAdapter(settings).upload(testUploadContext(dest, { source: fileSource(file), ...options }));
}

async function failure(promise: Promise<unknown>): Promise<FleetError> {
  const error = await promise.then(
    () => new Error('the upload succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

describe('the Vimeo upload', () => {
  it('creates the video with every parameter, sends the bytes to the tus upload link, and reports the id, uri, link and transcode state', async () => {
    const result = await upload(
      destination({
        name: 'Grüße & welcome',
        description: 'Line one\nline two',
        privacy: { view: 'password', embed: 'whitelist', comments: 'contacts', download: true },
        password: 'open-sesame',
        folder_uri: `/users/${VIMEO_FAKE_USER_ID}/projects/456`,
      }),
      small,
    );
    const video = fake.videos.at(-1)!;
    expect(video).toMatchObject({
      name: 'Grüße & welcome',
      description: 'Line one\nline two',
      privacy: { view: 'password', embed: 'whitelist', comments: 'contacts', download: true },
      password: 'open-sesame',
      folderUri: `/users/${VIMEO_FAKE_USER_ID}/projects/456`,
      size: small.size,
    });
    expect(await fake.stored(video)).toEqual({ size: small.size, sha256: small.sha256, offset: small.size });
    // The fake transcodes for 300 ms after the last byte: the adapter polled until complete.
    expect(result).toEqual({ url: video.link, bytes: small.size, video_id: video.id, uri: `/videos/${video.id}`, processing: 'complete' });

    const create = fake.requests.find((r) => r.step === 'create' && r.body?.name === 'Grüße & welcome')!;
    expect(create.body?.upload).toEqual({ approach: 'tus', size: String(small.size) });
    expect(create.accept).toBe('application/vnd.vimeo.*+json;version=3.4');
    expect(create.token).toBe(VIMEO_FAKE_TOKEN);
    const statusQuery = fake.requests.filter((r) => r.step === 'status' && r.path.startsWith(`/videos/${video.id}`)).at(-1)!;
    expect(new URLSearchParams(statusQuery.path.split('?')[1]).get('fields')).toBe('uri,link,transcode.status,upload.status');
  });

  it('reports in_progress when transcoding outlasts the wait, and at once with a wait of 0', async () => {
    const result = await upload(destination({ name: 'no wait' }), small, {}, { ...config, transcodeWaitMs: 0 });
    expect(result).toMatchObject({ processing: 'in_progress' });
    expect(fake.requests.filter((r) => r.step === 'status' && r.path.startsWith(`/videos/${fake.videos.at(-1)!.id}`))).toHaveLength(1);
  });

  it('puts the video into the folder of folder_id, resolved through GET /me', async () => {
    await upload(destination({ name: 'by folder id', folder_id: '456' }), small);
    expect(fake.videos.at(-1)).toMatchObject({ name: 'by folder id', folderUri: `/users/${VIMEO_FAKE_USER_ID}/projects/456` });
  });

  it('rides out a connection reset mid-upload by asking the upload link for its offset: one video, about the file\'s size sent', async () => {
    const file = await writeRandomFile(dir, 'reset.mp4', 24 * MiB);
    fake.throttle(8 * MiB);
    const before = fake.bytesReceived;
    const running = upload(destination({ name: 'reset mid-upload' }), file);
    await until('a third of the file to arrive', () => fake.bytesReceived - before > file.size / 3);
    fake.cutUploads();
    fake.throttle(0);
    await running;
    const videos = fake.videos.filter((v) => v.name === 'reset mid-upload');
    expect(videos).toHaveLength(1);
    expect(await fake.stored(videos[0]!)).toEqual({ size: file.size, sha256: file.sha256, offset: file.size });
    // The bytes before the reset were kept by the tus server and not sent again.
    expect((fake.bytesReceived - before) / file.size).toBeLessThan(1.3);
  }, 60_000);

  it('continues the video of a crashed attempt from the offset HEAD reports, never creating a second one', async () => {
    const file = await writeRandomFile(dir, 'crash.mp4', 16 * MiB);
    const checkpoint = memoryCheckpoints();
    fake.throttle(4 * MiB);
    const interruption = new AbortController();
    const first = upload(destination({ name: 'crashed' }), file, { checkpoint, signal: interruption.signal });
    first.catch(() => undefined);
    const before = fake.bytesReceived;
    await until('half of the file to arrive', () => fake.bytesReceived - before > file.size / 2);
    interruption.abort('shutdown');
    expect((await failure(first)).code).toBe('UF_ABORTED');
    fake.throttle(0);
    expect(checkpoint.state).toMatchObject({ video_uri: expect.stringMatching(/^\/videos\/\d+$/), upload_link: expect.stringContaining('/files/') });

    await upload(destination({ name: 'crashed' }), file, { checkpoint });
    const videos = fake.videos.filter((v) => v.name === 'crashed');
    expect(videos).toHaveLength(1);
    expect(await fake.stored(videos[0]!)).toEqual({ size: file.size, sha256: file.sha256, offset: file.size });
    expect((fake.bytesReceived - before) / file.size).toBeLessThan(1.4);
  }, 60_000);

  it('makes a new video when the upload link of the checkpoint has expired', async () => {
    const file = await writeRandomFile(dir, 'expired.mp4', 8 * MiB);
    const checkpoint = memoryCheckpoints();
    fake.throttle(2 * MiB);
    const interruption = new AbortController();
    const first = upload(destination({ name: 'expired link' }), file, { checkpoint, signal: interruption.signal });
    first.catch(() => undefined);
    await until('the video to be created', () => fake.videos.some((v) => v.name === 'expired link'));
    interruption.abort('shutdown');
    await failure(first);
    fake.throttle(0);
    await fake.expireUploadLinks();

    await upload(destination({ name: 'expired link' }), file, { checkpoint });
    const videos = fake.videos.filter((v) => v.name === 'expired link');
    expect(videos).toHaveLength(2);
    expect(await fake.stored(videos[1]!)).toEqual({ size: file.size, sha256: file.sha256, offset: file.size });
  }, 60_000);

  it('sends tus requests to the upload link without the token, and names no secret in its errors', async () => {
    const seen = fake.tusRequests.length;
    await upload(destination({ name: 'tus headers' }), small);
    const patches = fake.tusRequests.slice(seen).filter((r) => r.method === 'PATCH');
    expect(patches.length).toBeGreaterThan(0);
    expect(patches.every((r) => !r.authorization && r.tusResumable === '1.0.0')).toBe(true);
    expect(patches[0]!.uploadOffset).toBe('0');

    const error = await failure(upload(destination({ name: 'bad token', oauth_access_token: 'vimeo-secret-token-value' }), small));
    expect(error.code).toBe('UF_RECONNECT_REQUIRED');
    expect(error.message).not.toContain('vimeo-secret-token-value');
    expect(error.message).toContain('error_code 8003');
  });
});

describe('Vimeo\'s limits', () => {
  it('defers a 429 until X-RateLimit-Reset', async () => {
    fake.rateLimitNext(40_000);
    const error = await failure(upload(destination({ name: 'limited' }), small));
    expect(error).toMatchObject({ code: 'UF_RATE_LIMITED', category: 'rate_limited', status: 429 });
    // X-RateLimit-Reset has whole seconds: 39 to 40 s from now.
    expect(error.retryAfterMs).toBeGreaterThan(38_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(40_000);
  });

  it('defers a used-up weekly quota until its reset date, read from GET /me', async () => {
    const resetAt = new Date(Date.now() + 5 * 3600_000);
    fake.exhaustWeeklyQuota(resetAt);
    const error = await failure(upload(destination({ name: 'weekly quota' }), small));
    expect(error).toMatchObject({ code: 'UF_RATE_LIMITED', category: 'rate_limited' });
    expect(error.retryAfterMs).toBeGreaterThan(5 * 3600_000 - 5_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(5 * 3600_000);
    expect(error.message).toContain('weekly upload quota');
  });

  it('fails for good when the file is larger than a whole week\'s quota, or the storage is full', async () => {
    const tiny = await startVimeoFake({ weeklyQuotaBytes: 1024 });
    try {
      const error = await failure(upload(destination({ name: 'too big for a week' }), small, {}, { ...config, apiBaseUrl: tiny.apiBaseUrl }));
      expect(error).toMatchObject({ code: 'UF_FILE_TOO_LARGE', category: 'permanent' });
      expect(error.message).toContain('error_code 4003');
    } finally {
      await tiny.close();
    }
    const full = await startVimeoFake({ storageBytes: 1024 });
    try {
      const error = await failure(upload(destination({ name: 'storage full' }), small, {}, { ...config, apiBaseUrl: full.apiBaseUrl }));
      expect(error).toMatchObject({ code: 'UF_FILE_TOO_LARGE', category: 'permanent' });
      expect(error.message).toContain('error_code 3428');
    } finally {
      await full.close();
    }
  });

  it('refuses invalid parameters permanently, naming the field (error_code 2204)', async () => {
    const error = await failure(upload(destination({ name: 'bad folder', folder_uri: `/users/${VIMEO_FAKE_USER_ID}/projects/999` }), small));
    expect(error).toMatchObject({ code: 'UF_DESTINATION_REJECTED', category: 'permanent', status: 400 });
    expect(error.message).toContain('folder_uri');
  });
});

describe('auth_secret', () => {
  /** A CredentialProvider that serves `tokens` in turn, recording every call. */
  function scriptedCredentials(tokens: string[]): CredentialProvider & { calls: { provider: string; rejected: string | undefined }[] } {
    const calls: { provider: string; rejected: string | undefined }[] = [];
    return {
      calls,
      accessToken: async (provider, _secret, rejected) => {
        calls.push({ provider, rejected });
        return tokens[Math.min(calls.length - 1, tokens.length - 1)]!;
      },
    };
  }

  it('asks the fleet once more after a 401, naming the rejected token, and goes on with the new one', async () => {
    const credentials = scriptedCredentials(['stale-token', VIMEO_FAKE_TOKEN]);
    const result = await upload(vimeoDestinationSchema.parse({ type: 'vimeo', name: 'refreshed', auth_secret: 'ufc_id.secret' }), small, { credentials });
    expect(result.bytes).toBe(small.size);
    expect(credentials.calls).toEqual([
      { provider: 'vimeo', rejected: undefined },
      { provider: 'vimeo', rejected: 'stale-token' },
    ]);
  });

  it('asks to reconnect when the renewed token is rejected too', async () => {
    const credentials = scriptedCredentials(['revoked-1', 'revoked-2']);
    const error = await failure(upload(vimeoDestinationSchema.parse({ type: 'vimeo', name: 'revoked', auth_secret: 'ufc_id.secret' }), small, { credentials }));
    expect(error).toMatchObject({ code: 'UF_RECONNECT_REQUIRED', category: 'auth' });
    expect(credentials.calls).toHaveLength(2);
  });
});

describe('accountOf', () => {
  it('names the Vimeo user of the token (GET /me)', async () => {
    const adapter = createVimeoAdapter(config);
    const account = await adapter.accountOf!({
      destination: destination(),
      signal: new AbortController().signal,
      network: testUploadContext(destination(), { source: fileSource(small) }).network,
      credentials: { accessToken: () => Promise.reject(new Error('unused')) },
    });
    expect(account).toBe(`vimeo-user:/users/${VIMEO_FAKE_USER_ID}`);
  });
});

describe('the fake is strict about what Vimeo checks', () => {
  it('refuses a request without the version 3.4 Accept header', async () => {
    const answer = await fetch(`${fake.apiBaseUrl}/me`, { headers: { authorization: `bearer ${VIMEO_FAKE_TOKEN}` } });
    expect(answer.status).toBe(406);
    expect(await answer.json()).toMatchObject({ error: expect.any(String), developer_message: expect.stringContaining('version=3.4') });
  });
});
