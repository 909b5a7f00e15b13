/**
 * The YouTube adapter against the testkit's protocol fake: what reaches the platform, the
 * resumable session across interruptions and attempts (one video, never two), short
 * Ranges, expired sessions, the playlist step, and tokens. The shared behaviour suite
 * (behaviour/targets/youtube.ts) covers sizes, names, abort and worker crashes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNetworkGuard, FleetError } from '@upload-fleet/core';
import { youtubeDestinationSchema, type YouTubeDestination } from '../src/youtube/definition.js';
import { startYouTubeFake, YOUTUBE_FAKE_TOKEN, type YouTubeFake } from '@upload-fleet/testkit';
import type { CheckpointStore, CredentialProvider } from '../src/index.js';
import { createYouTubeAdapter } from '../src/youtube/index.js';
import { QUOTA_RESET_MARGIN_MS } from '../src/youtube/errors.js';
import { msUntilPacificMidnight } from '../src/youtube/pacific-midnight.js';
import { CHUNK_BYTES, type YouTubeCheckpoint } from '../src/youtube/resumable.js';
import { fileSource, memoryCheckpoints, until, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';

const MiB = 1024 * 1024;
const KiB = 1024;

let fake: YouTubeFake;
let dir: string;
let adapter: ReturnType<typeof createYouTubeAdapter>;
let small: SourceFile;
let medium: SourceFile; // three chunks: 8 MiB, 8 MiB and a little

beforeAll(async () => {
  fake = await startYouTubeFake({ playlists: ['PLwelcome'] });
  // No wait for YouTube's verdict here: these tests count the requests of the upload itself
  // (youtube-publishing.test.ts covers the verdict).
  adapter = createYouTubeAdapter({ apiBaseUrl: fake.apiBaseUrl, uploadBaseUrl: fake.uploadBaseUrl, processingWaitMs: 0, processingPollMs: 1 });
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-youtube-'));
  small = await writeRandomFile(dir, 'small.mp4', 300 * KiB + 7);
  medium = await writeRandomFile(dir, 'medium.mp4', 2 * CHUNK_BYTES + 123_457);
});
afterAll(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.setFaults([]);
  fake.throttle(0);
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

interface RunOptions {
  /** Another adapter than the one of the shared fake. */
  adapter?: ReturnType<typeof createYouTubeAdapter>;
  signal?: AbortSignal;
  checkpoint?: CheckpointStore;
  credentials?: CredentialProvider;
  onProgress?: (bytes: number) => void;
}

function upload(dest: YouTubeDestination, file: SourceFile, options: RunOptions = {}) {
  const { adapter: chosen, ...context } = options;
  return (chosen ?? adapter).upload(testUploadContext(dest, { source: fileSource(file), ...context }));
}

const noCredentials: CredentialProvider = {
  async accessToken() {
    throw new Error('this test gave the upload no credential provider');
  },
};

/**
 * A stand-in for the fleet's CredentialProvider, backed by the fake's token list: it hands
 * out `initial` first, and a new token (which the fake accepts unless told otherwise) for
 * every call that names a rejected one.
 */
function credentialsDouble(initial: string, options: { renewedAccepted?: boolean } = {}) {
  const calls: { provider: string; authSecret: string; rejectedToken: string | undefined }[] = [];
  let renewals = 0;
  const provider: CredentialProvider = {
    async accessToken(name, authSecret, rejectedToken) {
      calls.push({ provider: name, authSecret, rejectedToken });
      if (rejectedToken === undefined) return initial;
      renewals += 1;
      const token = `ya29.renewed-${renewals}-${Math.random().toString(36).slice(2)}`;
      if (options.renewedAccepted !== false) fake.acceptToken(token);
      return token;
    },
  };
  return { provider, calls };
}

/** Checkpoint saves in order, to restart from any of them (as a worker that died then would). */
function recordingCheckpoints() {
  const store = memoryCheckpoints();
  const history: YouTubeCheckpoint[] = [];
  const save = store.save.bind(store);
  store.save = async <T,>(state: T) => {
    history.push(structuredClone(state) as YouTubeCheckpoint);
    await save(state);
  };
  return { store, history };
}

