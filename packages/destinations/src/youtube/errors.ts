import type { IncomingHttpHeaders } from 'node:http';
import { FleetError, parseRetryAfter } from '@upload-fleet/core';
import { googleErrorOf, platformSaid, reasonsOf } from '../google/error-body.js';
import { classifyFailure } from '../transport-errors.js';
import { msUntilPacificMidnight } from './pacific-midnight.js';

/**
 * What YouTube's answers and failed requests mean, in the shared taxonomy. Every request
 * of the adapter ends here when it does not succeed; nothing else in the folder decides
 * between permanent, transient and rate-limited.
 *
 * Google answers errors as `{ "error": { "code", "message", "errors": [{ "domain",
 * "reason", "message" }], "status" } }`; the `reason` is what tells a project's quota
 * apart from a channel's upload limit or a bad title
 * (https://developers.google.com/youtube/v3/docs/errors, .../docs/videos/insert#errors).
 * Messages name the step and quote the platform; they never contain the token, the
 * auth_secret or the session URI (which is itself a credential for the upload).
 */

/** The adapter's requests, so a message can say which one failed. */
export type YouTubeStep = 'start' | 'chunk' | 'status' | 'playlist' | 'playlists' | 'thumbnail' | 'caption' | 'verdict' | 'channel';

/** An HTTP answer, whatever its status. */
export interface YouTubeAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Quota comes back at midnight Pacific; we come back a minute later, so that clocks a
 * little apart do not spend a request on a quota that has not reset yet.
 */
export const QUOTA_RESET_MARGIN_MS = 60_000;

/**
 * uploadLimitExceeded is the channel's own cap on uploads in a rolling window (about 400 a
 * day, sometimes as few as 50 an hour: see the spec). YouTube does not say when the next
 * slot opens. Slots free up as the oldest uploads of the window age out, so trying again
 * hourly finds the earliest one within the hour, at the price of one session start.
 */
export const UPLOAD_LIMIT_RETRY_MS = 60 * 60_000;

const STEP_TEXT: Record<YouTubeStep, string> = {
  start: 'to start the upload',
  chunk: 'a part of the video',
  status: 'the upload status query',
  playlist: 'to add the video to the playlist',
  playlists: 'to find or create the playlist',
  thumbnail: 'to set the thumbnail',
  caption: 'to add the caption track',
  verdict: 'to say how the video is processing',
  channel: 'to name the channel of the access token',
};

