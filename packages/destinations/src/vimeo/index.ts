import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { AccountContext, DestinationAdapter, UploadContext } from '../adapter.js';
import { VimeoClient, vimeoTokensFor } from './client.js';
import type { VimeoDestination, VimeoSettings, VIMEO_PROCESSING_STATES } from './definition.js';
import { errorForAnswer, isQuotaAnswer, weeklyQuotaError, type VimeoAnswer } from './errors.js';
import { sendFile, UploadLinkGone } from './tus.js';

/**
 * The Vimeo destination: the video is created with POST /me/videos and the tus approach,
 * its bytes go to the returned upload link with tus PATCH requests (tus.ts), then its
 * transcode status is polled briefly (https://developer.vimeo.com/api/upload/videos).
 *
 * Read top to bottom:
 * - client.ts  every request: the token (renewed once after a 401), Accept version 3.4,
 *              network guard, abort, timeouts; and why got rather than tus-js-client
 * - tus.ts     PATCH, HEAD, Upload-Offset, interruptions
 * - errors.ts  Vimeo's error bodies and codes, 429 and X-RateLimit-Reset, the quota
 *
 * The checkpoint holds the video URI, its link, the upload link and the offset, saved
 * after the video is created (before any byte) and after every PATCH: a retry on any
 * worker continues the same video from the offset the upload link reports, so there is
 * one video, never two. An upload link that is gone (expired) is replaced once by a new
 * video.
 */

export interface VimeoResult extends UploadResult {
  url: string;
  video_id: string;
  uri: string;
  processing: (typeof VIMEO_PROCESSING_STATES)[number];
}

interface VimeoCheckpoint {
  version: 1;
  /** /videos/{id} */
  video_uri: string;
  /** https://vimeo.com/{id} */
  link: string;
  upload_link: string;
  size: number;
  offset: number;
  /** Every byte is on Vimeo: a retry only asks for the transcode status. */
  complete?: boolean;
}

interface CreatedVideo {
  uri: string;
  link: string;
  upload_link: string;
}

export function createVimeoAdapter(config: VimeoSettings): DestinationAdapter<'vimeo'> {
  return {
    type: 'vimeo',
    upload: (context) => upload(config, context),
    accountOf: (context) => accountOf(config, context),
  };
}

async function upload(config: VimeoSettings, context: UploadContext<VimeoDestination>): Promise<VimeoResult> {
  const { destination, source, signal, log } = context;
  if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to Vimeo was aborted before it started', { destination: 'vimeo' });
  const client = new VimeoClient(vimeoTokensFor(destination, context.credentials), context.network, signal);
  log.info({ bytes: source.size, privacy: destination.privacy?.view, auth: destination.auth_secret ? 'auth_secret' : 'oauth_access_token' }, 'uploading to Vimeo');

  let checkpoint = await usableCheckpoint(context);
  if (!checkpoint?.complete) {
    checkpoint = await sendAllBytes(config, context, client, checkpoint);
    checkpoint = { ...checkpoint, offset: source.size, complete: true };
    await save(context, checkpoint);
  }
  context.reportProgress(source.size);
  const processing = await transcodeStatus(config, context, client, checkpoint.video_uri);
  log.info({ video_uri: checkpoint.video_uri, processing }, 'uploaded to Vimeo');
  return {
    url: checkpoint.link,
    bytes: source.size,
    video_id: checkpoint.video_uri.split('/').pop() ?? checkpoint.video_uri,
    uri: checkpoint.video_uri,
    processing,
  };
}

/**
 * Sends the file to the video of the checkpoint (its upload link says where it stands:
 * the saved offset is not trusted) or to a new video. An upload link that is gone is
 * replaced once by a new video from byte 0; gone again, the attempt fails as transient.
 */
async function sendAllBytes(config: VimeoSettings, context: UploadContext<VimeoDestination>, client: VimeoClient, saved: VimeoCheckpoint | undefined): Promise<VimeoCheckpoint> {
  if (saved) context.log.info({ offset: saved.offset }, 'continuing the Vimeo upload of an earlier attempt');
  let video = saved ?? (await createVideo(config, context, client));
  let startOffset = saved ? undefined : 0;
  for (let replaced = false; ; replaced = true) {
    const current = video;
    try {
      await sendFile(context, client, current.upload_link, startOffset, config.chunkBytes, { saved: (offset) => save(context, { ...current, offset }) });
      return current;
    } catch (error) {
      if (!(error instanceof UploadLinkGone)) throw error;
      if (replaced) {
        throw new FleetError('UF_DESTINATION_UNAVAILABLE', `Vimeo answered ${error.status} for an upload link it had just created`, { destination: 'vimeo', status: error.status });
      }
      context.log.warn({ status: error.status, video_uri: current.video_uri }, 'the Vimeo upload link is gone (expired); uploading again to a new video');
      video = await createVideo(config, context, client);
      startOffset = 0;
    }
  }
}

