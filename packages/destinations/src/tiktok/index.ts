import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { AccountContext, DestinationAdapter, UploadContext } from '../adapter.js';
import { SourceRangeReader } from '../source-ranges.js';
import { abortedError, fleetErrorIn } from '../transport-errors.js';
import { MAX_VIDEO_BYTES, chunkRange, planChunks, type ChunkPlan } from './chunk-plan.js';
import { TikTokClient } from './client.js';
import type { TikTokDestination, TikTokSettings, TIKTOK_PUBLISH_STATES } from './definition.js';
import { errorForAnswer, isInterruption, isOk, publishFailedError, tiktokDataOf } from './errors.js';

/**
 * The TikTok destination: a Direct Post with FILE_UPLOAD through the Content Posting API
 * (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post):
 *
 * 1. POST /v2/post/publish/creator_info/query/: the creator's allowed privacy levels; a
 *    privacy_level not among them fails now, naming them, before a post exists.
 * 2. POST /v2/post/publish/video/init/ with post_info and source_info (FILE_UPLOAD, the
 *    chunk plan of chunk-plan.ts): TikTok answers a publish_id and an upload_url.
 * 3. PUT every chunk, in order, to the upload_url with `Content-Range: bytes a-b/total`
 *    (https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide).
 * 4. POST /v2/post/publish/status/fetch/ with the publish_id until PUBLISH_COMPLETE or
 *    FAILED (with its fail_reason), for at most TIKTOK_PUBLISH_WAIT_MS.
 *
 * Read top to bottom: client.ts (token, renewal, requests), chunk-plan.ts (TikTok's chunk
 * rules), errors.ts (TikTok's error envelope and codes).
 *
 * Resume: the checkpoint holds the publish_id, the upload_url, the plan and the next chunk,
 * saved after the init (before any byte) and after every chunk. A retry asks status/fetch
 * how many bytes TikTok has (`uploaded_bytes`) and continues from the chunk after them, so
 * no chunk is sent twice and no second post is made. The upload URL is valid for an hour
 * after the init: a checkpoint older than that (or a URL that answers 404/410) is replaced
 * by a new init, from byte 0 — the old publish_id never received its last chunk, so TikTok
 * never publishes it.
 */

export interface TikTokResult extends UploadResult {
  url: string | null;
  publish_id: string;
  post_id: string | null;
  publish_status: (typeof TIKTOK_PUBLISH_STATES)[number];
}

/** TikTok: "The upload_url is valid for one hour" after the init; a little less, for the clock and the first chunk in flight. */
export const UPLOAD_URL_LIFETIME_MS = 55 * 60_000;

/** Interruptions in a row (without progress) the chunk loop rides out before the attempt fails. */
const MAX_INTERRUPTIONS = 3;
const INTERRUPTION_PAUSE_MS = 500;

interface TikTokCheckpoint {
  version: 1;
  publish_id: string;
  /** Carries TikTok's upload token: kept only in the checkpoint (encrypted job data), never logged. */
  upload_url: string;
  /** When the init answered (epoch ms): the upload URL lasts an hour from then. */
  initiated_at: number;
  plan: ChunkPlan;
  /** The first chunk TikTok has not confirmed. */
  next_chunk: number;
  /** The creator's username, for the post's URL. */
  username: string | null;
  /** Every chunk is on TikTok: a retry only asks for the publish status. */
  uploaded?: boolean;
}

export function createTikTokAdapter(settings: TikTokSettings): DestinationAdapter<'tiktok'> {
  return {
    type: 'tiktok',
    upload: (context) => upload(settings, context),
    accountOf: (context) => accountOf(settings, context),
  };
}

async function upload(settings: TikTokSettings, context: UploadContext<TikTokDestination>): Promise<TikTokResult> {
  const { destination, source, signal, log } = context;
  if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to TikTok was aborted before it started', { destination: 'tiktok' });
  if (source.size === 0) throw new FleetError('UF_DESTINATION_REJECTED', 'The source is empty (0 bytes): TikTok posts videos, and a video has bytes. Check the render that produced it', { destination: 'tiktok' });
  if (source.size > MAX_VIDEO_BYTES) {
    throw new FleetError('UF_FILE_TOO_LARGE', `The video is ${source.size} bytes; TikTok takes videos of at most 4 GB. Render it smaller`, { destination: 'tiktok' });
  }
  const client = new TikTokClient(destination.auth_secret, context.credentials, settings.apiBaseUrl, context.network, signal);
  log.info({ bytes: source.size, privacy_level: destination.privacy_level }, 'posting to TikTok');

  let checkpoint = await resumable(context, client);
  if (!checkpoint?.uploaded) {
    checkpoint = await sendAllChunks(settings, context, client, checkpoint);
    checkpoint = { ...checkpoint, next_chunk: checkpoint.plan.totalChunkCount, uploaded: true };
    await context.checkpoint.save(checkpoint);
  }
  context.reportProgress(source.size);
  const state = await publishStatus(settings, context, client, checkpoint.publish_id);
  log.info({ publish_id: checkpoint.publish_id, publish_status: state.status, post_id: state.postId }, 'posted to TikTok');
  return {
    url: state.postId && checkpoint.username ? `https://www.tiktok.com/@${checkpoint.username}/video/${state.postId}` : null,
    bytes: source.size,
    publish_id: checkpoint.publish_id,
    post_id: state.postId,
    publish_status: state.status,
  };
}

