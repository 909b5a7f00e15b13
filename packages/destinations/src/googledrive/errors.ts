import { FleetError, parseRetryAfter } from '@upload-fleet/core';
import { googleErrorOf, platformSaid, reasonsOf } from '../google/error-body.js';
import { headerOf, type SessionAnswer } from '../google/resumable-session.js';
import { classifyFailure } from '../transport-errors.js';

/**
 * What Drive's answers and failed requests mean, in the shared taxonomy. Every request of
 * the adapter ends here when it does not succeed; nothing else in the folder decides
 * between permanent, transient and rate-limited. The reasons and what to do about each are
 * Drive's (https://developers.google.com/workspace/drive/api/guides/handle-errors):
 *
 * - 403 `storageQuotaExceeded`: the account's storage is full. Permanent: space must be
 *   freed or bought; retrying does not help. `teamDriveFileLimitExceeded` (a shared drive
 *   holds 400,000 items at most) likewise.
 * - 403 `userRateLimitExceeded` / `rateLimitExceeded`, and any 429: rate limited. Drive
 *   asks for truncated exponential backoff; the adapter adds the backoff (backoff.ts) and
 *   the fleet defers the job without using an attempt. Drive answers
 *   `userRateLimitExceeded` too once a user has uploaded 750 GB in a day.
 * - 403 `dailyLimitExceeded`: the Cloud project's quota, every upload of the type waits.
 * - 404 `notFound` on the session start: the folder of folder_id (the file itself does not
 *   exist yet). 404s on the session URI are the expired session, handled by the chunk loop.
 * - 401: the token; the client renews an auth_secret's once, then UF_RECONNECT_REQUIRED.
 * - 403 `insufficientFilePermissions`, `appNotAuthorizedToFile`, `insufficientPermissions`:
 *   permanent, the account or the app's scope may not write there.
 * - 400 `badRequest`/`invalid`: the file's metadata; Drive's own words say what.
 * - 408, 5xx: transient (Retry-After honoured).
 *
 * Messages name the step and quote Drive; they never contain the token, the auth_secret or
 * the session URI (which is itself a credential for the upload).
 */

/** The adapter's requests, so a message can say which one failed. */
export type DriveStep = 'start' | 'chunk' | 'status' | 'about';

/** What a message needs to know about the destination. */
export interface DriveTarget {
  folder_id?: string | undefined;
  shared_drive: boolean;
}

const STEP_TEXT: Record<DriveStep, string> = {
  start: 'to start the upload (files.create)',
  chunk: 'a part of the file',
  status: 'the upload status query',
  about: 'to name the account of the token (about.get)',
};

/** Why a non-2xx (and non-308) answer failed the step. */
export function errorForAnswer(answer: SessionAnswer, step: DriveStep, target: DriveTarget): FleetError {
  const error = googleErrorOf(answer.body);
  const reasons = reasonsOf(error);
  const has = (...names: string[]) => names.some((name) => reasons.includes(name));
  const said = platformSaid(error);
  const status = answer.status;
  const options = { destination: 'googledrive', status };
  const refused = `Google Drive refused ${STEP_TEXT[step]}`;
  const retryAfterMs = parseRetryAfter(headerOf(answer.headers['retry-after']));
  const waitFor = retryAfterMs !== undefined ? { retryAfterMs } : {};
  const folder = target.folder_id ? `folder_id "${target.folder_id}"` : 'the root of My Drive';

  if (has('storageQuotaExceeded')) {
    return new FleetError(
      'UF_DESTINATION_REJECTED',
      `${refused}: the Google account's storage is full${said}. Free up space in its Drive, Gmail or Photos, or buy more storage (https://one.google.com/storage), or upload to a shared drive, then submit again`,
      options,
    );
  }
  if (has('teamDriveFileLimitExceeded')) {
    return new FleetError('UF_DESTINATION_REJECTED', `${refused}: the shared drive holds as many items as Drive allows (400,000)${said}. Upload to another shared drive, or remove items from this one`, options);
  }
  if (has('dailyLimitExceeded')) {
    // The Cloud project's quota, not this account's: every Drive upload waits.
    return new FleetError('UF_RATE_LIMITED', `${refused}: the Google Cloud project's Drive API quota is used up${said}`, { ...options, ...waitFor, pauseScope: 'destination' });
  }
  if (status === 429 || has('userRateLimitExceeded', 'rateLimitExceeded')) {
    return new FleetError(
      'UF_RATE_LIMITED',
      `${refused}: too many requests for this account${said}. The upload waits and tries again, longer each time (Drive also refuses new uploads of an account that uploaded 750 GB within a day)`,
      { ...options, ...waitFor },
    );
  }
  if (status === 401) {
    return new FleetError('UF_RECONNECT_REQUIRED', `${refused}: the access token expired or was revoked${said}. Get a new token, or reconnect the Google Drive account`, options);
  }
  if (status === 403) {
    if (has('insufficientPermissions')) {
      return new FleetError('UF_PERMISSION_DENIED', `${refused}: the access token was granted without a Drive scope${said}. Authorize again with the drive.file scope`, options);
    }
    if (has('insufficientFilePermissions', 'appNotAuthorizedToFile')) {
      return new FleetError(
        'UF_PERMISSION_DENIED',
        `${refused}: the account may not add files to ${folder}${said}. Share the folder with the account as an editor (a shared drive: as a contributor at least)`,
        options,
      );
    }
    return new FleetError('UF_PERMISSION_DENIED', `${refused}: the account may not do this${said}`, options);
  }
  if (status === 404 && step === 'start') {
    const sharedHint = target.shared_drive ? '' : ' If the folder is in a shared drive, set shared_drive: true.';
    return new FleetError(
      'UF_DESTINATION_NOT_FOUND',
      `${refused}: ${folder} does not exist or this account cannot see it${said}. Use the id after /folders/ in the folder's URL.${sharedHint} With the drive.file scope, the fleet sees only folders it created or that the user opened with it`,
      options,
    );
  }
  if (status === 413 || has('maxFileSizeExceeded')) return new FleetError('UF_FILE_TOO_LARGE', `${refused}${said}. Drive takes files up to 5 TB`, options);
  if (status === 400) return new FleetError('UF_DESTINATION_REJECTED', `${refused}${said || ` (${status})`}`, options);
  const answered = `Google Drive answered ${status} to ${STEP_TEXT[step].replace(/^to /, '')}${said}`;
  if (status === 408) return new FleetError('UF_TIMEOUT', answered, options);
  if (status >= 500) return new FleetError('UF_DESTINATION_UNAVAILABLE', answered, { ...options, ...waitFor });
  return new FleetError('UF_DESTINATION_REJECTED', answered, options);
}

/** Why a request failed without an answer. got's own messages are never reused: they hold the session URI. */
export function errorForFailure(error: unknown, step: DriveStep, signal: AbortSignal): FleetError {
  return classifyFailure(error, {
    destination: 'googledrive',
    where: `Google Drive (${STEP_TEXT[step].replace(/^to /, '')})`,
    signal,
    abortNote: '; it resumes from its last chunk',
    networkCodes: ['ERR_HTTP_CONTENT_LENGTH_MISMATCH'],
    tlsHint: 'check GOOGLEDRIVE_API_BASE_URL, GOOGLEDRIVE_UPLOAD_BASE_URL and any proxy in between',
  });
}

/** The codes the chunk loop may recover from by asking the session where it stands. */
export function isInterruption(error: FleetError): boolean {
  return error.code === 'UF_NETWORK' || error.code === 'UF_TIMEOUT' || error.code === 'UF_DESTINATION_UNAVAILABLE';
}
