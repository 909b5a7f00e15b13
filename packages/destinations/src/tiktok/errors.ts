import type { IncomingHttpHeaders } from 'node:http';
import { FleetError, parseRetryAfter } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';

/**
 * What TikTok's answers and failed requests mean, in the shared taxonomy. Nothing else in
 * the folder decides between permanent, transient and rate-limited.
 *
 * Every Content Posting API answer has TikTok's envelope,
 * `{ "data": {...}, "error": { "code": "ok" | "<code>", "message": "...", "log_id": "..." } }`,
 * with the HTTP status saying the kind; the codes are those of the Direct Post reference's
 * error table (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post#error_codes)
 * and the status/fetch reference. Messages carry TikTok's code, message and log_id (what
 * TikTok's support asks for), never the token or the upload URL (it holds an upload token).
 */

export type TikTokStep = 'creator-info' | 'init' | 'chunk' | 'status';

export interface TikTokAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TikTokErrorBody {
  code?: string;
  message?: string;
  log_id?: string;
}

/** TikTok's per-minute request limits reset within a minute; it documents no Retry-After. */
export const RATE_LIMIT_FALLBACK_MS = 60_000;
/**
 * spam_risk_too_many_posts: the creator's 24-hour posting cap is reached, through posts the
 * fleet's own window did not count (made elsewhere). TikTok does not say when a post slot
 * frees up; an hour is a bounded guess that never spins.
 */
export const POSTING_CAP_RETRY_MS = 60 * 60_000;

const STEP_TEXT: Record<TikTokStep, string> = {
  'creator-info': 'the creator info query',
  init: 'the post',
  chunk: 'a chunk of the video',
  status: 'the post status query',
};

