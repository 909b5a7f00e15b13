/**
 * The TikTok adapter against the testkit's Content Posting API fake and TikTok OAuth fake
 * (tokens through the fleet's own credential provider on a real Redis): what reaches TikTok
 * (every parameter, the chunk plan, Content-Range and Content-Type of each chunk), the
 * creator's privacy options checked first, a connection reset mid-chunk and an attempt
 * that died mid-upload both continuing the same post without starting over, an expired
 * upload URL, the publish status and post id, and TikTok's error answers. The shared
 * behaviour suite (behaviour/targets/tiktok.ts) covers sizes, names, abort and a worker
 * killed mid-upload; packages/runtime/test/tiktok-fleet.test.ts the fleet's refresh and
 * deferrals.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetError } from '@upload-fleet/core';
import { startTikTokStandIn, type TikTokStandIn } from '@upload-fleet/testkit';
import { tiktokDestinationSchema, type TikTokDestination, type TikTokSettings } from '../src/tiktok/definition.js';
import { createTikTokAdapter, postIdOf, type TikTokResult } from '../src/tiktok/index.js';
import type { CheckpointStore } from '../src/index.js';
import { fileSource, memoryCheckpoints, until, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { tiktokFleetCredentials, type TikTokFleetCredentials } from './tiktok-credentials.js';
import { testUploadContext } from './upload-context.js';

const MiB = 1024 * 1024;
const CHUNK = 5 * MiB;

let standIn: TikTokStandIn;
let credentials: TikTokFleetCredentials;
let authSecret: string;
let dir: string;
let settings: TikTokSettings;
let small: SourceFile;
let medium: SourceFile; // three chunks of 5 MiB, the last with the trailing bytes

beforeAll(async () => {
  standIn = await startTikTokStandIn({ publishAfterMs: 20, postsPerDay: 1000, initsPerMinute: 1000 });
  credentials = tiktokFleetCredentials(standIn.oauth);
  authSecret = (await credentials.connect()).authSecret;
  settings = { apiBaseUrl: standIn.api.apiBaseUrl, chunkBytes: CHUNK, publishWaitMs: 3_000, statusPollMs: 20 };
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-tiktok-'));
  small = await writeRandomFile(dir, 'small.mp4', 300_001);
  medium = await writeRandomFile(dir, 'medium.mp4', 3 * CHUNK + 123_457);
});
afterAll(async () => {
  await credentials?.close();
  await standIn?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  standIn.api.setFaults([]);
  standIn.api.throttle(0);
  standIn.api.setAudited(true);
  standIn.api.setPrivacyLevelOptions(['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY']);
  standIn.api.failPublishing(undefined);
  standIn.api.setPublishAfterMs(20);
});

function destination(fields: Record<string, unknown> = {}): TikTokDestination {
  return tiktokDestinationSchema.parse({ type: 'tiktok', title: 'A title', privacy_level: 'PUBLIC_TO_EVERYONE', auth_secret: authSecret, ...fields });
}

function run(dest: TikTokDestination, file: SourceFile, options: { checkpoint?: CheckpointStore; signal?: AbortSignal; settings?: TikTokSettings } = {}): Promise<TikTokResult> {
  const context = testUploadContext(dest, { source: fileSource(file), checkpoint: options.checkpoint, signal: options.signal, secrets: [dest.auth_secret], credentials: credentials.provider });
  return createTikTokAdapter(options.settings ?? settings).upload(context) as Promise<TikTokResult>;
}

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as FleetError);

describe('the schema', () => {
  it('counts the title in UTF-16 units, as TikTok does: 2200 fit, one more does not, an emoji counts two', () => {
    expect(tiktokDestinationSchema.safeParse({ type: 'tiktok', title: 'a'.repeat(2200), privacy_level: 'SELF_ONLY', auth_secret: 'x' }).success).toBe(true);
    const over = tiktokDestinationSchema.safeParse({ type: 'tiktok', title: `${'a'.repeat(2199)}😀`, privacy_level: 'SELF_ONLY', auth_secret: 'x' });
    expect(over.success).toBe(false);
    expect(over.error!.issues[0]).toMatchObject({ path: ['title'], message: expect.stringMatching(/2200 UTF-16/) });
  });

  it('takes auth_secret only: a raw token is an unknown field, and a missing auth_secret says how to connect', () => {
    const raw = tiktokDestinationSchema.safeParse({ type: 'tiktok', privacy_level: 'SELF_ONLY', oauth_access_token: 'act.x' });
    expect(raw.success).toBe(false);
    const paths = raw.error!.issues.map((i) => i.path.join('.') || (i as { keys?: string[] }).keys?.join(','));
    expect(paths).toEqual(expect.arrayContaining(['auth_secret', 'oauth_access_token']));
    expect(raw.error!.issues.find((i) => i.path[0] === 'auth_secret')!.message).toMatch(/POST \/v1\/connect\/tiktok/);
  });

  it('requires privacy_level and names the allowed values', () => {
    const missing = tiktokDestinationSchema.safeParse({ type: 'tiktok', auth_secret: 'x' });
    expect(missing.error!.issues[0]).toMatchObject({ path: ['privacy_level'], message: expect.stringContaining('PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY') });
  });
});

describe('a direct post', () => {
  it('sends every parameter, the chunk plan and in-order Content-Range chunks, and reports the post', async () => {
    const dest = destination({ title: 'Every parameter #fyp 🎬', disable_duet: true, disable_stitch: false, disable_comment: true, video_cover_timestamp_ms: 1234 });
    const result = await run(dest, medium);
    const post = standIn.api.postByTitle('Every parameter #fyp 🎬')!;
    expect(standIn.api.initBodies.at(-1)).toEqual({
      post_info: { title: 'Every parameter #fyp 🎬', privacy_level: 'PUBLIC_TO_EVERYONE', disable_duet: true, disable_stitch: false, disable_comment: true, video_cover_timestamp_ms: 1234 },
      source_info: { source: 'FILE_UPLOAD', video_size: medium.size, chunk_size: CHUNK, total_chunk_count: 3 },
    });
    expect(post.contentRanges).toEqual([`bytes 0-${CHUNK - 1}/${medium.size}`, `bytes ${CHUNK}-${2 * CHUNK - 1}/${medium.size}`, `bytes ${2 * CHUNK}-${medium.size - 1}/${medium.size}`]);
    expect(post.contentTypes).toEqual(['video/mp4', 'video/mp4', 'video/mp4']);
    expect({ size: post.stored, sha256: post.sha256 }).toEqual({ size: medium.size, sha256: medium.sha256 });
    expect(result).toEqual({
      url: `https://www.tiktok.com/@${post.creator}/video/${post.postId}`,
      bytes: medium.size,
      publish_id: post.publishId,
      post_id: post.postId,
      publish_status: 'PUBLISH_COMPLETE',
    });
    // The creator's options were asked for first, then the post made once, then its status.
    const steps = standIn.api.requests.filter((r) => r.creator === post.creator).map((r) => r.step);
    const fromInit = steps.slice(steps.lastIndexOf('init') - 1);
    expect(fromInit.slice(0, 2)).toEqual(['creator-info', 'init']);
    expect(new Set(fromInit.slice(2))).toEqual(new Set(['status']));
  });

  it('sends only the parameters given, and a private post has no public id (url null)', async () => {
    const result = await run(destination({ title: 'Only required', privacy_level: 'SELF_ONLY' }), small);
    expect(standIn.api.initBodies.at(-1)).toEqual({ post_info: { title: 'Only required', privacy_level: 'SELF_ONLY' }, source_info: { source: 'FILE_UPLOAD', video_size: small.size, chunk_size: small.size, total_chunk_count: 1 } });
    expect(result).toMatchObject({ url: null, post_id: null, publish_status: 'PUBLISH_COMPLETE', bytes: small.size });
  });

  it('reads the 19-digit post id as text, where JSON numbers would round it', () => {
    expect(postIdOf('{"data":{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7312345678901234567]}}')).toBe('7312345678901234567');
    expect(String((JSON.parse('[7312345678901234567]') as number[])[0])).not.toBe('7312345678901234567');
    expect(postIdOf('{"data":{"publicaly_available_post_id":[]}}')).toBeNull();
  });

  it('refuses a privacy_level the creator\'s account does not allow before any post exists, naming the allowed ones', async () => {
    standIn.api.setPrivacyLevelOptions(['FOLLOWER_OF_CREATOR', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY']);
    const inits = standIn.api.initBodies.length;
    const error = await failure(run(destination({ title: 'private account' }), small));
    expect(error).toMatchObject({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error!.message).toContain('PUBLIC_TO_EVERYONE is not allowed');
    expect(error!.message).toContain('FOLLOWER_OF_CREATOR, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY');
    expect(standIn.api.initBodies.length).toBe(inits);
  });

  it('says what to do when the app is not audited: SELF_ONLY, or get the app audited', async () => {
    standIn.api.setAudited(false);
    const error = await failure(run(destination({ title: 'unaudited' }), small));
    expect(error).toMatchObject({ code: 'UF_DESTINATION_REJECTED', category: 'permanent', status: 403 });
    expect(error!.message).toMatch(/SELF_ONLY/);
    expect(error!.message).toMatch(/audit/);
    expect(error!.message).toContain('unaudited_client_can_only_post_to_private_accounts');
  });

  it('fails for good with TikTok\'s fail_reason when the post cannot be published', async () => {
    standIn.api.failPublishing('file_format_check_failed');
    const error = await failure(run(destination({ title: 'bad format' }), small));
    expect(error).toMatchObject({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error!.message).toContain('file_format_check_failed');
  });

  it('reports the state seen when the wait for PUBLISH_COMPLETE runs out', async () => {
    standIn.api.setPublishAfterMs(60_000);
    const result = await run(destination({ title: 'no wait' }), small, { settings: { ...settings, publishWaitMs: 0 } });
    expect(result).toMatchObject({ publish_status: 'PROCESSING_DOWNLOAD', post_id: null, url: null });
  });
});

describe('resume', () => {
  it('rides out a connection reset mid-chunk: the same post, only that chunk again', async () => {
    standIn.api.setFaults([{ step: 'chunk', dropAfterBytes: 2 * MiB }, { step: 'chunk', dropAfterBytes: MiB }]);
    const before = standIn.api.bytesReceived;
    const posts = standIn.api.posts.length;
    const result = await run(destination({ title: 'reset mid-chunk' }), medium);
    const post = standIn.api.postByTitle('reset mid-chunk')!;
    expect(standIn.api.posts.length).toBe(posts + 1);
    expect(result.publish_id).toBe(post.publishId);
    expect({ size: post.stored, sha256: post.sha256 }).toEqual({ size: medium.size, sha256: medium.sha256 });
    // The first chunk's range was tried three times (two cut, one whole); nothing else twice.
    expect(post.contentRanges.filter((r) => r.startsWith('bytes 0-'))).toHaveLength(3);
    expect(new Set(post.contentRanges.slice(2)).size).toBe(3);
    expect(standIn.api.bytesReceived - before).toBeLessThanOrEqual(medium.size + 3 * MiB);
  });

  it('continues the post of an attempt that died mid-upload from the chunk TikTok does not have', async () => {
    const checkpoint = memoryCheckpoints();
    const controller = new AbortController();
    standIn.api.throttle(4 * MiB);
    const first = failure(run(destination({ title: 'crash resume' }), medium, { checkpoint, signal: controller.signal }));
    await until('the first chunk to arrive', () => (standIn.api.postByTitle('crash resume')?.chunksReceived ?? 0) >= 1, 20_000);
    controller.abort();
    expect(await first).toMatchObject({ code: 'UF_ABORTED' });
    standIn.api.throttle(0);
    const stored = standIn.api.postByTitle('crash resume')!.chunksReceived;
    expect(stored).toBeGreaterThanOrEqual(1);

    const result = await run(destination({ title: 'crash resume' }), medium, { checkpoint });
    const posts = standIn.api.posts.filter((p) => p.postInfo.title === 'crash resume');
    expect(posts).toHaveLength(1);
    expect(result.publish_id).toBe(posts[0]!.publishId);
    expect({ size: posts[0]!.stored, sha256: posts[0]!.sha256 }).toEqual({ size: medium.size, sha256: medium.sha256 });
    // Chunks TikTok had were not sent again: each stored chunk's range appears once.
    const firstRange = `bytes 0-${CHUNK - 1}/${medium.size}`;
    expect(posts[0]!.contentRanges.filter((r) => r === firstRange)).toHaveLength(1);
  });

  it('makes a new post when the upload URL has expired (its hour passed) between attempts', async () => {
    const checkpoint = memoryCheckpoints();
    const controller = new AbortController();
    standIn.api.throttle(4 * MiB);
    const first = failure(run(destination({ title: 'expired url' }), medium, { checkpoint, signal: controller.signal }));
    await until('the first chunk to arrive', () => (standIn.api.postByTitle('expired url')?.chunksReceived ?? 0) >= 1, 20_000);
    controller.abort();
    await first;
    standIn.api.throttle(0);
    standIn.api.expireUploadUrls();
    await run(destination({ title: 'expired url' }), medium, { checkpoint });
    const posts = standIn.api.posts.filter((p) => p.postInfo.title === 'expired url');
    expect(posts).toHaveLength(2);
    expect(posts[0]!.sha256).toBeUndefined();
    expect({ size: posts[1]!.stored, sha256: posts[1]!.sha256 }).toEqual({ size: medium.size, sha256: medium.sha256 });
  });
});

describe('errors', () => {
  it.each([
    ['429 rate_limit_exceeded', { step: 'init' as const, status: 429, code: 'rate_limit_exceeded' }, 'UF_RATE_LIMITED', 'rate_limited'],
    ['403 spam_risk_too_many_posts', { step: 'init' as const, status: 403, code: 'spam_risk_too_many_posts' }, 'UF_RATE_LIMITED', 'rate_limited'],
    ['403 spam_risk_user_banned_from_posting', { step: 'init' as const, status: 403, code: 'spam_risk_user_banned_from_posting' }, 'UF_PERMISSION_DENIED', 'permanent'],
    ['403 privacy_level_option_mismatch', { step: 'init' as const, status: 403, code: 'privacy_level_option_mismatch' }, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['401 scope_not_authorized', { step: 'creator-info' as const, status: 401, code: 'scope_not_authorized' }, 'UF_RECONNECT_REQUIRED', 'auth'],
    ['400 invalid_param', { step: 'init' as const, status: 400, code: 'invalid_param' }, 'UF_DESTINATION_REJECTED', 'permanent'],
    ['500 internal_error', { step: 'status' as const, status: 500, code: 'internal_error', times: 10 }, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
  ])('%s is %s', async (name, fault, code, category) => {
    standIn.api.setFaults([{ ...fault, message: `Scripted ${name}.` }]);
    const error = await failure(run(destination({ title: `error ${name}` }), small));
    expect(error).toBeInstanceOf(FleetError);
    expect({ code: error!.code, category: error!.category }).toEqual({ code, category });
    // TikTok's own words and log_id are in the message; the token and upload URL never are.
    expect(error!.message).toContain(fault.code);
    expect(error!.message).toMatch(/log_id \d+/);
    expect(error!.message).not.toContain('upload_token');
    if (category === 'rate_limited') expect(error!.retryAfterMs).toBeGreaterThan(0);
  });

  it('refreshes once after access_token_invalid and goes on; a token still refused after that asks to reconnect', async () => {
    const before = standIn.oauth.refreshCount;
    standIn.oauth.expireAccessTokens();
    await run(destination({ title: 'expired token' }), small);
    expect(standIn.oauth.refreshCount - before).toBe(1);

    standIn.api.setFaults([{ step: 'creator-info', status: 401, code: 'access_token_invalid', times: 2 }]);
    const error = await failure(run(destination({ title: 'refused twice' }), small));
    expect(error).toMatchObject({ code: 'UF_RECONNECT_REQUIRED', category: 'auth' });
    expect(error!.message).toMatch(/Connect the TikTok account again/);
  });

  it('refuses an empty file before asking TikTok anything', async () => {
    const empty = await writeRandomFile(dir, 'empty.mp4', 0);
    const requests = standIn.api.requests.length;
    expect(await failure(run(destination(), empty))).toMatchObject({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(standIn.api.requests.length).toBe(requests);
  });
});
