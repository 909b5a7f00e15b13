import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { YouTubeDestination } from './definition.js';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import type { YouTubeSettings } from './definition.js';
import { accessTokensFor } from './auth.js';
import { insertCaption, type CaptionOutcome } from './captions.js';
import { channelOf } from './channel.js';
import { YouTubeClient } from './client.js';
import { FollowUpLog, runStep } from './follow-ups.js';
import { addToPlaylist, playlistByTitle, type PlaylistOutcome } from './playlist.js';
import { uploadVideo, type VideoResource, type YouTubeCheckpoint } from './resumable.js';
import { setThumbnail, type ThumbnailOutcome } from './thumbnail.js';
import { verdictOf, type Verdict } from './verdict.js';

/**
 * The YouTube destination: the video goes to the channel of the access token through
 * YouTube's resumable upload protocol (resumable.ts); then the steps after the upload run
 * (thumbnail, caption tracks, playlist), and YouTube's verdict on the video is read.
 *
 * Read top to bottom:
 * - auth.ts        the bearer token: oauth_access_token as is, or auth_secret through the
 *                  fleet's CredentialProvider, renewed once after a 401
 * - client.ts      every request: token, network guard, abort, timeouts (and why got)
 * - resumable.ts   the video resource, session start, chunks, 308 and Range, status
 *                  queries, expired sessions, the checkpoint
 * - chunk-reader.ts  the file in 8 MiB chunks from one stream of the source
 * - follow-ups.ts  what a failure after the upload does (never upload the video twice)
 * - side-files.ts  the thumbnail and caption files, opened like the video's source
 * - thumbnail.ts   thumbnails.set
 * - captions.ts    captions.insert
 * - playlist.ts    playlistItems.insert, and playlist_title's playlists.list / insert
 * - verdict.ts     videos.list: processed, rejected, failed, locked private
 * - channel.ts     the channel behind a token (`accountOf`), for per-channel limits
 * - errors.ts      what Google's answers mean (quotaExceeded, uploadLimitExceeded, ...)
 */

export interface YouTubeResult extends UploadResult, Omit<Verdict, 'warnings'> {
  url: string;
  bytes: number;
  video_id: string;
  /** The channel the video belongs to, when YouTube said (a key for per-channel limits). */
  channel_id?: string;
  playlist?: PlaylistOutcome;
  thumbnail?: ThumbnailOutcome;
  captions?: CaptionOutcome[];
  /** When the video is scheduled to go public (status.publishAt as sent). */
  publish_at?: string;
  warnings?: string[];
}

export function createYouTubeAdapter(config: YouTubeSettings): DestinationAdapter<'youtube'> {
  return {
    type: 'youtube',
    upload: (context) => upload(config, context),
    accountOf: (context) => channelOf(config, context),
  };
}

async function upload(config: YouTubeSettings, context: UploadContext<YouTubeDestination>): Promise<YouTubeResult> {
  const { destination, source, signal, log } = context;
  if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to YouTube was aborted before it started', { destination: 'youtube' });

  const client = new YouTubeClient(accessTokensFor(destination, context.credentials), context.network, signal);
  log.info({ bytes: source.size, privacy: destination.status, auth: destination.auth_secret ? 'auth_secret' : 'oauth_access_token' }, 'uploading to YouTube');
  const { video, checkpoint } = await uploadVideo(context, client, config);
  context.reportProgress(source.size);
  log.info({ video_id: video.id }, 'uploaded to YouTube');

  const steps = new FollowUpLog(context, checkpoint);
  const thumbnail = destination.thumbnail ? await thumbnailStep(context, client, config, video.id, steps) : undefined;
  const captions = destination.captions?.length ? await captionSteps(context, client, config, video.id, steps) : undefined;
  const playlist = destination.playlistid || destination.playlist_title ? await playlistStep(context, client, config, video.id, steps) : undefined;
  const askedPrivacy = checkpoint.publish_at_missed ? 'public' : destination.status;
  const verdict = await verdictOf(context, client, config, video, askedPrivacy);
  return resultOf(destination, video, source.size, checkpoint, { thumbnail, captions, playlist }, verdict);
}