/** The `error` object of TikTok's envelope, or undefined without one. */
export function tiktokErrorOf(body: string): TikTokErrorBody | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return parsed && typeof parsed.error === 'object' && parsed.error !== null ? (parsed.error as TikTokErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

/** The `data` object of TikTok's envelope, or undefined. */
export function tiktokDataOf(answer: TikTokAnswer): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(answer.body) as { data?: unknown };
    return parsed && typeof parsed.data === 'object' && parsed.data !== null ? (parsed.data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** TikTok's answer for an access token it does not take (expired: they last 24 hours; or revoked). */
export function isTokenRejection(answer: TikTokAnswer): boolean {
  return answer.status === 401 && (tiktokErrorOf(answer.body)?.code ?? 'access_token_invalid') === 'access_token_invalid';
}

/** A successful answer: 2xx and `error.code` "ok" (or no error object, as on the upload URL). */
export function isOk(answer: TikTokAnswer): boolean {
  if (answer.status < 200 || answer.status >= 300) return false;
  const code = tiktokErrorOf(answer.body)?.code;
  return code === undefined || code === 'ok';
}

/** The FleetError for an answer that is not what the step needs. */
export function errorForAnswer(answer: TikTokAnswer, step: TikTokStep): FleetError {
  const tiktok = tiktokErrorOf(answer.body);
  const code = tiktok?.code;
  const said = platformSaid(tiktok);
  const status = answer.status;
  const options = { destination: 'tiktok', status };
  const refused = `TikTok refused ${STEP_TEXT[step]}`;
  const retryAfterMs = parseRetryAfter(headerOf(answer.headers['retry-after']));

  switch (code) {
    case 'rate_limit_exceeded':
      return new FleetError('UF_RATE_LIMITED', `${refused}: too many requests for this user's token${said}; the upload waits for the limit's minute to pass`, {
        ...options,
        retryAfterMs: retryAfterMs ?? RATE_LIMIT_FALLBACK_MS,
      });
    case 'spam_risk_too_many_posts':
      return new FleetError('UF_RATE_LIMITED', `${refused}: the creator has reached TikTok's cap on posts through the API in 24 hours${said}; the upload waits and tries again later`, {
        ...options,
        retryAfterMs: retryAfterMs ?? POSTING_CAP_RETRY_MS,
      });
    case 'reached_active_user_cap':
      return new FleetError('UF_RATE_LIMITED', `${refused}: the fleet's TikTok app has reached its daily cap of active posting users${said}; the upload waits and tries again later`, {
        ...options,
        retryAfterMs: retryAfterMs ?? POSTING_CAP_RETRY_MS,
      });
    case 'unaudited_client_can_only_post_to_private_accounts':
      return new FleetError(
        'UF_DESTINATION_REJECTED',
        `${refused}: the fleet's TikTok app is not audited yet, and unaudited apps may only post privately${said}. Set privacy_level to SELF_ONLY, or have the operator get the app audited by TikTok (Content Posting API audit)`,
        options,
      );
    case 'privacy_level_option_mismatch':
      return new FleetError('UF_DESTINATION_REJECTED', `${refused}: privacy_level is not one this creator's account allows${said}. Choose one of the account's options (a private account cannot post PUBLIC_TO_EVERYONE)`, options);
    case 'spam_risk_user_banned_from_posting':
      return new FleetError('UF_PERMISSION_DENIED', `${refused}: TikTok has banned this account from posting${said}. The account owner must resolve it in the TikTok app`, options);
    case 'spam_risk_text':
      return new FleetError('UF_DESTINATION_REJECTED', `${refused}: TikTok considers the title spam${said}. Change the title`, options);
    case 'scope_not_authorized':
    case 'scope_permission_missed':
      return new FleetError('UF_RECONNECT_REQUIRED', `${refused}: the account did not grant the video.publish permission${said}. Connect the TikTok account again (POST /v1/connect/tiktok) and allow every permission`, options);
    case 'access_token_invalid':
      return new FleetError('UF_RECONNECT_REQUIRED', `${refused}: the access token is invalid or was revoked${said}. Connect the TikTok account again (POST /v1/connect/tiktok) and submit with the new auth_secret`, options);
    case 'invalid_param':
    case 'invalid_params':
      return new FleetError('UF_DESTINATION_REJECTED', `${refused}: invalid parameters${said}`, options);
    default:
      break;
  }
  const answered = `TikTok answered ${status} to ${STEP_TEXT[step]}${said}`;
  if (status === 429) return new FleetError('UF_RATE_LIMITED', answered, { ...options, retryAfterMs: retryAfterMs ?? RATE_LIMIT_FALLBACK_MS });
  if (status >= 500) return new FleetError('UF_DESTINATION_UNAVAILABLE', answered, { ...options, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  if (status === 408) return new FleetError('UF_TIMEOUT', answered, options);
  if (status === 401) return new FleetError('UF_RECONNECT_REQUIRED', `${answered}. Connect the TikTok account again (POST /v1/connect/tiktok)`, options);
  if (status === 403) return new FleetError('UF_PERMISSION_DENIED', answered, options);
  if (status === 413) return new FleetError('UF_FILE_TOO_LARGE', answered, options);
  if (status >= 200 && status < 300) return new FleetError('UF_DESTINATION_UNAVAILABLE', `TikTok answered ${status} to ${STEP_TEXT[step]} without what the protocol needs${said}`, options);
  return new FleetError('UF_DESTINATION_REJECTED', answered, options);
}

/** A post TikTok could not publish (status/fetch FAILED): its fail_reason, permanent. */
export function publishFailedError(failReason: string | undefined, publishId: string): FleetError {
  const reason = clean(failReason) ?? 'no fail_reason given';
  return new FleetError('UF_DESTINATION_REJECTED', `TikTok could not publish post ${publishId}: ${reason}. Check that the file is a video TikTok accepts (MP4/WebM/MOV, H.264/H.265/VP8/VP9, 23-60 fps, 360-4096 px, within the creator's maximum duration)`, {
    destination: 'tiktok',
  });
}

/** Why a request failed without an answer. got's own messages are never reused: they hold the upload URL. */
export function errorForFailure(error: unknown, step: TikTokStep, signal: AbortSignal): FleetError {
  return classifyFailure(error, {
    destination: 'tiktok',
    where: `TikTok (${STEP_TEXT[step]})`,
    signal,
    abortNote: step === 'chunk' ? '; it resumes from the chunk TikTok has not received' : '',
    networkCodes: ['ERR_HTTP_CONTENT_LENGTH_MISMATCH'],
    tlsHint: 'check TIKTOK_API_BASE_URL and any proxy in between',
  });
}

/** Failures a chunk loop may ride out by asking TikTok how many bytes it has. */
export function isInterruption(error: FleetError): boolean {
  return error.code === 'UF_NETWORK' || error.code === 'UF_TIMEOUT' || error.code === 'UF_DESTINATION_UNAVAILABLE';
}

/** `: "<message>" (<code>, log_id <id>)`, or '' without TikTok's error object. */
function platformSaid(tiktok: TikTokErrorBody | undefined): string {
  if (!tiktok) return '';
  const message = clean(tiktok.message);
  const details = [clean(tiktok.code), tiktok.log_id ? `log_id ${clean(tiktok.log_id)}` : undefined].filter(Boolean).join(', ');
  return `${message ? `: "${message}"` : ''}${details ? ` (${details})` : ''}`;
}

function clean(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  if (!text) return undefined;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
