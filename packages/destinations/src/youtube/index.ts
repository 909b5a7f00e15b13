import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { YouTubeDestination } from './definition.js';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import type { YouTubeSettings } from './definition.js';
import { accessTokensFor } from './auth.js';
import { channelOf } from './channel.js';
import { YouTubeClient } from './client.js';
import { addToPlaylist, type PlaylistOutcome } from './playlist.js';
import { uploadVideo, type VideoResource } from './resumable.js';

/**
 * The YouTube destination: the video goes to the channel of the access token through
 * YouTube's resumable upload protocol (resumable.ts), then, with `playlistid`, into that
 * playlist (playlist.ts).
 *
 * Read top to bottom:
 * - auth.ts        the bearer token: oauth_access_token as is, or auth_secret through the
 *                  fleet's CredentialProvider, renewed once after a 401
 * - client.ts      every request: token, network guard, abort, timeouts (and why got)
 * - resumable.ts   session start, chunks, 308 and Range, status queries, expired sessions,
 *                  the checkpoint
 * - chunk-reader.ts  the file in 8 MiB chunks from one stream of the source
 * - playlist.ts    playlistItems.insert, whose failure keeps the upload
 * - channel.ts     the channel behind a token (`accountOf`), for per-channel limits
 * - errors.ts      what Google's answers mean (quotaExceeded, uploadLimitExceeded, ...)
 */

export interface YouTubeResult extends UploadResult {
  url: string;
  bytes: number;
  video_id: string;
  /** The channel the video belongs to, when YouTube said (a key for per-channel limits). */
  channel_id?: string;
  playlist?: PlaylistOutcome;
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
  const video = await uploadVideo(context, client, config);
  context.reportProgress(source.size);
  log.info({ video_id: video.id }, 'uploaded to YouTube');

  const playlist = destination.playlistid ? await addToPlaylist(client, config, destination.playlistid, video.id, signal, log) : undefined;
  return resultOf(video, source.size, playlist);
}

function resultOf(video: VideoResource, bytes: number, playlist: PlaylistOutcome | undefined): YouTubeResult {
  return {
    url: `https://www.youtube.com/watch?v=${encodeURIComponent(video.id)}`,
    bytes,
    video_id: video.id,
    ...(video.snippet?.channelId ? { channel_id: video.snippet.channelId } : {}),
    ...(playlist ? { playlist } : {}),
  };
}
