/**
 * The YouTube publishing options beyond the spec (thumbnail, publish_at, made_for_kids,
 * default_language, captions, playlist_title), the steps after the upload and what their
 * failures do (never a second video), and YouTube's verdict on the video, against the
 * testkit's protocol fake. youtube.test.ts covers the upload itself.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetError, type Source } from '@upload-fleet/core';
import { validateDeliveryRequest } from '@upload-fleet/destinations/definitions';
import { startYouTubeFake, YOUTUBE_FAKE_TOKEN, type YouTubeFake } from '@upload-fleet/testkit';
import type { CheckpointStore, UploadSource } from '../src/index.js';
import { youtubeDestinationSchema, type YouTubeDestination } from '../src/youtube/definition.js';
import { createYouTubeAdapter, type YouTubeResult } from '../src/youtube/index.js';
import type { YouTubeCheckpoint } from '../src/youtube/resumable.js';
import { fileSource, memoryCheckpoints, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';

const KiB = 1024;
const HOUR_MS = 3_600_000;

let fake: YouTubeFake;
let dir: string;
let adapter: ReturnType<typeof createYouTubeAdapter>;
let video: SourceFile;

// The smallest files the fake (like YouTube) takes for what they claim to be.
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300, 9)]);
const SRT_EN = '1\n00:00:00,000 --> 00:00:02,000\nWelcome, Alex!\n';
const VTT_DE = 'WEBVTT\n\n00:00.000 --> 00:02.000\nWillkommen, Alex!\n';

beforeAll(async () => {
  fake = await startYouTubeFake();
  adapter = createYouTubeAdapter({ apiBaseUrl: fake.apiBaseUrl, uploadBaseUrl: fake.uploadBaseUrl, processingWaitMs: 5_000, processingPollMs: 5 });
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-youtube-publishing-'));
  video = await writeRandomFile(dir, 'video.mp4', 300 * KiB + 7);
  writeFileSync(join(dir, 'thumb.png'), PNG);
  writeFileSync(join(dir, 'thumb.jpg'), JPEG);
  writeFileSync(join(dir, 'not-an-image.png'), 'GIF89a, not what the name says');
  writeFileSync(join(dir, 'huge.jpg'), Buffer.concat([JPEG, Buffer.alloc(2 * 1024 * 1024)]));
  writeFileSync(join(dir, 'en.srt'), SRT_EN);
  writeFileSync(join(dir, 'de.vtt'), VTT_DE);
});
afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.setFaults([]);
  fake.setProcessing({ reads: 0, verdict: { outcome: 'processed' } });
  fake.setUnverifiedProject(false);
});

function destination(fields: Record<string, unknown> = {}): YouTubeDestination {
  return youtubeDestinationSchema.parse({
    type: 'youtube',
    title: 'Welcome, Alex!',
    description: 'A personalized welcome video.',
    category: '22',
    oauth_access_token: YOUTUBE_FAKE_TOKEN,
    ...fields,
  });
}

/** The runtime's openFile for this test's folder (paths only: URLs are the API test's). */
const openFile = async (file: Source): Promise<UploadSource> => {
  if (!('path' in file)) throw new Error('this test opens paths only');
  return fileSource({ path: join(dir, file.path), name: file.path });
};

function upload(dest: YouTubeDestination, options: { checkpoint?: CheckpointStore; lastAttempt?: boolean; adapter?: typeof adapter } = {}): Promise<YouTubeResult> {
  const { adapter: chosen, ...rest } = options;
  return (chosen ?? adapter).upload(testUploadContext(dest, { source: fileSource(video), openFile, ...rest })) as Promise<YouTubeResult>;
}