/** The creator's username: fleet-wide limits count per creator, whichever auth_secret names them. */
async function accountOf(settings: TikTokSettings, context: AccountContext<TikTokDestination>): Promise<string> {
  const client = new TikTokClient(context.destination.auth_secret, context.credentials, settings.apiBaseUrl, context.network, context.signal);
  const creator = await creatorInfo(client);
  if (!creator.username) throw new FleetError('UF_DESTINATION_UNAVAILABLE', 'TikTok answered the creator info query without a creator_username', { destination: 'tiktok' });
  return `tiktok-creator:${creator.username}`;
}

// ---- step 1: creator info -----------------------------------------------------------

interface CreatorInfo {
  username: string | null;
  privacyLevelOptions: string[];
}

async function creatorInfo(client: TikTokClient): Promise<CreatorInfo> {
  const answer = await client.api('creator-info', '/v2/post/publish/creator_info/query/', {});
  if (!isOk(answer)) throw errorForAnswer(answer, 'creator-info');
  const data = tiktokDataOf(answer);
  const options = Array.isArray(data?.privacy_level_options) ? data.privacy_level_options.filter((o): o is string => typeof o === 'string') : [];
  return { username: typeof data?.creator_username === 'string' && data.creator_username ? data.creator_username : null, privacyLevelOptions: options };
}

// ---- step 2: init -----------------------------------------------------------------

/** The post_info of the destination's parameters: only what was given (TikTok's own defaults otherwise). */
export function postInfoOf(destination: TikTokDestination): Record<string, unknown> {
  return {
    ...(destination.title !== undefined ? { title: destination.title } : {}),
    privacy_level: destination.privacy_level,
    ...(destination.disable_duet !== undefined ? { disable_duet: destination.disable_duet } : {}),
    ...(destination.disable_stitch !== undefined ? { disable_stitch: destination.disable_stitch } : {}),
    ...(destination.disable_comment !== undefined ? { disable_comment: destination.disable_comment } : {}),
    ...(destination.video_cover_timestamp_ms !== undefined ? { video_cover_timestamp_ms: destination.video_cover_timestamp_ms } : {}),
  };
}

async function initPost(settings: TikTokSettings, context: UploadContext<TikTokDestination>, client: TikTokClient): Promise<TikTokCheckpoint> {
  const { destination, source, log } = context;
  const creator = await creatorInfo(client);
  if (!creator.privacyLevelOptions.includes(destination.privacy_level)) {
    throw new FleetError(
      'UF_DESTINATION_REJECTED',
      `privacy_level ${destination.privacy_level} is not allowed for this TikTok account; it allows ${creator.privacyLevelOptions.join(', ') || 'none'}. Set privacy_level to one of those`,
      { destination: 'tiktok' },
    );
  }
  const plan = planChunks(source.size, settings.chunkBytes);
  const answer = await client.api('init', '/v2/post/publish/video/init/', {
    post_info: postInfoOf(destination),
    source_info: { source: 'FILE_UPLOAD', video_size: plan.videoSize, chunk_size: plan.chunkSize, total_chunk_count: plan.totalChunkCount },
  });
  if (!isOk(answer)) throw errorForAnswer(answer, 'init');
  const data = tiktokDataOf(answer);
  const publishId = data?.publish_id;
  const uploadUrl = data?.upload_url;
  if (typeof publishId !== 'string' || !publishId || typeof uploadUrl !== 'string' || !uploadUrl) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `TikTok answered ${answer.status} to the post without a publish_id and upload_url`, { destination: 'tiktok', status: answer.status });
  }
  const checkpoint: TikTokCheckpoint = { version: 1, publish_id: publishId, upload_url: uploadUrl, initiated_at: Date.now(), plan, next_chunk: 0, username: creator.username };
  await context.checkpoint.save(checkpoint);
  log.info({ publish_id: publishId, chunks: plan.totalChunkCount, chunk_size: plan.chunkSize }, 'TikTok post initialized; sending its chunks');
  context.reportProgress(0);
  return checkpoint;
}

