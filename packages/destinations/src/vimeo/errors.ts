import type { IncomingHttpHeaders } from 'node:http';
import { FleetError, parseRetryAfter } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';

/**
 * What Vimeo's answers and failed requests mean, in the shared taxonomy. Every request of
 * the adapter that does not succeed ends here.
 *
 * Vimeo answers errors as `{ "error", "link", "developer_message", "error_code",
 * "invalid_parameters"? }` (https://developer.vimeo.com/api/guides/error-codes); the
 * `error_code` tells an invalid token (8000-8003) from bad parameters (2204, 2205) or a used
 * upload quota (3428, 4003). Rate limits come back as 429 with `X-RateLimit-Limit`,
 * `X-RateLimit-Remaining` and `X-RateLimit-Reset`
 * (https://developer.vimeo.com/guidelines/rate-limiting).
 *
 * Messages name the step and quote Vimeo; they never hold the token, the auth_secret, the
 * password or the upload link (which is itself a credential for the upload).
 */

/** The adapter's requests, so a message can say which one failed. */
export type VimeoStep = 'create' | 'me' | 'chunk' | 'offset' | 'status';

export interface VimeoAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface VimeoErrorBody {
  error?: string;
  link?: string | null;
  developer_message?: string;
  error_code?: number;
  invalid_parameters?: { field?: string; error?: string; error_code?: number; developer_message?: string }[];
}

/** error_code values of Vimeo's list that the adapter acts on. */
export const VIMEO_ERROR_CODES = {
  /** Bad parameters: "The parameters passed to this API endpoint didn't pass Vimeo's validation checks". */
  invalidParameters: [2204, 2205],
  /** The user's upload quota (weekly or total storage) cannot take this video. */
  uploadQuota: [3428, 4003],
  /** The token: missing, invalid, revoked (8003 "invalid token"). */
  token: [8000, 8001, 8002, 8003],
} as const;

/** Vimeo blocks a user that exceeds its rate for "up to a minute" when it sends no reset time. */
export const RATE_LIMIT_FALLBACK_MS = 60_000;

const STEP_TEXT: Record<VimeoStep, string> = {
  create: 'the video (POST /me/videos)',
  me: 'the account lookup (GET /me)',
  chunk: 'a tus chunk (PATCH on the upload link)',
  offset: 'the offset query (HEAD on the upload link)',
  status: 'the transcode status query (GET /videos/{id})',
};

export function vimeoErrorOf(body: string): VimeoErrorBody | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as VimeoErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

/** A quota answer: the caller asks GET /me whether the weekly quota resets (rate-limited) or the storage is full (permanent). */
export function isQuotaAnswer(answer: VimeoAnswer): boolean {
  const code = vimeoErrorOf(answer.body)?.error_code;
  return typeof code === 'number' && (VIMEO_ERROR_CODES.uploadQuota as readonly number[]).includes(code);
}

/** A 401 about the token: worth a renewed token (auth_secret) once. */
export function isTokenRejection(answer: VimeoAnswer): boolean {
  return answer.status === 401;
}

/** The answer's rate-limit reset as a wait in ms: X-RateLimit-Reset (an ISO date or Unix seconds), else Retry-After. */
export function rateLimitWaitMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const reset = headerOf(headers['x-ratelimit-reset']);
  if (reset) {
    const at = /^\d+$/.test(reset.trim()) ? Number(reset) * 1000 : Date.parse(reset);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  return parseRetryAfter(headerOf(headers['retry-after']), now);
}

