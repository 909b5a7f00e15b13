import { FleetError, parseRetryAfter } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';
import { googleErrorOf, platformSaid, reasonsOf, type GoogleErrorBody } from '../google/error-body.js';
import { headerOf, type SessionAnswer } from '../google/resumable-session.js';

/**
 * What Cloud Storage's answers and failed requests mean, in the shared taxonomy
 * (https://cloud.google.com/storage/docs/json_api/v1/status-codes). The JSON API answers
 * errors as `{ "error": { "code", "message", "errors": [{ "domain", "reason", "message" }] } }`.
 *
 * - 400 `invalid`, `required`, `badRequest`...: the request is wrong (an unknown storage
 *   class, a name GCS refuses): permanent, GCS's own words say what to change. A 400 whose
 *   message is about a CRC32C or MD5 that does not match is the checksum check failing:
 *   the bytes GCS received are not the file's (`checksumMismatch`).
 * - 401: the token; the client renews it once, then permanent (the key is revoked).
 * - 403 `rateLimitExceeded` / `userRateLimitExceeded`: rate limited; other 403s
 *   (`forbidden`, `insufficientPermissions`, `accountDisabled`...) permanent.
 * - 404 on the session start: the bucket does not exist (404s on the session URI are the
 *   expired session, handled by the chunk loop). 410 likewise.
 * - 408 timeout, 429 rate limited (Retry-After, else the runtime's backoff), 5xx transient.
 * - 412 `conditionNotMet`: a precondition failed (a retention policy or a hold on the
 *   object being replaced): permanent.
 *
 * Messages name the step and quote GCS; never the token, the key or the session URI
 * (which is itself a credential for the upload).
 */

export type GcsStep = 'token' | 'start' | 'chunk' | 'status';

const STEP_TEXT: Record<GcsStep, string> = {
  token: 'the token request',
  start: 'the upload session start',
  chunk: 'a chunk of the object',
  status: 'the upload status query',
};

/** Why a non-2xx (and non-308) answer failed the step. */
export function errorForAnswer(answer: SessionAnswer, step: GcsStep, bucket: string): FleetError {
  const error = googleErrorOf(answer.body);
  const reasons = reasonsOf(error);
  const has = (...names: string[]) => names.some((name) => reasons.includes(name));
  const said = platformSaid(error);
  const status = answer.status;
  const options = { destination: 'gcs', status };
  const refused = `Cloud Storage refused ${STEP_TEXT[step]}`;
  const retryAfterMs = parseRetryAfter(headerOf(answer.headers['retry-after']));
  const waitFor = retryAfterMs !== undefined ? { retryAfterMs } : {};

  if (status === 429 || has('rateLimitExceeded', 'userRateLimitExceeded')) {
    return new FleetError('UF_RATE_LIMITED', `${refused}: too many requests${said}. Cloud Storage allows about one write a second to the same object name`, { ...options, ...waitFor });
  }
  if (status === 400 && isChecksumMismatch(error)) return checksumMismatch(`Cloud Storage found that the object's checksum does not match the one sent${said}`, status);
  if (status === 400) return new FleetError('UF_DESTINATION_REJECTED', `${refused}${said || ` (${status})`}`, options);
  if (status === 401) {
    return new FleetError('UF_CREDENTIALS_INVALID', `${refused}: the access token of the service account was rejected even after a new one was issued${said}. Check that the key is not disabled`, options);
  }
  if (status === 403) {
    return new FleetError(
      'UF_PERMISSION_DENIED',
      `${refused}: the service account may not write to bucket "${bucket}"${said}. Grant it roles/storage.objectCreator on the bucket (roles/storage.objectUser to replace existing objects)`,
      options,
    );
  }
  if (status === 404) return new FleetError('UF_DESTINATION_NOT_FOUND', `${refused}: bucket "${bucket}" does not exist${said}. Check the bucket name`, options);
  if (status === 412) return new FleetError('UF_DESTINATION_REJECTED', `${refused}: a precondition failed${said} (a retention policy or a hold on the object may forbid replacing it)`, options);
  if (status === 413) return new FleetError('UF_FILE_TOO_LARGE', `${refused}${said}. Cloud Storage takes objects up to 5 TiB`, options);
  if (status === 408) return new FleetError('UF_TIMEOUT', `Cloud Storage answered 408 to ${STEP_TEXT[step]}${said}`, options);
  if (status >= 500) return new FleetError('UF_DESTINATION_UNAVAILABLE', `Cloud Storage answered ${status} to ${STEP_TEXT[step]}${said}`, { ...options, ...waitFor });
  return new FleetError('UF_DESTINATION_REJECTED', `Cloud Storage answered ${status} to ${STEP_TEXT[step]}${said}`, options);
}

/**
 * The object GCS holds is not the file: the bytes were changed on the way, or the source
 * changed between two attempts. Transient: the job's retry starts a new session from the
 * beginning (the adapter drops the checkpoint).
 */
export function checksumMismatch(message: string, status?: number): FleetError {
  return new FleetError('UF_SOURCE_CHANGED', `${message}. The upload starts again from the beginning`, { destination: 'gcs', ...(status !== undefined ? { status } : {}) });
}

function isChecksumMismatch(error: GoogleErrorBody | undefined): boolean {
  const text = [error?.message, ...(error?.errors ?? []).map((e) => e.message)].join(' ');
  return /\b(CRC32C|MD5)\b.*\b(match|mismatch)/i.test(text);
}

/** Why a request failed without an answer. got's own messages are never reused: they hold the session URI. */
export function errorForFailure(error: unknown, step: GcsStep, signal: AbortSignal): FleetError {
  return classifyFailure(error, {
    destination: 'gcs',
    where: `Cloud Storage (${STEP_TEXT[step]})`,
    signal,
    abortNote: '; it resumes from its last chunk',
    networkCodes: ['ERR_HTTP_CONTENT_LENGTH_MISMATCH'],
    tlsHint: 'check GCS_API_BASE_URL, the key\'s token_uri and any proxy in between',
  });
}

/** The codes a chunk loop may recover from by asking the session where it stands. */
export function isInterruption(error: FleetError): boolean {
  return error.code === 'UF_NETWORK' || error.code === 'UF_TIMEOUT' || error.code === 'UF_DESTINATION_UNAVAILABLE';
}
