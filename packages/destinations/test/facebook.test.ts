/**
 * The Facebook adapter against the testkit's Graph fake: what reaches the platform, the
 * chunked protocol (server-chosen ranges, resume, offset correction, expired sessions) and
 * that the token stays out of errors, logs and URLs. The shared behaviour suite covers the
 * rest (targets/facebook.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createScrubbingLogger, FleetError, type UploadResult } from '@upload-fleet/core';
import { facebookDestinationSchema, type FacebookDestination } from '../src/facebook/definition.js';
import { FAKE_FACEBOOK_TOKEN, fakeGraphErrors, startFakeGraph, type FakeGraph, type FakeGraphOptions } from '@upload-fleet/testkit';
import type { CheckpointStore } from '../src/index.js';
import { createFacebookAdapter, type FacebookCheckpoint } from '../src/facebook/index.js';
import { DEFAULT_THROTTLE_DELAY_MS } from '../src/facebook/errors.js';
import { fileSource, memoryCheckpoints, until, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';

const MiB = 1024 * 1024;
const adapter = createFacebookAdapter({ apiVersion: 'v21.0' });

let dir: string;
let graph: FakeGraph | undefined;
/** Every log line of every upload in this file, unscrubbed: the adapter itself must not log the token. */
const logLines: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-facebook-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(logLines.length).toBeGreaterThan(0);
  for (const line of logLines) expect(line).not.toContain(FAKE_FACEBOOK_TOKEN);
});
afterEach(async () => {
  await graph?.close();
  graph = undefined;
});

async function fake(options: FakeGraphOptions = {}): Promise<FakeGraph> {
  graph = await startFakeGraph(options);
  return graph;
}

function destinationFor(target: FakeGraph, fields: Partial<FacebookDestination> = {}): FacebookDestination {
  return facebookDestinationSchema.parse({ type: 'facebook', title: 'Welcome Video', description: 'A personalized welcome.', oauth_access_token: target.token, endpoint: target.url, ...fields });
}

interface Run {
  signal?: AbortSignal;
  checkpoint?: CheckpointStore;
  onProgress?: (bytes: number) => void;
  apiVersion?: string;
}

function upload(destination: FacebookDestination, file: SourceFile, run: Run = {}): Promise<UploadResult> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const { apiVersion: _apiVersion, ...rest } = run;
  const context = testUploadContext(destination, {
    source: fileSource(file),
    contentType: 'video/mp4',
    // No secrets handed to the logger: whatever the adapter logs is checked as is.
    log: createScrubbingLogger(createLogger({ level: 'debug' }, sink), []),
    ...rest,
  });
  const chosen = run.apiVersion ? createFacebookAdapter({ apiVersion: run.apiVersion }) : adapter;
  return chosen.upload(context);
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('the upload succeeded');
    },
    (error: unknown) => error as FleetError,
  );

describe('what reaches Facebook', () => {
  it('sends every destination field at finish, the configured API version in the path, the token only in the Authorization header', async () => {
    const target = await fake();
    const file = await writeRandomFile(dir, 'params.mp4', 5000);
    const destination = destinationFor(target, {
      title: 'Grüße aus Köln ✓',
      description: 'Line one\nline two & "quotes"',
      name: 'welcome-v2',
      caption: 'Untertitel: Hallo',
      message: 'Watch our new video! #launch',
    });
    const result = await upload(destination, file, { apiVersion: 'v20.0' });

    expect(target.videoCount).toBe(1);
    const video = target.videos[0]!;
    expect(video.params).toEqual({
      title: 'Grüße aus Köln ✓',
      description: 'Line one\nline two & "quotes"',
      name: 'welcome-v2',
      caption: 'Untertitel: Hallo',
      message: 'Watch our new video! #launch',
    });
    expect(video.version).toBe('v20.0');
    expect(result).toEqual({ url: `https://www.facebook.com/${video.videoId}`, bytes: 5000, video_id: video.videoId });
    expect(target.requests.map((r) => r.path)).toEqual(['/v20.0/me/videos', '/v20.0/me/videos', '/v20.0/me/videos']);
    expect(target.requests.map((r) => r.phase)).toEqual(['start', 'transfer', 'finish']);
    for (const request of target.requests) {
      expect(request.tokenIn).toBe('header');
      expect(request.query).toBe('');
      expect(JSON.stringify(request.params)).not.toContain(FAKE_FACEBOOK_TOKEN);
    }
  });

  it('leaves out the optional fields that are not set', async () => {
    const target = await fake();
    const file = await writeRandomFile(dir, 'minimal.mp4', 2048);
    await upload(destinationFor(target), file);
    expect(target.videos[0]!.params).toEqual({ title: 'Welcome Video', description: 'A personalized welcome.' });
  });

  it('keeps a path prefix of the endpoint (a proxy in front of Graph)', async () => {
    const target = await fake();
    const file = await writeRandomFile(dir, 'prefix.mp4', 2048);
    const error = await failureOf(upload(destinationFor(target, { endpoint: `${target.url}/graph/` }), file));
    // The fake serves only /{version}/me/videos: the prefix reached it.
    expect(target.requests[0]!.path).toBe('/graph/v21.0/me/videos');
    expect(error.code).toBe('UF_RECONNECT_REQUIRED'); // Graph's answer to an unknown path is code 2500
  });
});

