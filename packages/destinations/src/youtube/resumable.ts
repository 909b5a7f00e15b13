import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError } from '@upload-fleet/core';
import type { YouTubeDestination } from './definition.js';
import type { UploadContext } from '../adapter.js';
import type { YouTubeSettings } from './definition.js';
import { ChunkReader } from './chunk-reader.js';
import type { YouTubeClient } from './client.js';
import { fleetErrorIn } from '../transport-errors.js';
import { errorForAnswer, isInterruption, type YouTubeAnswer, type YouTubeStep } from './errors.js';

/**
 * The resumable upload protocol of videos.insert
 * (https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):
 *
 * 1. POST the video resource to {uploadBaseUrl}/videos?uploadType=resumable; the session
 *    URI comes back in Location. No video exists yet.
 * 2. PUT the file in chunks to the session URI, each with `Content-Range: bytes a-b/size`.
 *    YouTube answers 308 with `Range: bytes=0-N` (what it has stored, which may be less
 *    than was sent: go on from N+1) until the last byte, then 201 with the video resource.
 * 3. After any interruption, PUT an empty body with `Content-Range: bytes * /size`: the
 *    answer is the 308 with where the session stands, or the finished video.
 * 4. A session that answers 404 or 410 has expired (after about a week): start a new one.
 *
 * The session URI and offset are the checkpoint, saved after every chunk, so a retry on
 * another process continues the same session. Only the last byte of a session creates the
 * video, so however often an upload is interrupted there is one video, never two.
 */

/**
 * Chunk size: YouTube wants multiples of 256 KiB for every chunk but the last. Bigger
 * chunks mean fewer requests; smaller ones less to resend after a failure and finer
 * progress. 8 MiB is what Google's client libraries use by default.
 */
export const CHUNK_BYTES = 8 * 1024 * 1024;

/** Interruptions in a row (without progress) the chunk loop rides out before the attempt fails. */
const MAX_INTERRUPTIONS = 3;
/** The wait before asking the session where it stands, doubling with each interruption in a row. */
const INTERRUPTION_PAUSE_MS = 500;

/** What the checkpoint holds. `video_id` is set once YouTube has created the video. */
export interface YouTubeCheckpoint {
  version: 1;
  session_uri: string;
  size: number;
  offset: number;
  video_id?: string;
}

/** The part of YouTube's video resource the adapter uses. */
export interface VideoResource {
  id: string;
  snippet?: { channelId?: string; title?: string };
  status?: { uploadStatus?: string; privacyStatus?: string };
}

/** The session expired: the caller starts a new one. */
class SessionExpired extends Error {
  constructor(readonly status: number) {
    super(`the upload session answered ${status}`);
  }
}

/** Uploads the file and returns the video, resuming the checkpoint's session when there is one. */
export async function uploadVideo(context: UploadContext<YouTubeDestination>, client: YouTubeClient, config: YouTubeSettings): Promise<VideoResource> {
  const { source, log } = context;
  const saved = usableCheckpoint(await context.checkpoint.load<YouTubeCheckpoint>(), source.size, log);
  if (saved?.video_id) {
    log.info({ video_id: saved.video_id }, 'the video was uploaded in an earlier attempt');
    return { id: saved.video_id };
  }

  // A saved session's offset is not trusted: the chunk in flight when the attempt ended may
  // have been stored in part. `undefined` makes the first request a status query.
  let session: { uri: string; offset: number | undefined } = saved ? { uri: saved.session_uri, offset: undefined } : await startSession(context, client, config);
  if (saved) log.info({ offset: saved.offset }, 'resuming the upload session of an earlier attempt');
  const reader = new ChunkReader(source, source.size);
  let restarted = false;
  try {
    for (;;) {
      try {
        return await sendFile(context, client, reader, session.uri, session.offset);
      } catch (error) {
        if (!(error instanceof SessionExpired)) throw error;
        // A second expiry within one attempt is no longer "the session was old": let the
        // attempt fail and the job retry later.
        if (restarted) {
          throw new FleetError('UF_DESTINATION_UNAVAILABLE', `YouTube answered ${error.status} for an upload session it had just created`, { destination: 'youtube', status: error.status });
        }
        restarted = true;
        log.warn({ status: error.status }, 'the upload session expired; starting a new one from the beginning');
        session = await startSession(context, client, config);
      }
    }
  } finally {
    reader.close();
  }
}