async function errorOf(promise: Promise<unknown>): Promise<FleetError> {
  const error = await promise.then(
    () => new Error('the upload succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const requestsSince = (index: number) => fake.requests.slice(index);
const inFuture = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('every publishing option reaches YouTube', () => {
  it('thumbnail, publish_at, made_for_kids, default_language, default_audio_language, captions and playlist_title', async () => {
    const publishAt = inFuture(48 * HOUR_MS);
    const result = await upload(
      destination({
        title: 'every-option',
        status: 'private',
        thumbnail: { path: 'thumb.png' },
        publish_at: publishAt,
        made_for_kids: false,
        default_language: 'de',
        default_audio_language: 'en',
        captions: [
          { source: { path: 'en.srt' }, language: 'en', name: 'English' },
          { source: { path: 'de.vtt' }, language: 'de', name: 'Deutsch' },
        ],
        playlist_title: 'Welcome videos 2026',
      }),
    );

    const created = fake.videos.find((v) => v.id === result.video_id)!;
    expect(created).toMatchObject({ title: 'every-option', privacyStatus: 'private', publishAt, selfDeclaredMadeForKids: false, defaultLanguage: 'de', defaultAudioLanguage: 'en' });
    expect(fake.thumbnails.filter((t) => t.videoId === created.id)).toEqual([{ videoId: created.id, contentType: 'image/png', size: PNG.length, sha256: sha256(PNG) }]);
    expect(fake.captions.filter((c) => c.videoId === created.id).map(({ language, name, text }) => ({ language, name, text }))).toEqual([
      { language: 'en', name: 'English', text: SRT_EN },
      { language: 'de', name: 'Deutsch', text: VTT_DE },
    ]);
    const playlist = fake.playlists.find((p) => p.title === 'Welcome videos 2026')!;
    expect(playlist.privacyStatus).toBe('private');
    expect(fake.playlistItems.filter((i) => i.videoId === created.id)).toEqual([expect.objectContaining({ playlistId: playlist.id })]);

    expect(result).toMatchObject({
      video_id: created.id,
      publish_at: publishAt,
      thumbnail: { set: true },
      captions: [
        { language: 'en', name: 'English', id: expect.any(String), added: true },
        { language: 'de', name: 'Deutsch', id: expect.any(String), added: true },
      ],
      playlist: { id: playlist.id, title: 'Welcome videos 2026', created: true, added: true },
      processing: 'processed',
      privacy_status: 'private',
    });
    expect(result.warnings).toBeUndefined();
    expect(result.locked_private).toBeUndefined();
  });

  it('default_language alone is the audio language too; made_for_kids true is declared', async () => {
    const result = await upload(destination({ title: 'language-only', default_language: 'fr', made_for_kids: true }));
    expect(fake.videos.find((v) => v.id === result.video_id)).toMatchObject({ defaultLanguage: 'fr', defaultAudioLanguage: 'fr', selfDeclaredMadeForKids: true });
  });

  it('without the options, nothing beyond the spec is sent and no step runs', async () => {
    const first = fake.requests.length;
    const result = await upload(destination({ title: 'plain' }));
    expect(fake.sessions.at(-1)!.resource).toEqual({ snippet: { title: 'plain', description: 'A personalized welcome video.', categoryId: '22' }, status: { privacyStatus: 'public' } });
    expect(requestsSince(first).map((r) => r.step)).toEqual(['start', 'chunk', 'list']);
    expect(result).not.toHaveProperty('thumbnail');
    expect(result).not.toHaveProperty('captions');
    expect(result).not.toHaveProperty('playlist');
  });
});

describe('publish_at is checked when the request is submitted', () => {
  const request = (fields: Record<string, unknown>) =>
    validateDeliveryRequest({
      source: { path: 'video.mp4' },
      upload: { destination: { type: 'youtube', title: 'T', description: 'D', category: '22', oauth_access_token: 'ya29.x', ...fields } },
    });
  const problemsOf = (fields: Record<string, unknown>) => {
    const result = request(fields);
    return result.ok ? [] : result.problems;
  };

  it('a time in the past is a 400 naming publish_at', () => {
    const past = new Date(Date.now() - 60_000).toISOString();
    expect(problemsOf({ status: 'private', publish_at: past })).toEqual([{ path: 'upload.destination.publish_at', message: expect.stringMatching(/^publish_at .* is not in the future/) }]);
  });

  it('a privacy other than private is a 400 naming publish_at and saying to set status "private"', () => {
    const problems = problemsOf({ publish_at: inFuture(HOUR_MS) });
    expect(problems).toEqual([{ path: 'upload.destination.publish_at', message: expect.stringContaining('set status to "private"') }]);
    expect(problems[0]!.message).toContain('"public"');
    expect(problemsOf({ status: 'unlisted', publish_at: inFuture(HOUR_MS) })[0]!.message).toContain('"unlisted"');
  });

  it('a date without a time zone, or no date at all, is a 400 naming publish_at', () => {
    expect(problemsOf({ status: 'private', publish_at: '2030-01-01T10:00:00' })).toEqual([{ path: 'upload.destination.publish_at', message: expect.stringContaining('ISO 8601') }]);
    expect(problemsOf({ status: 'private', publish_at: 'tomorrow' })[0]!.path).toBe('upload.destination.publish_at');
  });

  it('a future time with status private passes, also in the uploads list (paths by index)', () => {
    expect(request({ status: 'private', publish_at: inFuture(HOUR_MS) }).ok).toBe(true);
    const result = validateDeliveryRequest({
      source: { path: 'video.mp4' },
      uploads: [
        { destination: { type: 'youtube', title: 'T', description: 'D', category: '22', oauth_access_token: 'ya29.x', status: 'private', publish_at: inFuture(HOUR_MS) } },
        { destination: { type: 'youtube', title: 'T', description: 'D', category: '22', oauth_access_token: 'ya29.x', status: 'private', publish_at: '2001-01-01T00:00:00Z' } },
      ],
    });
    expect(result.ok ? [] : result.problems.map((p) => p.path)).toEqual(['uploads.1.destination.publish_at']);
  });

  it('the other new fields are checked too: languages, captions, playlist_title beside playlistid', () => {
    expect(problemsOf({ default_language: 'english!' })).toEqual([{ path: 'upload.destination.default_language', message: expect.stringContaining('BCP-47') }]);
    expect(problemsOf({ playlistid: 'PLx', playlist_title: 'Mine' })).toEqual([{ path: 'upload.destination.playlist_title', message: 'give playlistid or playlist_title, not both' }]);
    const twice = { source: { path: 'en.srt' }, language: 'en', name: 'English' };
    expect(problemsOf({ captions: [twice, twice] })).toEqual([{ path: 'upload.destination.captions.1', message: expect.stringContaining('captionExists') }]);
    expect(problemsOf({ thumbnail: { path: '../etc/passwd' } })[0]!.path).toBe('upload.destination.thumbnail.path');
    expect(problemsOf({ made_for_kids: 'yes' })).toEqual([{ path: 'upload.destination.made_for_kids', message: 'made_for_kids must be true or false' }]);
  });

  it('a job that waited past publish_at is published at once, with a warning, instead of failing', async () => {
    // The worker parses the destination again: the schema itself must accept a past time.
    const late = destination({ title: 'missed-schedule', status: 'private', publish_at: new Date(Date.now() - 5 * 60_000).toISOString() });
    const result = await upload(late);
    expect(fake.videos.find((v) => v.id === result.video_id)).toMatchObject({ privacyStatus: 'public', publishAt: undefined });
    expect(result.publish_at).toBeUndefined();
    expect(result.warnings).toEqual([expect.stringContaining('published at once')]);
  });
});

describe('playlist_title', () => {
  it('creates the playlist when the channel has none of that title, and reuses it afterwards', async () => {
    const first = await upload(destination({ title: 'first-in-series', playlist_title: 'Series A' }));
    const before = fake.requests.length;
    const second = await upload(destination({ title: 'second-in-series', playlist_title: 'Series A' }));
    const series = fake.playlists.filter((p) => p.title === 'Series A');
    expect(series).toHaveLength(1);
    expect(first.playlist).toEqual({ id: series[0]!.id, title: 'Series A', created: true, added: true });
    expect(second.playlist).toEqual({ id: series[0]!.id, title: 'Series A', created: false, added: true });
    expect(fake.playlistItems.filter((i) => i.playlistId === series[0]!.id).map((i) => i.videoId)).toEqual([first.video_id, second.video_id]);
    expect(requestsSince(before).filter((r) => r.step === 'playlists').map((r) => r.method)).toEqual(['GET']);
  });

  it('finds the title on a later page of playlists.list', async () => {
    for (let n = 0; n < 55; n += 1) fake.addPlaylist(`PLfiller${n}`, `Filler ${n}`);
    fake.addPlaylist('PLonPageTwo', 'On page two');
    const before = fake.requests.length;
    const result = await upload(destination({ title: 'page-two', playlist_title: 'On page two' }));
    expect(result.playlist).toEqual({ id: 'PLonPageTwo', title: 'On page two', created: false, added: true });
    const lists = requestsSince(before).filter((r) => r.step === 'playlists');
    expect(lists.map((r) => r.method)).toEqual(['GET', 'GET']);
    expect(lists[1]!.path).toContain('pageToken=');
  });
});

describe('YouTube\'s verdict on the video', () => {
  it('processed, after a few reads with backoff', async () => {
    fake.setProcessing({ reads: 2, verdict: { outcome: 'processed' } });
    const before = fake.requests.length;
    const result = await upload(destination({ title: 'processed-later', status: 'unlisted' }));
    expect(result).toMatchObject({ processing: 'processed', privacy_status: 'unlisted' });
    expect(result.warnings).toBeUndefined();
    const reads = requestsSince(before).filter((r) => r.step === 'list');
    expect(reads).toHaveLength(3);
    expect(reads[0]!.path).toMatch(/part=status%2CprocessingDetails|part=status,processingDetails/);
  });

  it('rejected as a duplicate: the reason and what to do', async () => {
    fake.setProcessing({ reads: 1, verdict: { outcome: 'rejected', rejectionReason: 'duplicate' } });
    const result = await upload(destination({ title: 'duplicate' }));
    expect(result).toMatchObject({ processing: 'rejected', rejection_reason: 'duplicate' });
    expect(result.warnings).toEqual([expect.stringContaining('duplicate')]);
  });

  it('rejected for the terms of use', async () => {
    fake.setProcessing({ reads: 0, verdict: { outcome: 'rejected', rejectionReason: 'termsOfUse' } });
    const result = await upload(destination({ title: 'terms' }));
    expect(result).toMatchObject({ processing: 'rejected', rejection_reason: 'termsOfUse' });
    expect(result.warnings).toEqual([expect.stringContaining('termsOfUse')]);
  });

  it('failed, with the failure reason', async () => {
    fake.setProcessing({ reads: 0, verdict: { outcome: 'failed', failureReason: 'codec', processingFailureReason: 'transcodeFailed' } });
    const result = await upload(destination({ title: 'bad-codec' }));
    expect(result).toMatchObject({ processing: 'failed', failure_reason: 'codec' });
    expect(result.warnings).toEqual([expect.stringContaining('codec')]);
  });

  it('locked private by an unverified API project: locked_private and a message saying to get the project audited', async () => {
    fake.setUnverifiedProject(true);
    const result = await upload(destination({ title: 'locked', status: 'public' }));
    expect(result).toMatchObject({ processing: 'processed', privacy_status: 'private', locked_private: true });
    expect(result.warnings).toEqual([expect.stringMatching(/unverified .*audited/)]);
    // Asking for private is not a lock.
    const asked = await upload(destination({ title: 'private-on-purpose', status: 'private' }));
    expect(asked.locked_private).toBeUndefined();
  });

  it('still processing when YOUTUBE_PROCESSING_WAIT_MS runs out: "processing", within the bound', async () => {
    fake.setProcessing({ reads: 1_000_000, verdict: { outcome: 'processed' } });
    const patient = createYouTubeAdapter({ apiBaseUrl: fake.apiBaseUrl, uploadBaseUrl: fake.uploadBaseUrl, processingWaitMs: 300, processingPollMs: 20 });
    const before = fake.requests.length;
    const result = await upload(destination({ title: 'slow-processing' }), { adapter: patient });
    expect(result.processing).toBe('processing');
    expect(result.warnings).toEqual([expect.stringContaining('had not finished processing')]);
    // Pauses of 20, 40, 80, 160 ms fit 300 ms at most four times: never more than five reads.
    const reads = requestsSince(before).filter((r) => r.step === 'list').length;
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(5);
  });
});

describe('when a step after the upload fails', () => {
  it('a file that is not a JPEG or PNG: the delivery completes, the thumbnail step says why, nothing is sent for it', async () => {
    const before = fake.requests.length;
    const result = await upload(destination({ title: 'gif-thumb', thumbnail: { path: 'not-an-image.png' } }));
    expect(result.thumbnail).toEqual({ set: false, error: { code: 'UF_DESTINATION_REJECTED', message: expect.stringContaining('not a JPEG or PNG') } });
    expect(result.warnings).toEqual([expect.stringContaining('The thumbnail was not set')]);
    expect(requestsSince(before).some((r) => r.step === 'thumbnail')).toBe(false);
    expect(fake.videos.some((v) => v.id === result.video_id)).toBe(true);
  });

  it('a thumbnail over 2 MB: UF_FILE_TOO_LARGE in the result', async () => {
    const result = await upload(destination({ title: 'huge-thumb', thumbnail: { path: 'huge.jpg' } }));
    expect(result.thumbnail).toEqual({ set: false, error: { code: 'UF_FILE_TOO_LARGE', message: expect.stringContaining('2 MB') } });
  });

  it('thumbnails.set forbidden (a channel without custom thumbnails): UF_PERMISSION_DENIED saying to verify the channel', async () => {
    fake.setFaults([{ step: 'thumbnail', status: 403, reason: 'forbidden', message: 'The authenticated user doesn\'t have permissions to upload and set custom video thumbnails.' }]);
    const result = await upload(destination({ title: 'no-custom-thumbs', thumbnail: { path: 'thumb.jpg' } }));
    expect(result.thumbnail).toEqual({ set: false, error: { code: 'UF_PERMISSION_DENIED', message: expect.stringContaining('verify') } });
  });

  it('quotaExceeded at captions.insert is reported, not deferred: the video\'s URL is not held back until midnight Pacific', async () => {
    fake.setFaults([{ step: 'caption', error: 'quotaExceeded' }]);
    const result = await upload(destination({ title: 'caption-quota', captions: [{ source: { path: 'en.srt' }, language: 'en', name: 'English' }] }));
    expect(result.captions).toEqual([{ language: 'en', name: 'English', added: false, error: { code: 'UF_RATE_LIMITED', message: expect.stringContaining('quota') } }]);
    expect(result.url).toBe(`https://www.youtube.com/watch?v=${result.video_id}`);
  });

  it('a transient failure that persists fails the attempt; the retry uploads nothing again and does only what is left', async () => {
    const checkpoint = memoryCheckpoints();
    const dest = destination({
      title: 'retry-follow-ups',
      thumbnail: { path: 'thumb.png' },
      captions: [
        { source: { path: 'en.srt' }, language: 'en', name: 'English' },
        { source: { path: 'de.vtt' }, language: 'de', name: 'Deutsch' },
      ],
      playlist_title: 'Retried series',
    });
    const [sessionsBefore, videosBefore] = [fake.sessions.length, fake.videosCreated];
    // The first caption track meets 503 on every try of the first attempt (three).
    fake.setFaults([{ step: 'caption', error: 'backendError', times: 3 }]);
    const error = await errorOf(upload(dest, { checkpoint }));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' });
    const saved = checkpoint.state as YouTubeCheckpoint;
    expect(saved.video_id).toBeDefined();
    expect(saved.after_upload?.thumbnail).toEqual({ set: true });
    expect(saved.after_upload?.captions).toBeUndefined();

    const before = fake.requests.length;
    const result = await upload(dest, { checkpoint });
    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.videosCreated - videosBefore).toBe(1);
    expect(result.video_id).toBe(saved.video_id);
    // Only what was left ran: no session, no chunk, no second thumbnail.
    // (playlists.list reads as many pages as the channel has playlists; one playlists.insert.)
    expect(requestsSince(before).filter((r) => r.step !== 'playlists').map((r) => r.step)).toEqual(['caption', 'caption', 'playlist', 'list']);
    expect(requestsSince(before).filter((r) => r.step === 'playlists' && r.method === 'POST')).toHaveLength(1);
    expect(fake.thumbnails.filter((t) => t.videoId === result.video_id)).toHaveLength(1);
    expect(fake.captions.filter((c) => c.videoId === result.video_id).map((c) => c.name)).toEqual(['English', 'Deutsch']);
    expect(result.captions?.map((c) => c.added)).toEqual([true, true]);
  });

  it('a playlist created before adding to it failed is reused by the retry, not created twice', async () => {
    const checkpoint = memoryCheckpoints();
    const dest = destination({ title: 'playlist-retry', playlist_title: 'Created once' });
    fake.setFaults([{ step: 'playlist', error: 'backendError', times: 3 }]);
    const error = await errorOf(upload(dest, { checkpoint }));
    expect(error.category).toBe('transient');
    expect((checkpoint.state as YouTubeCheckpoint).after_upload?.playlist).toMatchObject({ title: 'Created once', created: true, added: false });

    const before = fake.requests.length;
    const result = await upload(dest, { checkpoint });
    expect(fake.playlists.filter((p) => p.title === 'Created once')).toHaveLength(1);
    expect(result.playlist).toMatchObject({ title: 'Created once', created: true, added: true });
    expect(requestsSince(before).map((r) => r.step)).toEqual(['playlist', 'list']);
  });

  it('on the last attempt, a step that keeps failing is given up and reported: the delivery completes', async () => {
    fake.setFaults([{ step: 'thumbnail', error: 'backendError', times: 3 }]);
    const result = await upload(destination({ title: 'last-attempt', thumbnail: { path: 'thumb.png' } }), { lastAttempt: true });
    expect(result.thumbnail).toEqual({ set: false, error: { code: 'UF_DESTINATION_UNAVAILABLE', message: expect.any(String) } });
    expect(result.warnings).toEqual([expect.stringContaining('The thumbnail was not set')]);
  });

  it('a worker without openFile refuses the thumbnail clearly and still completes the delivery', async () => {
    const result = (await adapter.upload(testUploadContext(destination({ title: 'no-open-file', thumbnail: { path: 'thumb.png' } }), { source: fileSource(video) }))) as YouTubeResult;
    expect(result.thumbnail).toEqual({ set: false, error: { code: 'UF_CONFIGURATION', message: expect.stringContaining('openFile') } });
  });
});

describe('the fake checks what YouTube checks', () => {
  const auth = { authorization: `Bearer ${YOUTUBE_FAKE_TOKEN}` };
  const reasonOf = async (response: Response) => ((await response.json()) as { error: { errors: { reason: string }[] } }).error.errors[0]!.reason;
  let videoId: string;
  beforeAll(async () => {
    videoId = (await upload(destination({ title: 'fake-checks' }))).video_id;
  });

  it('thumbnails.set: mediaBodyRequired, invalidImage, videoNotFound', async () => {
    const set = (id: string, type: string, body: Uint8Array) => fetch(`${fake.uploadBaseUrl}/thumbnails/set?videoId=${id}&uploadType=media`, { method: 'POST', headers: { ...auth, 'content-type': type }, body });
    expect(await reasonOf(await set(videoId, 'image/png', new Uint8Array(0)))).toBe('mediaBodyRequired');
    expect(await reasonOf(await set(videoId, 'image/png', Buffer.from('GIF89a')))).toBe('invalidImage');
    expect(await reasonOf(await set(videoId, 'text/plain', PNG))).toBe('invalidImage');
    expect(await reasonOf(await set('nope', 'image/png', PNG))).toBe('videoNotFound');
    expect((await set(videoId, 'image/png', PNG)).status).toBe(200);
  });

  it('captions.insert: contentRequired without the file, captionExists (409) for a second track of one language and name', async () => {
    const insert = (file: string) =>
      fetch(`${fake.uploadBaseUrl}/captions?part=snippet&uploadType=multipart`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'multipart/related; boundary=b0' },
        body: `--b0\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ snippet: { videoId, language: 'en', name: 'Twice' } })}\r\n--b0\r\ncontent-type: application/octet-stream\r\n\r\n${file}\r\n--b0--\r\n`,
      });
    expect(await reasonOf(await insert(''))).toBe('contentRequired');
    expect((await insert(SRT_EN)).status).toBe(200);
    const again = await insert(SRT_EN);
    expect(again.status).toBe(409);
    expect(await reasonOf(again)).toBe('captionExists');
  });

  it('videos.insert: invalidPublishAt for a past time or a public video, invalidVideoMetadata for an unknown language', async () => {
    const start = (resource: unknown) =>
      fetch(`${fake.uploadBaseUrl}/videos?uploadType=resumable&part=snippet,status`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(resource) });
    const snippet = { title: 'ok', description: '', categoryId: '22' };
    expect(await reasonOf(await start({ snippet, status: { privacyStatus: 'private', publishAt: '2001-01-01T00:00:00Z' } }))).toBe('invalidPublishAt');
    expect(await reasonOf(await start({ snippet, status: { privacyStatus: 'public', publishAt: inFuture(HOUR_MS) } }))).toBe('invalidPublishAt');
    expect(await reasonOf(await start({ snippet: { ...snippet, defaultLanguage: 'nb' }, status: { privacyStatus: 'public' } }))).toBe('invalidVideoMetadata');
  });

  it('videos.list needs part and answers only the parts asked for', async () => {
    expect(await reasonOf(await fetch(`${fake.apiBaseUrl}/videos?id=${videoId}`, { headers: auth }))).toBe('missingRequiredParameter');
    const listed = (await (await fetch(`${fake.apiBaseUrl}/videos?part=status&id=${videoId}`, { headers: auth })).json()) as { items: Record<string, unknown>[] };
    expect(Object.keys(listed.items[0]!).sort()).toEqual(['etag', 'id', 'kind', 'status']);
  });
});