async function thumbnailStep(context: UploadContext<YouTubeDestination>, client: YouTubeClient, config: YouTubeSettings, videoId: string, steps: FollowUpLog): Promise<ThumbnailOutcome> {
  const done = steps.state.thumbnail;
  if (done) return done;
  const result = await runStep(context, 'the thumbnail', () => setThumbnail(context, client, config, videoId));
  const outcome: ThumbnailOutcome = result.ok ? { set: true } : { set: false, error: result.error };
  await steps.record({ thumbnail: outcome });
  return outcome;
}

async function captionSteps(context: UploadContext<YouTubeDestination>, client: YouTubeClient, config: YouTubeSettings, videoId: string, steps: FollowUpLog): Promise<CaptionOutcome[]> {
  const captions = context.destination.captions!;
  const outcomes: (CaptionOutcome | null)[] = captions.map((_, index) => steps.state.captions?.[index] ?? null);
  for (const [index, caption] of captions.entries()) {
    if (outcomes[index]) continue;
    const result = await runStep(context, `caption track ${index + 1}`, () => insertCaption(context, client, config, videoId, caption, index));
    const base = { language: caption.language, name: caption.name };
    outcomes[index] = result.ok ? { ...base, ...(result.value ? { id: result.value } : {}), added: true } : { ...base, added: false, error: result.error };
    await steps.record({ captions: outcomes });
  }
  return outcomes as CaptionOutcome[];
}

async function playlistStep(context: UploadContext<YouTubeDestination>, client: YouTubeClient, config: YouTubeSettings, videoId: string, steps: FollowUpLog): Promise<PlaylistOutcome> {
  const { destination } = context;
  let outcome: PlaylistOutcome | undefined = steps.state.playlist;
  if (outcome?.added || outcome?.error) return outcome;
  if (!outcome?.id) {
    if (destination.playlistid) {
      outcome = { id: destination.playlistid, added: false };
    } else {
      const title = destination.playlist_title!;
      const found = await runStep(context, 'the playlist lookup', () => playlistByTitle(client, config, title, destination.status));
      outcome = found.ok ? { id: found.value.id, title, created: found.value.created, added: false } : { title, added: false, error: found.error };
      // A created playlist is remembered before the video is added: a retry must not create another.
      await steps.record({ playlist: outcome });
      if (!found.ok) return outcome;
    }
  }
  const playlistId = outcome.id!;
  const added = await runStep(context, 'the playlist', () => addToPlaylist(client, config, playlistId, videoId));
  outcome = added.ok ? { ...outcome, added: true } : { ...outcome, added: false, error: added.error };
  if (added.ok) context.log.info({ playlist: playlistId, video_id: videoId }, 'added the video to the playlist');
  await steps.record({ playlist: outcome });
  return outcome;
}

interface StepOutcomes {
  thumbnail: ThumbnailOutcome | undefined;
  captions: CaptionOutcome[] | undefined;
  playlist: PlaylistOutcome | undefined;
}

function resultOf(destination: YouTubeDestination, video: VideoResource, bytes: number, checkpoint: YouTubeCheckpoint, steps: StepOutcomes, verdict: Verdict): YouTubeResult {
  const { warnings: verdictWarnings, ...judged } = verdict;
  const warnings = [
    ...(checkpoint.publish_at_missed
      ? [`publish_at ${destination.publish_at} had passed when the upload started (the job waited: rate limits, retries): YouTube takes a publishAt only in the future, so the video was published at once`]
      : []),
    ...(steps.thumbnail?.error ? [`The thumbnail was not set: ${steps.thumbnail.error.message}`] : []),
    ...(steps.captions ?? []).flatMap((c) => (c.error ? [`The caption track "${c.name}" (${c.language}) was not added: ${c.error.message}`] : [])),
    ...(steps.playlist?.error ? [`The video was not added to the playlist: ${steps.playlist.error.message}`] : []),
    ...verdictWarnings,
  ];
  const scheduled = destination.publish_at !== undefined && !checkpoint.publish_at_missed;
  return {
    url: `https://www.youtube.com/watch?v=${encodeURIComponent(video.id)}`,
    bytes,
    video_id: video.id,
    ...(video.snippet?.channelId ? { channel_id: video.snippet.channelId } : {}),
    ...(steps.playlist ? { playlist: steps.playlist } : {}),
    ...(steps.thumbnail ? { thumbnail: steps.thumbnail } : {}),
    ...(steps.captions ? { captions: steps.captions } : {}),
    ...(scheduled ? { publish_at: new Date(destination.publish_at!).toISOString() } : {}),
    ...judged,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