/** Step 1: announces the video (its resource, size and type) and gets the session URI. */
async function startSession(context: UploadContext<YouTubeDestination>, client: YouTubeClient, config: YouTubeSettings): Promise<{ uri: string; offset: number }> {
  const { destination, source, network, log } = context;
  const url = new URL(`${config.uploadBaseUrl.replace(/\/+$/, '')}/videos`);
  url.searchParams.set('uploadType', 'resumable');
  url.searchParams.set('part', 'snippet,status');
  url.searchParams.set('notifySubscribers', String(destination.notifySubscribers));
  // Refuse private and metadata addresses with a clear error before sending anything; the
  // guard's lookup checks again at connect time. (An IP literal skips DNS, hence both.)
  await network.assertAllowed(url);

  const answer = await client.send({
    step: 'start',
    method: 'POST',
    url: url.toString(),
    headers: {
      'content-type': 'application/json; charset=UTF-8',
      'x-upload-content-length': String(source.size),
      'x-upload-content-type': context.contentType,
    },
    body: JSON.stringify(videoResourceOf(destination)),
  });
  if (answer.status !== 200 && answer.status !== 201) throw errorForAnswer(answer, 'start');
  const location = headerOf(answer.headers.location);
  if (!location) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `YouTube answered ${answer.status} to the session start without a session URI (Location)`, { destination: 'youtube', status: answer.status });
  }
  const uri = new URL(location, url);
  await network.assertAllowed(uri);
  await context.checkpoint.save<YouTubeCheckpoint>({ version: 1, session_uri: uri.toString(), size: source.size, offset: 0 });
  log.info({ host: uri.host, bytes: source.size }, 'YouTube upload session started');
  context.reportProgress(0);
  return { uri: uri.toString(), offset: 0 };
}

/** The video resource of the spec's parameters (videos.insert, parts snippet and status). */
export function videoResourceOf(destination: YouTubeDestination): Record<string, unknown> {
  return {
    snippet: {
      title: destination.title,
      description: destination.description,
      categoryId: destination.category,
      ...(destination.tags ? { tags: destination.tags } : {}),
    },
    status: { privacyStatus: destination.status },
  };
}

/**
 * Steps 2 and 3: sends the chunks from `offset` (unknown: ask the session first) until
 * YouTube answers with the video. An interruption (connection lost, timeout, 5xx) makes
 * it ask the session where it stands and go on from there, up to MAX_INTERRUPTIONS in a
 * row; then the attempt fails as transient and the job's retry resumes from the checkpoint.
 */
async function sendFile(
  context: UploadContext<YouTubeDestination>,
  client: YouTubeClient,
  reader: ChunkReader,
  uri: string,
  startOffset: number | undefined,
): Promise<VideoResource> {
  const { source, signal, log } = context;
  const size = source.size;
  let offset = startOffset;
  let interruptions = 0;
  // The most YouTube has confirmed so far: only getting past it ends a run of interruptions.
  let confirmed = startOffset ?? -1;

  for (;;) {
    if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to YouTube was aborted between two chunks', { destination: 'youtube' });
    try {
      // Nothing left to send (or an empty file): the status query's answer is the video.
      const state =
        offset === undefined || offset >= size
          ? await sessionRequest(client, uri, 'status', size, { 'content-range': `bytes */${size}` }, Buffer.alloc(0))
          : await sendChunk(client, reader, uri, offset, size, context.contentType);
      if ('video' in state) {
        await context.checkpoint.save<YouTubeCheckpoint>({ version: 1, session_uri: uri, size, offset: size, video_id: state.video.id });
        return state.video;
      }
      if (state.stored >= size) {
        throw new FleetError('UF_DESTINATION_UNAVAILABLE', 'YouTube has stored every byte of the video but has not created it', { destination: 'youtube', status: 308 });
      }
      if (offset !== undefined && state.stored < Math.min(offset + CHUNK_BYTES, size)) {
        log.info({ sent_up_to: Math.min(offset + CHUNK_BYTES, size), stored: state.stored }, 'YouTube kept fewer bytes than were sent; going on from what it stored');
      }
      if (state.stored > confirmed) {
        confirmed = state.stored;
        interruptions = 0;
      }
      offset = state.stored;
      await context.checkpoint.save<YouTubeCheckpoint>({ version: 1, session_uri: uri, size, offset });
      context.reportProgress(offset);
    } catch (raw) {
      if (raw instanceof SessionExpired) throw raw;
      const error = fleetErrorIn(raw) ?? new FleetError('UF_UNKNOWN', `The upload to YouTube failed: ${(raw as Error).message}`, { destination: 'youtube', cause: raw });
      interruptions += 1;
      if (!isInterruption(error) || interruptions > MAX_INTERRUPTIONS) throw error;
      log.warn({ code: error.code, offset, interruption: interruptions }, 'the upload was interrupted; asking the session where it stands');
      await pause(INTERRUPTION_PAUSE_MS * 2 ** (interruptions - 1), signal);
      offset = undefined;
    }
  }
}