/** Why a non-2xx (and non-308) answer failed the step. */
export function errorForAnswer(answer: YouTubeAnswer, step: YouTubeStep, now = new Date()): FleetError {
  const google = googleErrorOf(answer.body);
  const reasons = reasonsOf(google);
  const has = (...names: string[]) => names.some((name) => reasons.includes(name));
  const said = platformSaid(google);
  const refused = `YouTube refused ${STEP_TEXT[step]}`;
  const status = answer.status;
  const options = { destination: 'youtube', status };

  if (has('quotaExceeded', 'dailyLimitExceeded')) {
    const retryAfterMs = msUntilPacificMidnight(now) + QUOTA_RESET_MARGIN_MS;
    return new FleetError(
      'UF_RATE_LIMITED',
      `${refused}: the Google Cloud project's daily YouTube Data API quota is used up${said}. It resets at midnight Pacific Time, in ${hoursAndMinutes(retryAfterMs)}; the upload waits until then`,
      // The quota is the whole project's, not this channel's: every YouTube upload waits.
      { ...options, retryAfterMs, pauseScope: 'destination' },
    );
  }
  if (has('uploadLimitExceeded')) {
    return new FleetError(
      'UF_RATE_LIMITED',
      `${refused}: the channel has reached the number of videos YouTube lets it upload for now${said}. YouTube does not say when the next upload is allowed, so this one tries again in an hour`,
      { ...options, retryAfterMs: UPLOAD_LIMIT_RETRY_MS },
    );
  }
  if (status === 429 || has('rateLimitExceeded', 'userRateLimitExceeded')) {
    const retryAfterMs = parseRetryAfter(headerOf(answer.headers['retry-after']));
    return new FleetError('UF_RATE_LIMITED', `${refused}: too many requests in a short time${said}`, { ...options, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  if (has('youtubeSignupRequired')) {
    // A 401 that no new token fixes: the Google account has no channel to upload to.
    return new FleetError('UF_PERMISSION_DENIED', `${refused}: the Google account has no YouTube channel${said}. Create a channel for it (https://www.youtube.com/create_channel), then submit again`, options);
  }
  if (status === 401) {
    return new FleetError('UF_RECONNECT_REQUIRED', `${refused}: the access token expired or was revoked${said}. Get a new token, or reconnect the YouTube account`, options);
  }
  if (status === 403) {
    if (has('insufficientPermissions')) {
      // captions.insert takes only youtube.force-ssl (or youtubepartner); uploads take youtube.upload.
      const scope = step === 'caption' ? 'youtube.force-ssl' : step === 'playlists' ? 'youtube' : 'youtube.upload';
      return new FleetError('UF_PERMISSION_DENIED', `${refused}: the access token was granted without the ${scope} scope${said}. Authorize again with the ${scope} scope (the fleet's connect flow asks for it)`, options);
    }
    if (step === 'thumbnail' && has('forbidden')) {
      // thumbnails.set answers 403 forbidden when the channel may not use custom thumbnails.
      return new FleetError(
        'UF_PERMISSION_DENIED',
        `${refused}: the channel may not set custom thumbnails${said}. Verify the channel (https://www.youtube.com/verify), then set the thumbnail in YouTube Studio or submit again`,
        options,
      );
    }
    return new FleetError('UF_PERMISSION_DENIED', `${refused}: the account may not do this${said}`, options);
  }
  if (status === 404) {
    if (has('playlistNotFound')) return new FleetError('UF_DESTINATION_NOT_FOUND', `${refused}: the playlist does not exist or is not visible to this account${said}. Use the playlist id (PL...), not its name`, options);
    return new FleetError('UF_DESTINATION_NOT_FOUND', `${refused}: not found${said}`, options);
  }
  if (status === 409 && has('captionExists')) {
    return new FleetError('UF_DESTINATION_REJECTED', `${refused}: the video already has a caption track in that language with that name${said}`, options);
  }
  if (status === 400) {
    // invalidTitle, invalidDescription, invalidTags, invalidCategoryId, invalidVideoMetadata...:
    // the platform's own words say what to change.
    return new FleetError('UF_DESTINATION_REJECTED', `${refused}${said || ` (${status})`}`, options);
  }
  const retryAfterMs = parseRetryAfter(headerOf(answer.headers['retry-after']));
  const answered = `YouTube answered ${status} to the ${stepName(step)}${said}`;
  if (status >= 500) return new FleetError('UF_DESTINATION_UNAVAILABLE', answered, { ...options, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  if (status === 408) return new FleetError('UF_TIMEOUT', answered, options);
  if (status === 413) return new FleetError('UF_FILE_TOO_LARGE', `${answered}. YouTube takes videos up to 256 GB or 12 hours, whichever is less`, options);
  return new FleetError('UF_DESTINATION_REJECTED', answered, options);
}

/**
 * A 401 about the token (expired, revoked): worth a renewed token. youtubeSignupRequired is
 * a 401 too, but about the account (no channel), and a new token changes nothing.
 */
export function isTokenRejection(answer: YouTubeAnswer): boolean {
  if (answer.status !== 401) return false;
  return !reasonsOf(googleErrorOf(answer.body)).includes('youtubeSignupRequired');
}

/**
 * Why a request failed without an answer. got's own messages are never reused: they hold
 * the full URL, and the session URI is a credential.
 */
export function errorForFailure(error: unknown, step: YouTubeStep, signal: AbortSignal): FleetError {
  return classifyFailure(error, {
    destination: 'youtube',
    where: `YouTube (${stepName(step)})`,
    signal,
    networkCodes: ['ERR_HTTP_CONTENT_LENGTH_MISMATCH'],
    tlsHint: 'check YOUTUBE_API_BASE_URL, YOUTUBE_UPLOAD_BASE_URL and any proxy in between',
  });
}

/** The codes a chunk loop may recover from by asking the session where it stands. */
export function isInterruption(error: FleetError): boolean {
  return error.code === 'UF_NETWORK' || error.code === 'UF_TIMEOUT' || error.code === 'UF_DESTINATION_UNAVAILABLE';
}

function stepName(step: YouTubeStep): string {
  return {
    start: 'session start',
    chunk: 'chunk upload',
    status: 'status query',
    playlist: 'playlistItems.insert',
    playlists: 'playlists.list or playlists.insert',
    thumbnail: 'thumbnails.set',
    caption: 'captions.insert',
    verdict: 'videos.list',
    channel: 'channels.list',
  }[step];
}

function hoursAndMinutes(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
