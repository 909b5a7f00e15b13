import { FleetError } from '@upload-fleet/core';
import type { YouTubeDestination } from './definition.js';
import type { UploadContext } from '../adapter.js';
import type { YouTubeSettings } from './definition.js';
import { ChunkReader } from './chunk-reader.js';
import type { YouTubeClient } from './client.js';
import { RESUMABLE_CHUNK_BYTES, headerOf, uploadWithRestart, type OpenSession, type ResumablePlatform, type SessionRun } from '../google/resumable-session.js';
import { errorForAnswer, isInterruption, type YouTubeAnswer } from './errors.js';
import type { CaptionOutcome } from './captions.js';
import type { PlaylistOutcome } from './playlist.js';
import type { ThumbnailOutcome } from './thumbnail.js';

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
 * Steps 2 to 4 are Google's upload front end, shared with Cloud Storage
 * (google/resumable-session.ts); this file holds step 1, the video and the checkpoint.
 *
 * The session URI and offset are the checkpoint, saved after every chunk, so a retry on
 * another process continues the same session. Only the last byte of a session creates the
 * video, so however often an upload is interrupted there is one video, never two.
 */

/** Chunk size: multiples of 256 KiB, 8 MiB like Google's client libraries (google/resumable-session.ts). */
export const CHUNK_BYTES = RESUMABLE_CHUNK_BYTES;

/**
 * What the checkpoint holds. `video_id` is set once YouTube has created the video; from
 * then on `after_upload` records each follow-up step that has reached its outcome, so a
 * retry neither uploads the video again nor repeats a step that is done.
 */
export interface YouTubeCheckpoint {
  version: 1;
  session_uri: string;
  size: number;
  offset: number;
  video_id?: string;
  /** The session was started after publish_at had passed: the video was published at once. */
  publish_at_missed?: boolean;
  after_upload?: FollowUpState;
}

/** The follow-up steps' outcomes so far (follow-ups.ts). */
export interface FollowUpState {
  thumbnail?: ThumbnailOutcome;
  /** By the index of the destination's `captions`. */
  captions?: (CaptionOutcome | null)[];
  /** Saved as soon as the playlist is known (a created one included), before the video is added. */
  playlist?: PlaylistOutcome;
}

/** The part of YouTube's video resource the adapter uses. */
export interface VideoResource {
  id: string;
  snippet?: { channelId?: string; title?: string };
  status?: VideoStatus;
  processingDetails?: { processingStatus?: string; processingFailureReason?: string };
}

export interface VideoStatus {
  uploadStatus?: string;
  privacyStatus?: string;
  rejectionReason?: string;
  failureReason?: string;
  publishAt?: string;
}

/** The video, and the checkpoint as it stands once the video exists. */
export interface UploadedVideo {
  video: VideoResource;
  checkpoint: YouTubeCheckpoint & { video_id: string };
}

/** Uploads the file and returns the video, resuming the checkpoint's session when there is one. */
export async function uploadVideo(context: UploadContext<YouTubeDestination>, client: YouTubeClient, config: YouTubeSettings): Promise<UploadedVideo> {
  const { source, log } = context;
  const saved = usableCheckpoint(await context.checkpoint.load<YouTubeCheckpoint>(), source.size, log);
  if (saved?.video_id) {
    log.info({ video_id: saved.video_id }, 'the video was uploaded in an earlier attempt');
    return { video: { id: saved.video_id }, checkpoint: { ...saved, video_id: saved.video_id } };
  }

  // A saved session's offset is not trusted: the chunk in flight when the attempt ended may
  // have been stored in part. `undefined` makes the first request a status query.
  let current: YouTubeCheckpoint = saved ?? (await startSession(context, client, config));
  const session: OpenSession = { uri: current.session_uri, offset: saved ? undefined : 0 };
  if (saved) log.info({ offset: saved.offset }, 'resuming the upload session of an earlier attempt');
  const reader = new ChunkReader(source, source.size);
  const run: SessionRun<VideoResource> = {
    platform: youtubeSessions(client),
    reader,
    size: source.size,
    contentType: context.contentType,
    signal: context.signal,
    log,
    async stored(uri, offset) {
      current = { ...current, session_uri: uri, offset };
      await context.checkpoint.save<YouTubeCheckpoint>(current);
      context.reportProgress(offset);
    },
  };
  try {
    const video = await uploadWithRestart(run, session, async () => {
      current = await startSession(context, client, config);
      return { uri: current.session_uri, offset: 0 };
    });
    const done = { ...current, offset: source.size, video_id: video.id };
    await context.checkpoint.save<YouTubeCheckpoint>(done);
    return { video, checkpoint: done };
  } finally {
    reader.close();
  }
}