// ---- step 3: chunks -----------------------------------------------------------------

/** The upload URL answered that it no longer exists. */
class UploadUrlGone extends Error {
  constructor(readonly status: number) {
    super(`the upload URL answered ${status}`);
  }
}

/**
 * Sends the chunks of the checkpoint's post from its next chunk, or of a new post. An
 * upload URL that is gone is replaced once by a new post from byte 0.
 */
async function sendAllChunks(settings: TikTokSettings, context: UploadContext<TikTokDestination>, client: TikTokClient, saved: TikTokCheckpoint | undefined): Promise<TikTokCheckpoint> {
  const reader = new SourceRangeReader(context.source, 'tiktok', context.signal);
  let post = saved ?? (await initPost(settings, context, client));
  for (let replaced = false; ; replaced = true) {
    try {
      return await sendChunks(context, client, reader, post);
    } catch (error) {
      if (!(error instanceof UploadUrlGone)) throw error;
      if (replaced) throw new FleetError('UF_DESTINATION_UNAVAILABLE', `TikTok's upload URL answered ${error.status} right after the post was initialized`, { destination: 'tiktok', status: error.status });
      context.log.warn({ status: error.status, publish_id: post.publish_id }, 'the TikTok upload URL is gone (expired); initializing a new post');
      post = await initPost(settings, context, client);
    }
  }
}

async function sendChunks(context: UploadContext<TikTokDestination>, client: TikTokClient, reader: SourceRangeReader, start: TikTokCheckpoint): Promise<TikTokCheckpoint> {
  const { signal, log } = context;
  const { plan } = start;
  let post = start;
  let interruptions = 0;
  const contentType = context.contentType.startsWith('video/') ? context.contentType : 'video/mp4';
  while (post.next_chunk < plan.totalChunkCount) {
    if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to TikTok was aborted between two chunks; it resumes from the next chunk', { destination: 'tiktok' });
    const { start: first, end } = chunkRange(plan, post.next_chunk);
    try {
      const bytes = await reader.read(first, end - first);
      // A source longer than its announced size would make TikTok post a different file.
      if (end === plan.videoSize) await reader.expectEnd();
      const answer = await client.put(post.upload_url, { 'content-type': contentType, 'content-range': `bytes ${first}-${end - 1}/${plan.videoSize}` }, bytes);
      if (answer.status === 404 || answer.status === 410) throw new UploadUrlGone(answer.status);
      if (answer.status < 200 || answer.status >= 300) throw errorForAnswer(answer, 'chunk');
      post = { ...post, next_chunk: post.next_chunk + 1 };
      interruptions = 0;
      await context.checkpoint.save(post);
      context.reportProgress(end);
    } catch (raw) {
      if (raw instanceof UploadUrlGone) throw raw;
      if (signal.aborted) throw abortedError(raw, { destination: 'tiktok', where: 'TikTok', signal, abortNote: '; it resumes from the next chunk' }) ?? raw;
      const error = fleetErrorIn(raw) ?? new FleetError('UF_UNKNOWN', `The upload to TikTok failed: ${(raw as Error).name}`, { destination: 'tiktok', cause: raw });
      interruptions += 1;
      if (!isInterruption(error) || interruptions > MAX_INTERRUPTIONS) throw error;
      log.warn({ code: error.code, chunk: post.next_chunk, interruption: interruptions }, 'a chunk was interrupted; asking TikTok how many bytes it has');
      await pause(INTERRUPTION_PAUSE_MS * 2 ** (interruptions - 1), signal);
      post = { ...post, next_chunk: confirmedChunks(await fetchStatus(client, post.publish_id), post) };
    }
  }
  return post;
}

/**
 * The first chunk TikTok does not have, from status/fetch's `uploaded_bytes` (documented
 * for FILE_UPLOAD). TikTok keeps whole chunks (the strict reading, docs/destinations/tiktok.md),
 * so the bytes end on a chunk boundary; when they do not, or the status says nothing, the
 * checkpoint's own count stands.
 */
function confirmedChunks(status: PublishStatus, post: TikTokCheckpoint): number {
  if (status.status !== 'PROCESSING_UPLOAD') return status.status === 'FAILED' ? post.next_chunk : post.plan.totalChunkCount;
  const bytes = status.uploadedBytes;
  if (bytes === undefined) return post.next_chunk;
  const { chunkSize, totalChunkCount, videoSize } = post.plan;
  if (bytes >= videoSize) return totalChunkCount;
  return bytes % chunkSize === 0 ? Math.min(bytes / chunkSize, totalChunkCount - 1) : post.next_chunk;
}