/** A FleetError for an answer that is not what the step needs. */
export function errorForAnswer(answer: VimeoAnswer, step: VimeoStep, now = Date.now()): FleetError {
  const vimeo = vimeoErrorOf(answer.body);
  const code = vimeo?.error_code;
  const said = platformSaid(vimeo);
  const status = answer.status;
  const options = { destination: 'vimeo', status };
  const refused = `Vimeo refused ${STEP_TEXT[step]}`;
  const has = (list: readonly number[]) => typeof code === 'number' && list.includes(code);

  if (status === 429) {
    const waitMs = rateLimitWaitMs(answer.headers, now) ?? RATE_LIMIT_FALLBACK_MS;
    const limit = headerOf(answer.headers['x-ratelimit-limit']);
    return new FleetError('UF_RATE_LIMITED', `${refused}: too many API requests for this account${limit ? ` (its limit is ${limit} per minute)` : ''}${said}; the upload waits until the limit resets`, {
      ...options,
      retryAfterMs: waitMs,
    });
  }
  if (status === 401 || has(VIMEO_ERROR_CODES.token)) {
    return new FleetError(
      'UF_RECONNECT_REQUIRED',
      `${refused}: the access token is invalid or was revoked${said}. Generate a new token with the upload scope, or connect the account to the fleet (POST /v1/connect/vimeo) and use auth_secret`,
      options,
    );
  }
  if (has(VIMEO_ERROR_CODES.uploadQuota)) {
    return new FleetError('UF_FILE_TOO_LARGE', `${refused}: the account's upload quota cannot take this video${said}. Free space on the account or upgrade its plan, then submit again`, options);
  }
  if (has(VIMEO_ERROR_CODES.invalidParameters)) {
    return new FleetError('UF_DESTINATION_REJECTED', `${refused}: invalid parameters${invalidFields(vimeo)}${said}`, options);
  }
  if (status === 403) {
    return new FleetError('UF_PERMISSION_DENIED', `${refused}: the token may not do this${said}. Authorize again with the upload and edit scopes`, options);
  }
  if (status === 404) {
    return new FleetError('UF_DESTINATION_NOT_FOUND', `${refused}: not found${said}. Check folder_uri or folder_id`, options);
  }
  const answered = `Vimeo answered ${status} to ${STEP_TEXT[step]}${said}`;
  if (status >= 500) {
    const retryAfterMs = parseRetryAfter(headerOf(answer.headers['retry-after']));
    return new FleetError('UF_DESTINATION_UNAVAILABLE', answered, { ...options, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  if (status === 408) return new FleetError('UF_TIMEOUT', answered, options);
  if (status === 413) return new FleetError('UF_FILE_TOO_LARGE', answered, options);
  return new FleetError('UF_DESTINATION_REJECTED', answered, options);
}

/**
 * The weekly quota is used up but resets: the upload waits until Vimeo's reset date
 * (upload_quota.periodic.reset_date of GET /me), without using an attempt.
 */
export function weeklyQuotaError(resetAt: number, now = Date.now()): FleetError {
  const retryAfterMs = Math.max(0, resetAt - now);
  return new FleetError(
    'UF_RATE_LIMITED',
    `Vimeo refused the video: the account's weekly upload quota is used up. It resets at ${new Date(resetAt).toISOString()}; the upload waits until then`,
    { destination: 'vimeo', status: 403, retryAfterMs },
  );
}

/** Why a request failed without an answer. got's own messages are never reused: they hold the URL (the upload link). */
export function errorForFailure(error: unknown, step: VimeoStep, signal: AbortSignal): FleetError {
  return classifyFailure(error, {
    destination: 'vimeo',
    where: `Vimeo (${STEP_TEXT[step]})`,
    signal,
    abortNote: step === 'chunk' ? '; it resumes from the offset the upload link reports' : '',
    networkCodes: ['ERR_HTTP_CONTENT_LENGTH_MISMATCH'],
    tlsHint: 'check VIMEO_API_BASE_URL and any proxy in between',
  });
}

/** Failures a chunk loop may ride out by asking the upload link for its offset. */
export function isInterruption(error: FleetError): boolean {
  return error.code === 'UF_NETWORK' || error.code === 'UF_TIMEOUT' || error.code === 'UF_DESTINATION_UNAVAILABLE';
}

/** `: "<Vimeo's message>" (error_code N)`, or '' without a Vimeo error body. */
function platformSaid(vimeo: VimeoErrorBody | undefined): string {
  if (!vimeo) return '';
  const text = clean(vimeo.developer_message ?? vimeo.error);
  const code = typeof vimeo.error_code === 'number' ? ` (error_code ${vimeo.error_code})` : '';
  return text ? `: "${text}"${code}` : code;
}

function invalidFields(vimeo: VimeoErrorBody | undefined): string {
  const fields = (vimeo?.invalid_parameters ?? []).map((p) => clean(p.field)).filter((f): f is string => !!f);
  return fields.length > 0 ? ` (${fields.join(', ')})` : '';
}

function clean(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  if (!text) return undefined;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

export function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