describe('the chunked protocol', () => {
  it('uploads a small file in one chunk and a large one in many, byte for byte', async () => {
    const target = await fake({ chunkSize: MiB });
    const small = await writeRandomFile(dir, 'small.mp4', 64 * 1024 + 3);
    const large = await writeRandomFile(dir, 'large.mp4', 20 * MiB + 12_345);
    const progress: number[] = [];

    await upload(destinationFor(target, { title: 'small' }), small);
    const result = await upload(destinationFor(target, { title: 'large' }), large, { onProgress: (b) => progress.push(b) });

    const [first, second] = target.videos;
    expect({ size: first!.size, sha256: first!.sha256, chunks: first!.chunks.length }).toEqual({ size: small.size, sha256: small.sha256, chunks: 1 });
    expect({ size: second!.size, sha256: second!.sha256, chunks: second!.chunks.length }).toEqual({ size: large.size, sha256: large.sha256, chunks: 21 });
    expect(result.bytes).toBe(large.size);
    expect(progress.at(-1)).toBe(large.size);
    expect(progress.every((b) => b <= large.size)).toBe(true);
  }, 60_000);

  it('sends exactly the ranges Graph chooses, however irregular', async () => {
    const sizes = [1, 1000, 65_537, 3 * MiB + 7, 10];
    const target = await fake({ chunkSize: ({ index }) => sizes[index % sizes.length]! });
    const file = await writeRandomFile(dir, 'irregular.mp4', 8 * MiB + 5);
    await upload(destinationFor(target), file);

    const video = target.videos[0]!;
    expect(video.sha256).toBe(file.sha256);
    let offset = 0;
    video.chunks.forEach((chunk, index) => {
      expect(chunk.startOffset).toBe(offset);
      expect(chunk.length).toBe(Math.min(sizes[index % sizes.length]!, file.size - offset));
      offset += chunk.length;
    });
    expect(offset).toBe(file.size);
    // No chunk was refused: every transfer hit the range Graph had asked for.
    expect(target.requests.filter((r) => r.phase === 'transfer' && r.status !== 200)).toEqual([]);
  }, 60_000);

  it('resumes an interrupted upload in the same session: one video, about the file size sent', async () => {
    const target = await fake({ chunkSize: MiB });
    const file = await writeRandomFile(dir, 'resume.mp4', 12 * MiB);
    const checkpoints = memoryCheckpoints();
    target.setThrottle(4 * MiB);
    const interruption = new AbortController();
    const first = upload(destinationFor(target), file, { checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('a third of the file to arrive', () => target.bytesReceived() > file.size / 3);
    interruption.abort('shutdown');
    expect((await failureOf(first)).code).toBe('UF_ABORTED');
    target.setThrottle(0);
    await until('the interrupted request to settle', () => target.inFlight === 0);

    const saved = checkpoints.state as FacebookCheckpoint;
    expect(saved.startOffset).toBeGreaterThan(0);
    const result = await upload(destinationFor(target), file, { checkpoint: checkpoints });

    expect(target.sessions.size).toBe(1);
    expect(target.videoCount).toBe(1);
    expect(result.video_id).toBe(saved.videoId);
    expect(target.videos[0]!.sha256).toBe(file.sha256);
    expect(target.requests.filter((r) => r.phase === 'start')).toHaveLength(1);
    expect(target.bytesReceived() / file.size).toBeLessThan(1.2);
  }, 60_000);

  it('follows the range Graph names when the checkpoint is behind (the answer to a chunk was lost)', async () => {
    const target = await fake({ chunkSize: MiB });
    const file = await writeRandomFile(dir, 'stale.mp4', 6 * MiB);
    const checkpoints = memoryCheckpoints();
    target.setThrottle(2 * MiB);
    const interruption = new AbortController();
    const first = upload(destinationFor(target), file, { checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('three chunks to be accepted', () => ([...target.sessions.values()][0]?.received ?? 0) >= 3 * MiB);
    interruption.abort('shutdown');
    await failureOf(first);
    target.setThrottle(0);
    await until('the interrupted request to settle', () => target.inFlight === 0);

    // Graph has three or more chunks; the checkpoint is sent back to the first range.
    checkpoints.state = { ...(checkpoints.state as FacebookCheckpoint), startOffset: 0, endOffset: MiB };
    await upload(destinationFor(target), file, { checkpoint: checkpoints });

    const corrections = target.requests.filter((r) => r.errorCode === 6001);
    expect(corrections).toHaveLength(1);
    expect(target.sessions.size).toBe(1);
    expect(target.videoCount).toBe(1);
    expect(target.videos[0]!.sha256).toBe(file.sha256);
  }, 60_000);

  it('starts a new session when Facebook timed the old one out (1363030), still one video', async () => {
    const target = await fake({ chunkSize: MiB });
    const file = await writeRandomFile(dir, 'expired.mp4', 4 * MiB);
    const checkpoints = memoryCheckpoints();
    target.setThrottle(2 * MiB);
    const interruption = new AbortController();
    const first = upload(destinationFor(target), file, { checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('a chunk to be accepted', () => ([...target.sessions.values()][0]?.received ?? 0) >= MiB);
    interruption.abort('shutdown');
    await failureOf(first);
    target.setThrottle(0);
    await until('the interrupted request to settle', () => target.inFlight === 0);
    target.expireSessions();

    const result = await upload(destinationFor(target), file, { checkpoint: checkpoints });
    expect(target.requests.filter((r) => r.errorCode === 390)).toHaveLength(1);
    expect(target.sessions.size).toBe(2);
    expect(target.videoCount).toBe(1);
    expect(result.video_id).toBe(target.videos[0]!.videoId);
    expect(target.videos[0]!.sha256).toBe(file.sha256);
  }, 60_000);

  it('after a connection cut mid-chunk, the retry continues the same session', async () => {
    const target = await fake({ chunkSize: MiB });
    const file = await writeRandomFile(dir, 'cut.mp4', 3 * MiB + 1);
    const checkpoints = memoryCheckpoints();
    target.setFaults([{ destroyAfterBytes: 1000 }]);
    expect((await failureOf(upload(destinationFor(target), file, { checkpoint: checkpoints }))).code).toBe('UF_NETWORK');
    await upload(destinationFor(target), file, { checkpoint: checkpoints });
    expect(target.sessions.size).toBe(1);
    expect(target.videos.map((v) => v.sha256)).toEqual([file.sha256]);
  });

  it('a retry after a successful finish returns the result without calling Graph again', async () => {
    const target = await fake();
    const file = await writeRandomFile(dir, 'finished.mp4', 4096);
    const checkpoints = memoryCheckpoints();
    const first = await upload(destinationFor(target), file, { checkpoint: checkpoints });
    const requests = target.requests.length;
    const again = await upload(destinationFor(target), file, { checkpoint: checkpoints });
    expect(again).toEqual(first);
    expect(target.requests.length).toBe(requests);
  });

  it('a checkpointed session Graph no longer knows (code 100 on its first chunk) is replaced by a new one', async () => {
    const target = await fake();
    const file = await writeRandomFile(dir, 'unknown-session.mp4', 4096);
    const checkpoints = memoryCheckpoints();
    checkpoints.state = { videosUrl: `${target.url}/v21.0/me/videos`, fileSize: 4096, uploadSessionId: '123456789012345', videoId: '987654321098765', startOffset: 0, endOffset: 4096 } satisfies FacebookCheckpoint;
    const result = await upload(destinationFor(target), file, { checkpoint: checkpoints });
    expect(target.requests.map((r) => [r.phase, r.status])).toEqual([
      ['transfer', 400],
      ['start', 200],
      ['transfer', 200],
      ['finish', 200],
    ]);
    expect(result.video_id).toBe(target.videos[0]!.videoId);
  });

  it('a checkpoint of another endpoint or file size starts a new session', async () => {
    const target = await fake();
    const file = await writeRandomFile(dir, 'foreign.mp4', 4096);
    const checkpoints = memoryCheckpoints();
    checkpoints.state = { videosUrl: 'https://graph.facebook.com/v21.0/me/videos', fileSize: 4096, uploadSessionId: '1', videoId: '2', startOffset: 0, endOffset: 10 } satisfies FacebookCheckpoint;
    await upload(destinationFor(target), file, { checkpoint: checkpoints });
    expect(target.requests[0]!.phase).toBe('start');
    expect(target.videos[0]!.sha256).toBe(file.sha256);
  });
});

describe('failures', () => {
  it('without oauth_access_token: refused at submit time, and the adapter too refuses permanently with nothing sent', async () => {
    const target = await fake();
    expect(() => destinationFor(target, { oauth_access_token: undefined })).toThrow(/give oauth_access_token/);
    // A job written before the schema required the token still fails cleanly in the worker.
    const { oauth_access_token: _token, ...withoutToken } = destinationFor(target);
    const file = await writeRandomFile(dir, 'notoken.mp4', 2048);
    const error = await failureOf(upload(withoutToken as FacebookDestination, file));
    expect(error.code).toBe('UF_CREDENTIALS_INVALID');
    expect(error.category).toBe('permanent');
    expect(error.message).toContain('Pass oauth_access_token');
    expect(target.requests).toHaveLength(0);
  });

  it('an expired token: UF_RECONNECT_REQUIRED saying to reconnect', async () => {
    const target = await fake();
    target.expireToken(target.token);
    const file = await writeRandomFile(dir, 'expiredtoken.mp4', 2048);
    const error = await failureOf(upload(destinationFor(target), file));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_RECONNECT_REQUIRED', category: 'auth' });
    expect(error.message).toMatch(/reconnect/i);
    expect(error.message).toContain('190/463');
  });

  it('a token Graph does not know: UF_RECONNECT_REQUIRED', async () => {
    const target = await fake();
    const file = await writeRandomFile(dir, 'badtoken.mp4', 2048);
    const error = await failureOf(upload(destinationFor(target, { oauth_access_token: 'EAAnotAValidToken' }), file));
    expect(error.code).toBe('UF_RECONNECT_REQUIRED');
  });

  it('throttling: rate limited for the time Graph names, else the default', async () => {
    const target = await fake();
    const file = await writeRandomFile(dir, 'throttled.mp4', 2048);
    target.setFaults([fakeGraphErrors.pageThrottled(12, 'start')]);
    const page = await failureOf(upload(destinationFor(target), file));
    expect({ code: page.code, retryAfterMs: page.retryAfterMs }).toEqual({ code: 'UF_RATE_LIMITED', retryAfterMs: 12 * 60_000 });

    target.setFaults([fakeGraphErrors.appThrottled('transfer')]);
    const app = await failureOf(upload(destinationFor(target), file));
    expect({ code: app.code, retryAfterMs: app.retryAfterMs }).toEqual({ code: 'UF_RATE_LIMITED', retryAfterMs: DEFAULT_THROTTLE_DELAY_MS });
  });

  it('a video under Graph\'s 1 KB minimum: permanent UF_DESTINATION_REJECTED', async () => {
    const target = await fake(); // Graph's real minimum
    const file = await writeRandomFile(dir, 'tiny.mp4', 1000);
    const error = await failureOf(upload(destinationFor(target), file));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error.message).toContain('too small');
  });

  it('a private endpoint is refused before anything is sent', async () => {
    const file = await writeRandomFile(dir, 'private.mp4', 2048);
    const destination = facebookDestinationSchema.parse({ type: 'facebook', title: 't', description: 'd', oauth_access_token: FAKE_FACEBOOK_TOKEN, endpoint: 'http://10.1.2.3' });
    const error = await failureOf(upload(destination, file));
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
  });

  it('never puts the token in an error, even when Graph echoes it back', async () => {
    const target = await fake();
    const file = await writeRandomFile(dir, 'echo.mp4', 2048);
    const messages: string[] = [];
    for (const phase of ['start', 'transfer', 'finish'] as const) {
      target.setFaults([fakeGraphErrors.invalidParameter(`(#100) Param access_token={token} is not valid for ${phase}`, phase)]);
      const error = await failureOf(upload(destinationFor(target), file));
      expect(error.code).toBe('UF_DESTINATION_REJECTED');
      messages.push(error.message, JSON.stringify(error.toJSON()));
    }
    // The fake did echo it; the adapter scrubbed it.
    expect(messages.join('\n')).toContain('[REDACTED]');
    for (const message of messages) expect(message).not.toContain(FAKE_FACEBOOK_TOKEN);
  });
});