/** The checkpoint of an earlier attempt, brought up to date with TikTok's own count; undefined to start over. */
async function resumable(context: UploadContext<TikTokDestination>, client: TikTokClient): Promise<TikTokCheckpoint | undefined> {
  const saved = await context.checkpoint.load<TikTokCheckpoint>();
  const { log, source } = context;
  if (!saved) return undefined;
  if (saved.version !== 1 || typeof saved.publish_id !== 'string' || typeof saved.upload_url !== 'string' || saved.plan?.videoSize !== source.size) {
    log.warn({ size: source.size }, 'the checkpoint does not belong to this file; initializing a new TikTok post');
    return undefined;
  }
  if (saved.uploaded) return saved;
  if (Date.now() - saved.initiated_at > UPLOAD_URL_LIFETIME_MS) {
    log.info({ publish_id: saved.publish_id }, 'the TikTok upload URL of the earlier attempt has expired (one hour); initializing a new post');
    return undefined;
  }
  const status = await fetchStatus(client, saved.publish_id);
  if (status.status === 'FAILED') {
    log.warn({ publish_id: saved.publish_id, fail_reason: status.failReason }, 'the post of the earlier attempt failed on TikTok; initializing a new post');
    return undefined;
  }
  const next = confirmedChunks(status, saved);
  log.info({ publish_id: saved.publish_id, next_chunk: next, chunks: saved.plan.totalChunkCount }, 'continuing the TikTok post of an earlier attempt');
  return next >= saved.plan.totalChunkCount ? { ...saved, next_chunk: next, uploaded: true } : { ...saved, next_chunk: next };
}

// ---- step 4: status ---------------------------------------------------------------

interface PublishStatus {
  status: (typeof TIKTOK_PUBLISH_STATES)[number] | 'FAILED';
  failReason: string | undefined;
  uploadedBytes: number | undefined;
  postId: string | null;
}

async function fetchStatus(client: TikTokClient, publishId: string): Promise<PublishStatus> {
  const answer = await client.api('status', '/v2/post/publish/status/fetch/', { publish_id: publishId });
  if (!isOk(answer)) throw errorForAnswer(answer, 'status');
  const data = tiktokDataOf(answer);
  const known = ['PROCESSING_UPLOAD', 'PROCESSING_DOWNLOAD', 'SEND_TO_USER_INBOX', 'PUBLISH_COMPLETE', 'FAILED'] as const;
  const status = known.find((s) => s === data?.status);
  if (!status) throw new FleetError('UF_DESTINATION_UNAVAILABLE', `TikTok answered the post status query without a status it documents`, { destination: 'tiktok', status: answer.status });
  return {
    status,
    failReason: typeof data?.fail_reason === 'string' ? data.fail_reason : undefined,
    uploadedBytes: typeof data?.uploaded_bytes === 'number' ? data.uploaded_bytes : undefined,
    postId: postIdOf(answer.body),
  };
}

/**
 * The first of `publicaly_available_post_id` (TikTok's spelling), read from the raw text:
 * the ids are int64 (19 digits) and JSON.parse would round them to the nearest double.
 */
export function postIdOf(body: string): string | null {
  const match = /"publicaly_available_post_id"\s*:\s*\[\s*"?(\d+)/.exec(body);
  return match?.[1] ?? null;
}

/** Polls until PUBLISH_COMPLETE (or FAILED: permanent), for at most publishWaitMs; answers the last state seen. */
async function publishStatus(settings: TikTokSettings, context: UploadContext<TikTokDestination>, client: TikTokClient, publishId: string): Promise<{ status: TikTokResult['publish_status']; postId: string | null }> {
  const deadline = Date.now() + settings.publishWaitMs;
  for (;;) {
    const state = await fetchStatus(client, publishId);
    if (state.status === 'FAILED') throw publishFailedError(state.failReason, publishId);
    if (state.status === 'PUBLISH_COMPLETE' || Date.now() >= deadline) return { status: state.status, postId: state.postId };
    context.log.debug({ publish_id: publishId, publish_status: state.status }, 'waiting for TikTok to publish the post');
    await pause(settings.statusPollMs, context.signal);
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new FleetError('UF_ABORTED', 'The upload to TikTok was aborted while waiting; it resumes from its checkpoint', { destination: 'tiktok', cause: error });
  }
}