function checkpointWith(state: YouTubeCheckpoint) {
  const store = memoryCheckpoints();
  store.state = structuredClone(state);
  return store;
}

const requestsSince = (index: number) => fake.requests.slice(index);
/** Requests answered since `index`: a chunk an aborted attempt had under way can reach the fake late, and is never answered. */
const answeredSince = (index: number) => requestsSince(index).filter((r) => r.status !== undefined);
const sessionRequests = (index: number) => requestsSince(index).filter((r) => r.step === 'chunk' || r.step === 'status');

async function errorOf(promise: Promise<unknown>): Promise<FleetError> {
  const error = await promise.then(
    () => new Error('the upload succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

describe('what reaches the platform', () => {
  it('sends every parameter: title, description, category, tags, privacy, notifySubscribers, mimetype and playlist', async () => {
    const firstRequest = fake.requests.length;
    const dest = destination({
      title: 'Grüße aus Köln & co (1) ✓',
      description: 'A personalized welcome video.\nSecond line.',
      category: '27',
      status: 'private',
      tags: ['personalized', 'welcome home'],
      notifySubscribers: false,
      mimetype: 'video/quicktime',
      playlistid: 'PLwelcome',
    });
    const result = await upload(dest, small);

    const session = fake.sessions.at(-1)!;
    expect(session.resource).toEqual({
      snippet: { title: 'Grüße aus Köln & co (1) ✓', description: 'A personalized welcome video.\nSecond line.', categoryId: '27', tags: ['personalized', 'welcome home'] },
      status: { privacyStatus: 'private' },
    });
    expect(session.notifySubscribers).toBe(false);
    expect(requestsSince(firstRequest)[0]!.path).toMatch(/[?&]notifySubscribers=false(&|$)/);
    expect(session.declaredContentType).toBe('video/quicktime');
    expect(session.declaredSize).toBe(small.size);
    expect(session.chunks.map((c) => c.contentType)).toEqual(['video/quicktime']);

    const video = fake.videos.find((v) => v.id === result.video_id)!;
    expect({ size: video.size, sha256: video.sha256 }).toEqual({ size: small.size, sha256: small.sha256 });
    expect(fake.playlistItems.filter((i) => i.videoId === video.id)).toEqual([expect.objectContaining({ playlistId: 'PLwelcome', videoId: video.id })]);
    expect(result).toEqual({
      url: `https://www.youtube.com/watch?v=${video.id}`,
      bytes: small.size,
      video_id: video.id,
      channel_id: expect.any(String),
      playlist: { id: 'PLwelcome', added: true },
      // The insert's answer: uploaded, not processed yet (no wait for the verdict here).
      processing: 'processing',
      privacy_status: 'private',
    });
    // Every request carried the token, and nothing else did.
    expect(new Set(requestsSince(firstRequest).map((r) => r.token))).toEqual(new Set([YOUTUBE_FAKE_TOKEN]));
  });

  it('uses the spec\'s defaults: public, notifySubscribers true, video/mp4, no tags, no playlist step', async () => {
    const firstRequest = fake.requests.length;
    const result = await upload(destination(), small);
    const session = fake.sessions.at(-1)!;
    expect(session.resource).toEqual({ snippet: { title: 'Welcome, Alex!', description: 'A personalized welcome video.', categoryId: '22' }, status: { privacyStatus: 'public' } });
    expect(session.notifySubscribers).toBe(true);
    expect(requestsSince(firstRequest)[0]!.path).toMatch(/[?&]notifySubscribers=true(&|$)/);
    expect(session.declaredContentType).toBe('video/mp4');
    expect(result.playlist).toBeUndefined();
    expect(requestsSince(firstRequest).some((r) => r.step === 'playlist')).toBe(false);
  });

  it('sends 8 MiB chunks with Content-Range and reports the bytes YouTube confirmed, up to the size', async () => {
    const progress: number[] = [];
    const result = await upload(destination({ title: 'chunks' }), medium, { onProgress: (b) => progress.push(b) });
    const session = fake.sessions.at(-1)!;
    const size = medium.size;
    expect(session.chunks.map((c) => c.contentRange)).toEqual([
      `bytes 0-${CHUNK_BYTES - 1}/${size}`,
      `bytes ${CHUNK_BYTES}-${2 * CHUNK_BYTES - 1}/${size}`,
      `bytes ${2 * CHUNK_BYTES}-${size - 1}/${size}`,
    ]);
    expect(progress).toEqual([0, CHUNK_BYTES, 2 * CHUNK_BYTES, size]);
    expect(result.bytes).toBe(size);
    expect(fake.videoByTitle('chunks')).toMatchObject({ size, sha256: medium.sha256 });
  });
});

describe('one session, one video', () => {
  it('after a connection drops mid-chunk, asks the session where it stands and continues it', async () => {
    const firstRequest = fake.requests.length;
    const [sessionsBefore, videosBefore, bytesBefore] = [fake.sessions.length, fake.videosCreated, fake.bytesReceived];
    // The second chunk breaks off after 3 MiB and a bit: the fake keeps its whole 256 KiB units.
    fake.setFaults([{ step: 'chunk', keepBytes: CHUNK_BYTES }, { step: 'chunk', dropAfterBytes: 3 * MiB + 1000 }]);
    const result = await upload(destination({ title: 'dropped' }), medium);

    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.videosCreated - videosBefore).toBe(1);
    expect(fake.videoByTitle('dropped')).toMatchObject({ id: result.video_id, size: medium.size, sha256: medium.sha256 });
    const put = sessionRequests(firstRequest).map((r) => r.contentRange);
    const size = medium.size;
    expect(put).toEqual([
      `bytes 0-${CHUNK_BYTES - 1}/${size}`,
      `bytes ${CHUNK_BYTES}-${2 * CHUNK_BYTES - 1}/${size}`, // dropped after 3 MiB and a bit
      `bytes */${size}`, // where does the session stand? "bytes=0-(8 MiB + 3 MiB - 1)"
      `bytes ${CHUNK_BYTES + 3 * MiB}-${size - 1}/${size}`,
    ]);
    expect(fake.bytesReceived - bytesBefore).toBeLessThan(size + 4 * MiB);
  });

  it('a 503 on a chunk is an interruption too: the same session continues within the attempt', async () => {
    const [sessionsBefore, videosBefore] = [fake.sessions.length, fake.videosCreated];
    fake.setFaults([{ step: 'chunk', error: 'backendError' }]);
    await upload(destination({ title: 'chunk-503' }), medium);
    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.videosCreated - videosBefore).toBe(1);
    expect(fake.videoByTitle('chunk-503')).toMatchObject({ size: medium.size, sha256: medium.sha256 });
  });

  it('a new attempt (another worker) continues the checkpoint\'s session instead of starting one', async () => {
    const [sessionsBefore, videosBefore] = [fake.sessions.length, fake.videosCreated];
    const checkpoint = memoryCheckpoints();
    const progress: number[] = [];
    fake.throttle(16 * MiB);
    const interruption = new AbortController();
    const first = upload(destination({ title: 'resumed' }), medium, { checkpoint, signal: interruption.signal, onProgress: (b) => progress.push(b) });
    first.catch(() => undefined);
    await until('the first chunk to be confirmed', () => progress.some((b) => b >= CHUNK_BYTES));
    interruption.abort('shutdown');
    expect((await errorOf(first)).code).toBe('UF_ABORTED');
    fake.throttle(0);
    const saved = checkpoint.state as YouTubeCheckpoint;
    expect(saved).toMatchObject({ version: 1, session_uri: fake.sessions.at(-1)!.uri, size: medium.size });
    expect(saved.offset).toBeGreaterThanOrEqual(CHUNK_BYTES);

    const firstRequest = fake.requests.length;
    const result = await upload(destination({ title: 'resumed' }), medium, { checkpoint });
    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.videosCreated - videosBefore).toBe(1);
    expect(answeredSince(firstRequest)[0]).toMatchObject({ step: 'status', status: 308, contentRange: `bytes */${medium.size}` });
    expect(requestsSince(firstRequest).some((r) => r.step === 'start')).toBe(false);
    expect(fake.videos.find((v) => v.id === result.video_id)).toMatchObject({ size: medium.size, sha256: medium.sha256 });
    expect(checkpoint.state).toMatchObject({ video_id: result.video_id, offset: medium.size });
  });

  it('a worker that died after YouTube created the video, before it knew, does not create a second one', async () => {
    const { store, history } = recordingCheckpoints();
    const finished = await upload(destination({ title: 'died-after-201' }), medium, { checkpoint: store });
    const [sessionsBefore, videosBefore] = [fake.sessions.length, fake.videosCreated];
    // The last checkpoint before the video id: the worker saved the offset, sent the last chunk, died.
    const beforeLastChunk = history.filter((c) => c.video_id === undefined).at(-1)!;
    expect(beforeLastChunk.offset).toBeLessThan(medium.size);

    const firstRequest = fake.requests.length;
    const again = await upload(destination({ title: 'died-after-201' }), medium, { checkpoint: checkpointWith(beforeLastChunk) });
    expect(again.video_id).toBe(finished.video_id);
    expect(fake.videosCreated - videosBefore).toBe(0);
    expect(fake.sessions.length - sessionsBefore).toBe(0);
    expect(requestsSince(firstRequest).map((r) => [r.step, r.status])).toEqual([['status', 200]]);

    // With the video id in the checkpoint, the next attempt does not even ask.
    const afterwards = fake.requests.length;
    const third = await upload(destination({ title: 'died-after-201' }), medium, { checkpoint: checkpointWith(history.at(-1)!) });
    expect(third.video_id).toBe(finished.video_id);
    expect(fake.requests.length).toBe(afterwards);
  });

  it('honours a 308 whose Range is shorter than the chunk: sends again from the byte after it', async () => {
    const firstRequest = fake.requests.length;
    const progress: number[] = [];
    fake.setFaults([{ step: 'chunk', keepBytes: 1 * MiB + 5 }]);
    await upload(destination({ title: 'short-range' }), medium, { onProgress: (b) => progress.push(b) });
    const size = medium.size;
    expect(sessionRequests(firstRequest).map((r) => [r.contentRange, r.status])).toEqual([
      [`bytes 0-${CHUNK_BYTES - 1}/${size}`, 308], // "Range: bytes=0-1048580"
      [`bytes ${MiB + 5}-${MiB + 5 + CHUNK_BYTES - 1}/${size}`, 308],
      [`bytes ${MiB + 5 + CHUNK_BYTES}-${size - 1}/${size}`, 201],
    ]);
    expect(progress.slice(0, 2)).toEqual([0, MiB + 5]);
    expect(fake.videoByTitle('short-range')).toMatchObject({ size, sha256: medium.sha256 });
  });

  it.each([404, 410] as const)('starts a new session when the checkpoint\'s one has expired (%i)', async (status) => {
    const title = `expired-${status}`;
    const checkpoint = memoryCheckpoints();
    const progress: number[] = [];
    fake.throttle(16 * MiB);
    const interruption = new AbortController();
    const first = upload(destination({ title }), medium, { checkpoint, signal: interruption.signal, onProgress: (b) => progress.push(b) });
    first.catch(() => undefined);
    await until('the first chunk to be confirmed', () => progress.some((b) => b >= CHUNK_BYTES));
    interruption.abort('shutdown');
    await errorOf(first);
    fake.throttle(0);
    const oldUri = (checkpoint.state as YouTubeCheckpoint).session_uri;
    fake.expireSessions(status);

    const [sessionsBefore, videosBefore] = [fake.sessions.length, fake.videosCreated];
    const firstRequest = fake.requests.length;
    await upload(destination({ title }), medium, { checkpoint });
    expect(answeredSince(firstRequest).map((r) => [r.step, r.status]).slice(0, 2)).toEqual([
      ['status', status],
      ['start', 200],
    ]);
    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.videosCreated - videosBefore).toBe(1);
    expect((checkpoint.state as YouTubeCheckpoint).session_uri).not.toBe(oldUri);
    expect(fake.videoByTitle(title)).toMatchObject({ size: medium.size, sha256: medium.sha256 });
  });
});

