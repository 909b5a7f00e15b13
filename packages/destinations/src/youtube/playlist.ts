import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError, toFleetError, type ErrorCode, type ScopedLogger } from '@upload-fleet/core';
import type { YouTubeSettings } from './definition.js';
import type { YouTubeClient } from './client.js';
import { errorForAnswer } from './errors.js';

/**
 * `playlistid`: after the upload, playlistItems.insert adds the video to the playlist
 * (https://developers.google.com/youtube/v3/docs/playlistItems/insert).
 *
 * The video exists by now, so a failure here must not fail the upload: a retry would
 * upload the video a second time (or, from the checkpoint, only try the playlist again,
 * which a missing playlist will not survive either). The result says the video exists
 * and that the playlist step failed, and why. Transient failures get two more tries
 * first; an abort still stops at once, and the next attempt resumes at this step.
 */

export interface PlaylistOutcome {
  id: string;
  added: boolean;
  error?: { code: ErrorCode; message: string };
}

const TRIES = 3;
const PAUSE_MS = 1_000;

export async function addToPlaylist(
  client: YouTubeClient,
  config: YouTubeSettings,
  playlistId: string,
  videoId: string,
  signal: AbortSignal,
  log: ScopedLogger,
): Promise<PlaylistOutcome> {
  const url = `${config.apiBaseUrl.replace(/\/+$/, '')}/playlistItems?part=snippet`;
  const body = JSON.stringify({ snippet: { playlistId, resourceId: { kind: 'youtube#video', videoId } } });
  for (let tryNumber = 1; ; tryNumber += 1) {
    try {
      const answer = await client.send({ step: 'playlist', method: 'POST', url, headers: { 'content-type': 'application/json; charset=UTF-8' }, body });
      if (answer.status >= 200 && answer.status < 300) {
        log.info({ playlist: playlistId, video_id: videoId }, 'added the video to the playlist');
        return { id: playlistId, added: true };
      }
      throw errorForAnswer(answer, 'playlist');
    } catch (raw) {
      const error = toFleetError(raw, 'youtube');
      if (error.code === 'UF_ABORTED') throw error;
      if (error.category === 'transient' && tryNumber < TRIES) {
        await pause(PAUSE_MS * tryNumber, signal);
        continue;
      }
      log.warn({ playlist: playlistId, video_id: videoId, code: error.code }, 'the video was uploaded, but adding it to the playlist failed');
      return { id: playlistId, added: false, error: { code: error.code, message: error.message } };
    }
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new FleetError('UF_ABORTED', 'The upload to YouTube was aborted before the video was added to the playlist', { destination: 'youtube', cause: error });
  }
}