/** POST /me/videos with the tus approach and the destination's metadata; saves the checkpoint at offset 0. */
async function createVideo(config: VimeoSettings, context: UploadContext<VimeoDestination>, client: VimeoClient): Promise<VimeoCheckpoint> {
  const { destination, source, network } = context;
  const folderUri = destination.folder_uri ?? (destination.folder_id ? `${await userUri(config, context, client)}/projects/${destination.folder_id}` : undefined);
  const url = apiUrl(config, '/me/videos');
  await network.assertAllowed(url);
  const body = {
    upload: { approach: 'tus', size: String(source.size) },
    ...(destination.name !== undefined ? { name: destination.name } : {}),
    ...(destination.description !== undefined ? { description: destination.description } : {}),
    ...(destination.privacy ? { privacy: destination.privacy } : {}),
    ...(destination.password ? { password: destination.password } : {}),
    ...(folderUri ? { folder_uri: folderUri } : {}),
  };
  const answer = await client.api({ step: 'create', method: 'POST', url: url.toString(), headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (answer.status !== 200 && answer.status !== 201) {
    if (isQuotaAnswer(answer)) throw await quotaError(config, context, client, answer);
    throw errorForAnswer(answer, 'create');
  }
  const video = createdVideoOf(answer);
  await network.assertAllowed(new URL(video.upload_link));
  const checkpoint: VimeoCheckpoint = { version: 1, video_uri: video.uri, link: video.link, upload_link: video.upload_link, size: source.size, offset: 0 };
  await save(context, checkpoint);
  context.log.info({ video_uri: video.uri, bytes: source.size }, 'Vimeo video created; sending its bytes with tus');
  context.reportProgress(0);
  return checkpoint;
}

function createdVideoOf(answer: VimeoAnswer): CreatedVideo {
  let parsed: { uri?: unknown; link?: unknown; upload?: { approach?: unknown; upload_link?: unknown } } | undefined;
  try {
    parsed = JSON.parse(answer.body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const uri = parsed?.uri;
  const link = parsed?.link;
  const uploadLink = parsed?.upload?.upload_link;
  if (typeof uri !== 'string' || !/^\/videos\/\d+$/.test(uri) || typeof link !== 'string' || typeof uploadLink !== 'string' || parsed?.upload?.approach !== 'tus') {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `Vimeo answered ${answer.status} to the video creation without a video uri, link and tus upload_link`, { destination: 'vimeo', status: answer.status });
  }
  return { uri, link, upload_link: uploadLink };
}

/**
 * A quota answer to the creation (error_code 3428 or 4003): GET /me says which quota. When
 * the weekly (periodic) quota has too little left for the file but a fresh week would take
 * it, the upload waits until its reset_date; otherwise (storage full, or a file larger than
 * a whole week's quota) it fails for good.
 */
async function quotaError(config: VimeoSettings, context: UploadContext<VimeoDestination>, client: VimeoClient, refusal: VimeoAnswer): Promise<FleetError> {
  const permanent = errorForAnswer(refusal, 'create');
  const url = apiUrl(config, '/me');
  url.searchParams.set('fields', 'upload_quota');
  // GET /me failing for a while (network, 5xx) is no verdict on the quota: the attempt is retried.
  const answer = await client.api({ step: 'me', method: 'GET', url: url.toString() });
  if (answer.status !== 200) return answer.status >= 500 || answer.status === 429 ? errorForAnswer(answer, 'me') : permanent;
  let periodic: { free?: unknown; max?: unknown; reset_date?: unknown } | undefined;
  try {
    periodic = (JSON.parse(answer.body) as { upload_quota?: { periodic?: typeof periodic } }).upload_quota?.periodic;
  } catch {
    periodic = undefined;
  }
  const resetAt = typeof periodic?.reset_date === 'string' ? Date.parse(periodic.reset_date) : Number.NaN;
  const free = typeof periodic?.free === 'number' ? periodic.free : undefined;
  const max = typeof periodic?.max === 'number' ? periodic.max : undefined;
  const size = context.source.size;
  // Only a weekly quota that is what stands in the way (too little free this week) and that
  // could take the file after its reset is worth waiting for; a full storage never resets.
  const weeklyIsTheLimit = free !== undefined && free < size && (max === undefined || max >= size);
  if (!weeklyIsTheLimit || !Number.isFinite(resetAt) || resetAt <= Date.now()) return permanent;
  return weeklyQuotaError(resetAt);
}

/**
 * GET /videos/{id}?fields=...: polls transcode.status for up to transcodeWaitMs. The upload
 * is done whatever the answer: a failed poll reports in_progress rather than failing it.
 */
async function transcodeStatus(config: VimeoSettings, context: UploadContext<VimeoDestination>, client: VimeoClient, videoUri: string): Promise<VimeoResult['processing']> {
  const url = apiUrl(config, videoUri);
  url.searchParams.set('fields', 'uri,link,transcode.status,upload.status');
  const deadline = Date.now() + config.transcodeWaitMs;
  for (;;) {
    let status: unknown;
    try {
      const answer = await client.api({ step: 'status', method: 'GET', url: url.toString() });
      if (answer.status !== 200) throw errorForAnswer(answer, 'status');
      status = (JSON.parse(answer.body) as { transcode?: { status?: unknown } }).transcode?.status;
    } catch (error) {
      if (context.signal.aborted) throw error;
      context.log.warn({ code: (error as FleetError).code }, 'could not read the Vimeo transcode status; reporting in_progress');
      return 'in_progress';
    }
    if (status === 'complete' || status === 'error') return status;
    if (Date.now() + config.transcodePollMs > deadline) return 'in_progress';
    await sleep(config.transcodePollMs, undefined, { signal: context.signal }).catch(() => undefined);
    if (context.signal.aborted) return 'in_progress';
  }
}

/** The user behind the token (GET /me?fields=uri): the fleet-wide limits count per Vimeo user. */
async function accountOf(config: VimeoSettings, context: AccountContext<VimeoDestination>): Promise<string> {
  const client = new VimeoClient(vimeoTokensFor(context.destination, context.credentials), context.network, context.signal);
  return `vimeo-user:${await userUri(config, context, client)}`;
}

async function userUri(config: VimeoSettings, context: Pick<AccountContext<VimeoDestination>, 'network'>, client: VimeoClient): Promise<string> {
  const url = apiUrl(config, '/me');
  url.searchParams.set('fields', 'uri');
  await context.network.assertAllowed(url);
  const answer = await client.api({ step: 'me', method: 'GET', url: url.toString() });
  if (answer.status !== 200) throw errorForAnswer(answer, 'me');
  let uri: unknown;
  try {
    uri = (JSON.parse(answer.body) as { uri?: unknown }).uri;
  } catch {
    uri = undefined;
  }
  if (typeof uri !== 'string' || !/^\/users\/\d+$/.test(uri)) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', 'Vimeo answered GET /me without the user\'s uri', { destination: 'vimeo', status: answer.status });
  }
  return uri;
}

async function usableCheckpoint(context: UploadContext<VimeoDestination>): Promise<VimeoCheckpoint | undefined> {
  const saved = await context.checkpoint.load<Partial<VimeoCheckpoint>>();
  if (!saved) return undefined;
  if (saved.version !== 1 || typeof saved.video_uri !== 'string' || typeof saved.upload_link !== 'string' || typeof saved.link !== 'string' || saved.size !== context.source.size) {
    context.log.warn({ checkpoint_size: saved.size, size: context.source.size }, 'the checkpoint does not belong to this file; creating a new Vimeo video');
    await context.checkpoint.clear();
    return undefined;
  }
  return saved as VimeoCheckpoint;
}

function save(context: UploadContext<VimeoDestination>, checkpoint: VimeoCheckpoint): Promise<void> {
  return context.checkpoint.save<VimeoCheckpoint>(checkpoint);
}

function apiUrl(config: VimeoSettings, path: string): URL {
  return new URL(`${config.apiBaseUrl.replace(/\/+$/, '')}${path}`);
}