describe('the playlist step', () => {
  it('a playlist that does not exist keeps the upload: the result says the video exists and why the playlist step failed', async () => {
    const result = await upload(destination({ title: 'no-such-playlist', playlistid: 'PLdoesNotExist' }), small);
    expect(fake.videos.find((v) => v.id === result.video_id)).toMatchObject({ title: 'no-such-playlist', sha256: small.sha256 });
    expect(result.url).toBe(`https://www.youtube.com/watch?v=${result.video_id}`);
    expect(result.playlist).toEqual({
      id: 'PLdoesNotExist',
      added: false,
      error: { code: 'UF_DESTINATION_NOT_FOUND', message: expect.stringContaining('playlist') },
    });
  });

  it('a transient failure of the playlist step is tried again', async () => {
    fake.setFaults([{ step: 'playlist', error: 'backendError' }]);
    const result = await upload(destination({ title: 'playlist-503', playlistid: 'PLwelcome' }), small);
    expect(result.playlist).toEqual({ id: 'PLwelcome', added: true });
    expect(fake.playlistItems.filter((i) => i.videoId === result.video_id)).toHaveLength(1);
  });
});

describe('tokens', () => {
  it('auth_secret: a 401 gets one renewed token (naming the rejected one), and the upload succeeds', async () => {
    const firstRequest = fake.requests.length;
    const { provider, calls } = credentialsDouble('ya29.cached-but-expired');
    const result = await upload(destination({ oauth_access_token: undefined, auth_secret: 'fleet-secret-1', title: 'auth-secret' }), small, { credentials: provider });
    expect(calls).toEqual([
      { provider: 'google', authSecret: 'fleet-secret-1', rejectedToken: undefined },
      { provider: 'google', authSecret: 'fleet-secret-1', rejectedToken: 'ya29.cached-but-expired' },
    ]);
    expect(requestsSince(firstRequest).map((r) => [r.step, r.status])).toEqual([
      ['start', 401],
      ['start', 200],
      ['chunk', 201],
    ]);
    expect(fake.videos.find((v) => v.id === result.video_id)).toMatchObject({ sha256: small.sha256 });
  });

  it('auth_secret: a token that expires mid-upload is renewed and the same session goes on', async () => {
    const [sessionsBefore, videosBefore] = [fake.sessions.length, fake.videosCreated];
    const { provider, calls } = credentialsDouble(YOUTUBE_FAKE_TOKEN);
    fake.setFaults([{ step: 'chunk', keepBytes: CHUNK_BYTES }, { step: 'chunk', error: 'unauthorized' }]);
    await upload(destination({ oauth_access_token: undefined, auth_secret: 'fleet-secret-2', title: 'expires-mid-upload' }), medium, { credentials: provider });
    expect(calls.map((c) => c.rejectedToken)).toEqual([undefined, YOUTUBE_FAKE_TOKEN]);
    expect(fake.sessions.length - sessionsBefore).toBe(1);
    expect(fake.videosCreated - videosBefore).toBe(1);
    expect(fake.videoByTitle('expires-mid-upload')).toMatchObject({ size: medium.size, sha256: medium.sha256 });
  });

  it('auth_secret: when the renewed token is refused too, UF_RECONNECT_REQUIRED after exactly one renewal', async () => {
    const { provider, calls } = credentialsDouble('ya29.revoked', { renewedAccepted: false });
    const error = await errorOf(upload(destination({ oauth_access_token: undefined, auth_secret: 'fleet-secret-3', title: 'revoked' }), small, { credentials: provider }));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_RECONNECT_REQUIRED', category: 'auth' });
    expect(calls).toHaveLength(2);
    expect(error.message).not.toContain('fleet-secret-3');
  });

  it('an inline oauth_access_token that YouTube refuses: UF_RECONNECT_REQUIRED at once, saying what to do', async () => {
    const firstRequest = fake.requests.length;
    const error = await errorOf(upload(destination({ oauth_access_token: 'ya29.expired-inline' }), small));
    expect({ code: error.code, category: error.category, status: error.status }).toEqual({ code: 'UF_RECONNECT_REQUIRED', category: 'auth', status: 401 });
    expect(error.message).toMatch(/expired or was revoked/);
    expect(error.message).toMatch(/auth_secret/);
    expect(error.message).not.toContain('ya29.expired-inline');
    expect(requestsSince(firstRequest)).toHaveLength(1);
  });
});