/** What YouTube's session answers mean, for the shared chunk loop. */
function youtubeSessions(client: YouTubeClient): ResumablePlatform<VideoResource> {
  return {
    destination: 'youtube',
    label: 'YouTube',
    creates: 'video',
    put: (step, uri, headers, body) => client.send({ step, method: 'PUT', url: uri, headers, body }),
    errorForAnswer: (answer, step) => errorForAnswer(answer, step),
    isInterruption,
    resourceOf: videoOf,
  };
}

/** Step 1: announces the video (its resource, size and type) and gets the session URI; the new checkpoint. */
async function startSession(context: UploadContext<YouTubeDestination>, client: YouTubeClient, config: YouTubeSettings): Promise<YouTubeCheckpoint> {
  const { destination, source, network, log } = context;
  const { resource, publishAtMissed } = videoResourceOf(destination, new Date());
  if (publishAtMissed) log.warn({ publish_at: destination.publish_at }, 'publish_at passed while the upload waited; the video is published at once');
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
    body: JSON.stringify(resource),
  });
  if (answer.status !== 200 && answer.status !== 201) throw errorForAnswer(answer, 'start');
  const location = headerOf(answer.headers.location);
  if (!location) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `YouTube answered ${answer.status} to the session start without a session URI (Location)`, { destination: 'youtube', status: answer.status });
  }
  const uri = new URL(location, url);
  await network.assertAllowed(uri);
  const checkpoint: YouTubeCheckpoint = { version: 1, session_uri: uri.toString(), size: source.size, offset: 0, ...(publishAtMissed ? { publish_at_missed: true } : {}) };
  await context.checkpoint.save<YouTubeCheckpoint>(checkpoint);
  log.info({ host: uri.host, bytes: source.size }, 'YouTube upload session started');
  context.reportProgress(0);
  return checkpoint;
}

/**
 * The video resource of videos.insert (parts snippet and status): the spec's parameters,
 * and the publishing options beyond it (https://developers.google.com/youtube/v3/docs/videos#resource).
 *
 * publish_at was in the future when the request was submitted; a job that waited past it
 * (rate limits, retries) cannot schedule it any more, as YouTube takes a publishAt only in
 * the future. The video then goes out as what it was meant to become at that time: public
 * at once, without publishAt (`publishAtMissed`, reported as a warning).
 */
export function videoResourceOf(destination: YouTubeDestination, now: Date): { resource: Record<string, unknown>; publishAtMissed: boolean } {
  const publishAtMissed = destination.publish_at !== undefined && Date.parse(destination.publish_at) <= now.getTime();
  const scheduled = destination.publish_at !== undefined && !publishAtMissed;
  const audioLanguage = destination.default_audio_language ?? destination.default_language;
  return {
    publishAtMissed,
    resource: {
      snippet: {
        title: destination.title,
        description: destination.description,
        categoryId: destination.category,
        ...(destination.tags ? { tags: destination.tags } : {}),
        ...(destination.default_language ? { defaultLanguage: destination.default_language } : {}),
        ...(audioLanguage ? { defaultAudioLanguage: audioLanguage } : {}),
      },
      status: {
        privacyStatus: publishAtMissed ? 'public' : destination.status,
        ...(scheduled ? { publishAt: new Date(destination.publish_at!).toISOString() } : {}),
        ...(destination.made_for_kids !== undefined ? { selfDeclaredMadeForKids: destination.made_for_kids } : {}),
      },
    },
  };
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
