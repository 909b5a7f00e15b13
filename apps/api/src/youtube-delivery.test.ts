/**
 * A YouTube delivery with the publishing options beyond the spec, end to end: submitted
 * through the HTTP API, run by a real worker process (apps/worker, WORKER_POOLS=youtube)
 * against the testkit's YouTube fake. The thumbnail comes from an http URL (the runtime's
 * URL source with the network guard), the captions from a path under SOURCE_ROOT; the
 * status shows YouTube's verdict. A publish_at in the past and a thumbnail URL on a
 * refused address are 400s that name the field, and nothing is enqueued.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, type DeliveryStatus } from '@upload-fleet/core';
import { startWorker, startYouTubeFake, until, YOUTUBE_FAKE_TOKEN, type WorkerProcess, type YouTubeFake } from '@upload-fleet/testkit';
import type { DeliveryAccepted } from './server.js';
import { asAlice, deliveryCount, postDelivery, startHarness, type Harness } from './test-harness.js';

const ENCRYPTION_KEYS = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(40_000)]);
const SRT = '1\n00:00:00,000 --> 00:00:02,000\nWelcome, Alex!\n';

let h: Harness;
let fake: YouTubeFake;
let images: Server;
let imagesUrl: string;
let worker: WorkerProcess | undefined;
let dir: string;

beforeAll(async () => {
  // The producer refuses literal private addresses at submit time, as the API does in production.
  h = await startHarness('api-youtube', {}, { secretBox: SecretBox.fromConfig(ENCRYPTION_KEYS), allowedPrivateHosts: ['127.0.0.1'] });
  fake = await startYouTubeFake();
  // Two reads of the status before the verdict: the worker polls with backoff.
  fake.setProcessing({ reads: 2, verdict: { outcome: 'processed' } });
  images = createServer((req, res) => {
    if (req.url !== '/thumbs/alex.jpg') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(JPEG.length) }).end(req.method === 'HEAD' ? undefined : JPEG);
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-api-youtube-'));
});
afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await h?.close();
  await fake?.close();
  await new Promise((resolve) => images?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface ProblemsAnswer {
  error: { code: string; problems: { path: string; message: string }[] };
}

const youtube = (fields: Record<string, unknown>) => ({
  type: 'youtube',
  title: 'Welcome, Alex!',
  description: 'A personalized welcome video.',
  category: '22',
  oauth_access_token: YOUTUBE_FAKE_TOKEN,
  ...fields,
});

describe('a YouTube delivery with publishing options through the API', () => {
  it('a publish_at in the past is a 400 naming the field; nothing is enqueued', async () => {
    const before = await deliveryCount(h);
    const res = await postDelivery(h, {
      source: { path: 'welcome.mp4' },
      upload: { destination: youtube({ status: 'private', publish_at: '2020-01-01T00:00:00Z' }) },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<ProblemsAnswer>().error.problems).toEqual([
      { path: 'upload.destination.publish_at', message: expect.stringContaining('is not in the future') },
    ]);
    expect(await deliveryCount(h)).toBe(before);
  });

  it('a thumbnail URL on a metadata address is a 400 at thumbnail.url', async () => {
    const before = await deliveryCount(h);
    const res = await postDelivery(h, { source: { path: 'welcome.mp4' }, upload: { destination: youtube({ thumbnail: { url: 'http://169.254.169.254/latest/meta-data/x.jpg' } }) } });
    expect(res.statusCode).toBe(400);
    expect(res.json<ProblemsAnswer>().error.problems.map((p) => p.path)).toEqual(['upload.destination.thumbnail.url']);
    expect(await deliveryCount(h)).toBe(before);
  });

  it('delivers the video, thumbnail (from a URL), captions (from a path), schedule, language and playlist, and reports the verdict', async () => {
    const bytes = randomBytes(1024 * 1024 + 33);
    writeFileSync(join(dir, 'welcome.mp4'), bytes);
    writeFileSync(join(dir, 'welcome.en.srt'), SRT);
    const publishAt = new Date(Date.now() + 7 * 24 * 3_600_000).toISOString();
    const res = await postDelivery(h, {
      source: { path: 'welcome.mp4' },
      upload: {
        extension: 'mp4',
        destination: youtube({
          status: 'private',
          publish_at: publishAt,
          made_for_kids: false,
          default_language: 'en',
          thumbnail: { url: `${imagesUrl}/thumbs/alex.jpg` },
          captions: [{ source: { path: 'welcome.en.srt' }, language: 'en', name: 'English' }],
          playlist_title: 'Welcome videos',
        }),
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.body).not.toContain(YOUTUBE_FAKE_TOKEN);
    const { token } = res.json<DeliveryAccepted>();

    worker = startWorker({
      REDIS_URL: h.redisUrl,
      REDIS_PREFIX: h.prefix,
      ENCRYPTION_KEYS,
      WEBHOOK_SECRET: 'api-youtube-webhook-secret',
      WORKER_POOLS: 'youtube',
      SOURCE_ROOT: dir,
      ALLOWED_PRIVATE_HOSTS: '127.0.0.1,localhost',
      YOUTUBE_API_BASE_URL: fake.apiBaseUrl,
      YOUTUBE_UPLOAD_BASE_URL: fake.uploadBaseUrl,
      YOUTUBE_PROCESSING_POLL_MS: '20',
    });
    const status = await until('the delivery to complete', async () => {
      const answer = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice });
      const body = answer.json<DeliveryStatus>();
      return body.state === 'completed' || body.state === 'failed' ? { body, text: answer.body } : undefined;
    }, 60_000);

    expect(status.body.state, status.text).toBe('completed');
    expect(status.text).not.toContain(YOUTUBE_FAKE_TOKEN);
    const video = fake.videoByTitle('Welcome, Alex!')!;
    expect({ size: video.size, sha256: video.sha256 }).toEqual({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(video).toMatchObject({ privacyStatus: 'private', publishAt, selfDeclaredMadeForKids: false, defaultLanguage: 'en', defaultAudioLanguage: 'en' });
    expect(fake.thumbnails).toEqual([{ videoId: video.id, contentType: 'image/jpeg', size: JPEG.length, sha256: createHash('sha256').update(JPEG).digest('hex') }]);
    expect(fake.captions.map(({ videoId, language, name, text }) => ({ videoId, language, name, text }))).toEqual([{ videoId: video.id, language: 'en', name: 'English', text: SRT }]);
    const playlist = fake.playlists.find((p) => p.title === 'Welcome videos')!;
    expect(fake.playlistItems).toEqual([expect.objectContaining({ playlistId: playlist.id, videoId: video.id })]);
    expect(status.body).toMatchObject({
      upload: `https://www.youtube.com/watch?v=${video.id}`,
      result: {
        video_id: video.id,
        publish_at: publishAt,
        thumbnail: { set: true },
        captions: [{ language: 'en', name: 'English', added: true }],
        playlist: { id: playlist.id, title: 'Welcome videos', created: true, added: true },
        processing: 'processed',
        privacy_status: 'private',
      },
    });
    expect(fake.requests.filter((r) => r.step === 'list').length).toBe(3);
  }, 90_000);
});