describe('limits', () => {
  it('quotaExceeded defers the upload until midnight Pacific Time', async () => {
    fake.setFaults([{ step: 'start', error: 'quotaExceeded' }]);
    const before = msUntilPacificMidnight(new Date());
    const error = await errorOf(upload(destination(), small));
    const after = msUntilPacificMidnight(new Date());
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_RATE_LIMITED', category: 'rate_limited' });
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(Math.min(before, after) + QUOTA_RESET_MARGIN_MS - 1000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(Math.max(before, after) + QUOTA_RESET_MARGIN_MS);
    expect(error.message).toMatch(/quota/);
  });

  it('uploadLimitExceeded defers it by an hour, saying it is the channel\'s limit', async () => {
    fake.setFaults([{ step: 'start', error: 'uploadLimitExceeded' }]);
    const error = await errorOf(upload(destination(), small));
    expect({ code: error.code, retryAfterMs: error.retryAfterMs }).toEqual({ code: 'UF_RATE_LIMITED', retryAfterMs: 3_600_000 });
    expect(error.message).toMatch(/channel/);
  });
});

describe('the channel behind a token (accountOf, for per-channel limits)', () => {
  let channels: YouTubeFake;
  let channelAdapter: ReturnType<typeof createYouTubeAdapter>;
  const channelOfToken: Record<string, string | undefined> = { 'ya29.alice-1': 'UCalice', 'ya29.alice-2': 'UCalice', 'ya29.bob': 'UCbob', 'ya29.no-channel': undefined };

  beforeAll(async () => {
    channels = await startYouTubeFake({ validateToken: (token) => token in channelOfToken, channelOf: (token) => channelOfToken[token] });
    channelAdapter = createYouTubeAdapter({ apiBaseUrl: channels.apiBaseUrl, uploadBaseUrl: channels.uploadBaseUrl, processingWaitMs: 0, processingPollMs: 1 });
  });
  afterAll(() => channels?.close());

  const accountOf = (dest: YouTubeDestination, credentials: CredentialProvider = noCredentials) =>
    channelAdapter.accountOf!({ destination: dest, signal: new AbortController().signal, network: createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'] }), credentials });

  it('names the channel as channel:<id>: two tokens of one channel share it', async () => {
    expect(await accountOf(destination({ oauth_access_token: 'ya29.alice-1' }))).toBe('channel:UCalice');
    expect(await accountOf(destination({ oauth_access_token: 'ya29.alice-2' }))).toBe('channel:UCalice');
    expect(await accountOf(destination({ oauth_access_token: 'ya29.bob' }))).toBe('channel:UCbob');
    expect(channels.requests.filter((r) => r.step === 'channels').map((r) => r.path)).toEqual(Array(3).fill('/youtube/v3/channels?part=id&mine=true'));
  });

  it('with auth_secret, through the credential provider', async () => {
    const { provider, calls } = credentialsDouble('ya29.bob');
    expect(await accountOf(destination({ oauth_access_token: undefined, auth_secret: 'fleet-secret-4' }), provider)).toBe('channel:UCbob');
    expect(calls).toEqual([{ provider: 'google', authSecret: 'fleet-secret-4', rejectedToken: undefined }]);
  });

  it('an account without a channel: accountOf and the upload fail with UF_PERMISSION_DENIED, and no token is renewed', async () => {
    const noChannel = destination({ oauth_access_token: undefined, auth_secret: 'fleet-secret-5' });
    const { provider, calls } = credentialsDouble('ya29.no-channel');
    expect((await errorOf(accountOf(noChannel, provider))).code).toBe('UF_PERMISSION_DENIED');
    const error = await errorOf(upload(noChannel, small, { adapter: channelAdapter, credentials: provider }));
    expect({ code: error.code, status: error.status }).toEqual({ code: 'UF_PERMISSION_DENIED', status: 401 });
    expect(error.message).toMatch(/no YouTube channel/);
    expect(calls.every((c) => c.rejectedToken === undefined)).toBe(true);
  });

  it('videos belong to the channel of the token that uploaded them', async () => {
    const result = await upload(destination({ oauth_access_token: 'ya29.bob', title: 'bob\'s video' }), small, { adapter: channelAdapter });
    expect(result.channel_id).toBe('UCbob');
  });
});

describe('the fake checks what YouTube checks', () => {
  const auth = { authorization: `Bearer ${YOUTUBE_FAKE_TOKEN}` };
  const start = async (resource: unknown, size: number, token = YOUTUBE_FAKE_TOKEN) =>
    fetch(`${fake.uploadBaseUrl}/videos?uploadType=resumable&part=snippet,status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-length': String(size), 'x-upload-content-type': 'video/mp4' },
      body: JSON.stringify(resource),
    });
  const valid = { snippet: { title: 'ok', description: '', categoryId: '22' }, status: { privacyStatus: 'unlisted' } };
  const reasonOf = async (response: Response) => ((await response.json()) as { error: { errors: { reason: string }[] } }).error.errors[0]!.reason;

  it.each([
    ['no title', { ...valid, snippet: { ...valid.snippet, title: '' } }, 'invalidTitle'],
    ['a title of 101 characters', { ...valid, snippet: { ...valid.snippet, title: 'x'.repeat(101) } }, 'invalidTitle'],
    ['"<" in the title', { ...valid, snippet: { ...valid.snippet, title: 'a <b>' } }, 'invalidTitle'],
    ['an unknown category', { ...valid, snippet: { ...valid.snippet, categoryId: '99' } }, 'invalidCategoryId'],
    ['an unknown privacy status', { ...valid, status: { privacyStatus: 'secret' } }, 'invalidVideoMetadata'],
  ])('refuses a session with %s', async (_name, resource, reason) => {
    const response = await start(resource, 10);
    expect(response.status).toBe(400);
    expect(await reasonOf(response)).toBe(reason);
  });

  it('refuses a wrong token with 401 in Google\'s format', async () => {
    const response = await start(valid, 10, 'ya29.wrong');
    expect(response.status).toBe(401);
    expect(await reasonOf(response)).toBe('authError');
  });

  it('answers 308 without Range before any byte, refuses gaps, short chunks and a wrong total', async () => {
    const size = YOUTUBE_CHUNK_UNIT_BYTES * 2 + 10;
    const uri = (await start(valid, size)).headers.get('location')!;
    const put = (range: string, body: Uint8Array) => fetch(uri, { method: 'PUT', headers: { ...auth, 'content-range': range }, body });

    const status = await put(`bytes */${size}`, new Uint8Array(0));
    expect([status.status, status.headers.get('range')]).toEqual([308, null]);
    expect((await put(`bytes 1-${YOUTUBE_CHUNK_UNIT_BYTES}/${size}`, new Uint8Array(YOUTUBE_CHUNK_UNIT_BYTES))).status).toBe(400); // a gap
    expect((await put(`bytes 0-999/${size}`, new Uint8Array(1000))).status).toBe(400); // not a multiple of 256 KiB
    expect((await put(`bytes 0-${YOUTUBE_CHUNK_UNIT_BYTES - 1}/${size + 1}`, new Uint8Array(YOUTUBE_CHUNK_UNIT_BYTES))).status).toBe(400); // another total
    const first = await put(`bytes 0-${YOUTUBE_CHUNK_UNIT_BYTES - 1}/${size}`, new Uint8Array(YOUTUBE_CHUNK_UNIT_BYTES));
    expect([first.status, first.headers.get('range')]).toEqual([308, `bytes=0-${YOUTUBE_CHUNK_UNIT_BYTES - 1}`]);
    const last = await put(`bytes ${YOUTUBE_CHUNK_UNIT_BYTES}-${size - 1}/${size}`, new Uint8Array(size - YOUTUBE_CHUNK_UNIT_BYTES));
    expect(last.status).toBe(201);
    const video = (await last.json()) as { id: string; snippet: { title: string } };
    expect(video.snippet.title).toBe('ok');

    const listed = (await (await fetch(`${fake.apiBaseUrl}/videos?part=snippet&id=${video.id}`, { headers: auth })).json()) as { items: { id: string }[] };
    expect(listed.items.map((i) => i.id)).toEqual([video.id]);
  });
});

const YOUTUBE_CHUNK_UNIT_BYTES = 256 * KiB;