type SessionState = { stored: number } | { video: VideoResource };

/** Step 2: one chunk, [offset, offset + CHUNK_BYTES) or what is left. */
async function sendChunk(client: YouTubeClient, reader: ChunkReader, uri: string, offset: number, size: number, contentType: string): Promise<SessionState> {
  const end = Math.min(offset + CHUNK_BYTES, size);
  const bytes = await reader.read(offset, end - offset);
  return sessionRequest(client, uri, 'chunk', size, { 'content-type': contentType, 'content-range': `bytes ${offset}-${end - 1}/${size}` }, bytes);
}

/** A PUT on the session URI (a chunk or a status query) and what its answer says. */
async function sessionRequest(client: YouTubeClient, uri: string, step: YouTubeStep, size: number, headers: Record<string, string>, body: Buffer): Promise<SessionState> {
  const answer = await client.send({ step, method: 'PUT', url: uri, headers, body });
  if (answer.status === 200 || answer.status === 201) return { video: videoOf(answer) };
  if (answer.status === 308) return { stored: storedBytes(answer, size) };
  if (answer.status === 404 || answer.status === 410) throw new SessionExpired(answer.status);
  throw errorForAnswer(answer, step);
}

/**
 * `Range: bytes=0-N` means bytes 0..N are stored; no Range header means none are (Google's
 * client libraries had to learn this: a 308 without Range is 0 bytes, not an error).
 */
export function storedBytes(answer: Pick<YouTubeAnswer, 'headers'>, size: number): number {
  const range = headerOf(answer.headers.range);
  if (!range) return 0;
  const match = /^bytes=0-(\d+)$/.exec(range.trim());
  if (!match) throw new FleetError('UF_DESTINATION_UNAVAILABLE', `YouTube answered 308 with a Range header the protocol does not have (${range})`, { destination: 'youtube', status: 308 });
  return Math.min(Number(match[1]) + 1, size);
}

function videoOf(answer: YouTubeAnswer): VideoResource {
  let video: Partial<VideoResource> | undefined;
  try {
    video = JSON.parse(answer.body) as Partial<VideoResource>;
  } catch {
    video = undefined;
  }
  if (!video || typeof video.id !== 'string' || !video.id) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `YouTube answered ${answer.status} to the last chunk without a video resource`, { destination: 'youtube', status: answer.status });
  }
  return video as VideoResource;
}

/** A checkpoint of this upload, or undefined (none, another shape, or a file that changed size). */
function usableCheckpoint(checkpoint: YouTubeCheckpoint | undefined, size: number, log: UploadContext<YouTubeDestination>['log']): YouTubeCheckpoint | undefined {
  if (!checkpoint) return undefined;
  if (checkpoint.version !== 1 || typeof checkpoint.session_uri !== 'string' || checkpoint.size !== size) {
    log.warn({ checkpoint_size: checkpoint.size, size }, 'the checkpoint does not belong to this file; starting a new upload session');
    return undefined;
  }
  return checkpoint;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new FleetError('UF_ABORTED', 'The upload to YouTube was aborted while waiting to resume', { destination: 'youtube', cause: error });
  }
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
