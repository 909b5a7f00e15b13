import type { IncomingHttpHeaders } from 'node:http';
import { FleetError, errorForHttpStatus, parseRetryAfter, scrubText, type ErrorCode } from '@upload-fleet/core';

/**
 * What a Graph API answer that is not a success means, in the shared taxonomy. Classified
 * once, here; the adapter only acts on the outcome.
 *
 * Graph reports errors as `{ "error": { "message", "type", "code", "error_subcode",
 * "fbtrace_id", "is_transient", "error_user_title", "error_user_msg", "error_data" } }`
 * (https://developers.facebook.com/docs/graph-api/guides/error-handling), and the codes of
 * video uploads are listed at https://developers.facebook.com/docs/video-api/reference/error-codes.
 * The rules below follow those pages and what Facebook's own SDKs do with each code
 * (facebook-python-business-sdk video_uploader.py, php-graph-sdk FacebookResponseException,
 * the Android SDK's VideoUploader retry lists).
 */

/** The `error` object of a Graph answer. Every field is optional: proxies and old versions vary. */
export interface GraphError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  fbtrace_id?: string;
  is_transient?: boolean;
  error_user_title?: string;
  error_user_msg?: string;
  /** An object, or the same object JSON-encoded as a string (Graph does both). */
  error_data?: unknown;
}

/** One Graph answer as the adapter received it. */
export interface GraphAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON; undefined when it was not JSON (an HTML error page of a proxy). */
  json: unknown;
}

/** The phase of the resumable protocol a request belonged to; named in messages. */
export type UploadPhase = 'start' | 'transfer' | 'finish';

export type GraphOutcome =
  /** Graph expects another byte range (subcode 1363037): send that range, it is not a failure. */
  | { kind: 'offsets'; startOffset: number; endOffset: number }
  /** The upload session timed out on Facebook's side (subcode 1363030): start a new one. */
  | { kind: 'session-expired'; error: FleetError }
  /** `graphCode`: Graph's `error.code`, when the answer was a Graph error. */
  | { kind: 'error'; error: FleetError; graphCode?: number };

/**
 * How long a throttled upload waits when Graph's usage headers do not say. Graph's limits
 * are rolling windows (one hour for apps, 24 hours for Pages), and every call made while
 * throttled counts against the limit again ("Any calls made ... during this phase ... also
 * count towards subsequent limit calculations", developers.facebook.com/blog/post/2016/06/16/
 * page-level-rate-limits), so knocking again after a minute mostly prolongs the block.
 * Five minutes keeps a throttled page to about a dozen extra calls an hour.
 */
export const DEFAULT_THROTTLE_DELAY_MS = 5 * 60_000;

/** Longest Graph message kept in an error: they can be long and they are shown to users. */
const MAX_GRAPH_MESSAGE_CHARS = 300;

/** Token problems: expired, revoked, password changed, app removed, unconfirmed user. */
const ACCESS_TOKEN_CODES = new Set([
  102, // session key invalid or no longer valid (old name of 190)
  190, // access token expired, revoked or invalid
  2500, // "An active access token must be used to query information about the current user"
]);
/** Subcodes Graph attaches to token problems under other codes (php-graph-sdk lists the same). */
const ACCESS_TOKEN_SUBCODES = new Set([458, 459, 460, 463, 464, 467]);

/**
 * Throttling: 4 app, 17 user, 32 page, 341 application limit, 613 custom rate limit, and
 * the Business Use Case limits 80000-80014 (80001 is the Pages one).
 * https://developers.facebook.com/docs/graph-api/overview/rate-limiting
 */
const THROTTLE_CODES = new Set([4, 17, 32, 341, 613]);
const isBusinessUseCaseThrottle = (code: number | undefined) => code !== undefined && code >= 80000 && code <= 80014;

/** The upload timed out on Facebook's side: this session is gone (video-api error codes: "Video Upload Timeout"). */
const SESSION_EXPIRED_SUBCODE = 1363030;
/** Invalid start offset; `error_data` carries the range Graph expects. */
const OFFSET_MISMATCH_SUBCODE = 1363037;

/**
 * Subcodes of the upload phase that Facebook says to retry (connection cut, partial chunk,
 * "There was a problem uploading your video. Please try uploading it again."); the Android
 * SDK retries exactly these on transfer, 1363011 on finish.
 */
const TRANSIENT_UPLOAD_SUBCODES = new Set([1363011, 1363019, 1363021, 1363033, 1363041]);

/** Problems of the file itself: another attempt with the same file meets the same answer. */
const FILE_REJECTED_SUBCODES = new Map<number, string>([
  [1363020, 'no video file reached Facebook'],
  [1363022, 'the video is too small (Facebook requires at least 1 KB)'],
  [1363031, 'the file is not a video Facebook recognises'],
]);
const FILE_REJECTED_CODES = new Map<number, string>([
  [351, 'Facebook could not read the video file'],
  [352, 'Facebook does not support this video format'],
  [353, 'no video file reached Facebook'],
  [382, 'the video is too small'],
  [6100, 'Facebook could not process the video'],
]);
const FILE_TOO_LARGE_SUBCODE = 1363023;
/** No permission to upload a video here (for example a user token on a Page it cannot post to). */
const NO_UPLOAD_PERMISSION_SUBCODE = 1363042;

interface Rule {
  /** For the table-driven tests and for reading. */
  name: string;
  matches(error: GraphError): boolean;
  code: ErrorCode;
  /** What the user should do, in words that fit after the Graph message. */
  advice: (error: GraphError) => string;
}

/**
 * Checked in order; the first match decides. Token and throttling come first because Graph
 * marks throttling answers `is_transient` too, and the `is_transient` flag comes before the
 * per-code rules because Facebook knows better than a table whether a given answer passes.
 */
const RULES: Rule[] = [
  {
    name: 'access token expired or revoked',
    matches: (e) => ACCESS_TOKEN_CODES.has(e.code ?? -1) || ACCESS_TOKEN_SUBCODES.has(e.error_subcode ?? -1),
    code: 'UF_RECONNECT_REQUIRED',
    advice: () => 'the access token is expired, revoked or invalid: reconnect the Facebook account and submit the upload again with a new oauth_access_token',
  },
  {
    name: 'throttled',
    matches: (e) => THROTTLE_CODES.has(e.code ?? -1) || isBusinessUseCaseThrottle(e.code),
    code: 'UF_RATE_LIMITED',
    advice: () => 'Facebook is throttling this app, user or Page',
  },
  {
    name: 'no permission to upload here',
    matches: (e) => e.error_subcode === NO_UPLOAD_PERMISSION_SUBCODE || e.code === 10 || (e.code !== undefined && e.code >= 200 && e.code <= 299),
    code: 'UF_PERMISSION_DENIED',
    advice: () =>
      'the access token may not publish videos here: use a Page access token with pages_manage_posts (or a user token with publish_video) for the Page or profile',
  },
  {
    name: 'file too large',
    matches: (e) => e.error_subcode === FILE_TOO_LARGE_SUBCODE,
    code: 'UF_FILE_TOO_LARGE',
    advice: () => 'Facebook does not accept a video this large',
  },
  {
    name: 'file rejected',
    matches: (e) => FILE_REJECTED_SUBCODES.has(e.error_subcode ?? -1) || (!e.is_transient && FILE_REJECTED_CODES.has(e.code ?? -1)),
    code: 'UF_DESTINATION_REJECTED',
    advice: (e) => FILE_REJECTED_SUBCODES.get(e.error_subcode ?? -1) ?? FILE_REJECTED_CODES.get(e.code ?? -1) ?? 'Facebook refused the file',
  },
  {
    name: 'transient',
    matches: (e) =>
      e.is_transient === true ||
      e.code === 1 || // "An unknown error occurred"
      e.code === 2 || // "Service temporarily unavailable"
      TRANSIENT_UPLOAD_SUBCODES.has(e.error_subcode ?? -1) ||
      // 6000 "There was a problem uploading your video file" / 6001 "... Please try again":
      // Facebook's recommendation is to retry (video-api error codes); the attempt limit
      // bounds it. File problems under 6000 carry the subcodes of the rule above.
      e.code === 6000 ||
      e.code === 6001,
    code: 'UF_DESTINATION_UNAVAILABLE',
    advice: () => 'Facebook had a temporary problem',
  },
  {
    name: 'object does not exist',
    matches: (e) => e.code === 100 && e.error_subcode === 33,
    code: 'UF_DESTINATION_NOT_FOUND',
    advice: () => 'the Page or profile of the access token cannot be reached: check that the token belongs to it',
  },
  {
    name: 'invalid parameter',
    matches: (e) => e.code === 100,
    code: 'UF_DESTINATION_REJECTED',
    advice: () => 'Facebook refused a parameter of the upload: check title, description, name, caption and message',
  },
  {
    name: 'content refused',
    // 368: temporarily blocked for policy violations; 506: duplicate post.
    matches: (e) => e.code === 368 || e.code === 506,
    code: 'UF_DESTINATION_REJECTED',
    advice: () => 'Facebook refused to publish this video',
  },
];

/** The rules, for the table-driven tests. */
export const graphErrorRules: readonly Pick<Rule, 'name' | 'code'>[] = RULES;

/** Classifies a non-success answer of the given phase. `token` is scrubbed from every message. */
export function classifyGraphAnswer(answer: GraphAnswer, phase: UploadPhase, token: string, now = Date.now()): GraphOutcome {
  const graphError = graphErrorOf(answer.json);
  const where = `Facebook (${phaseText(phase)})`;
  const options = { destination: 'facebook', status: answer.status };

  if (!graphError) {
    // Not Graph's format: a proxy, a load balancer or an outage page answered.
    const retryAfterMs = parseRetryAfter(headerText(answer.headers['retry-after']), now);
    return { kind: 'error', error: errorForHttpStatus(answer.status, where, { ...options, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }) };
  }

  if (graphError.error_subcode === OFFSET_MISMATCH_SUBCODE) {
    const range = offsetsIn(graphError.error_data);
    if (range) return { kind: 'offsets', ...range };
  }

  const described = describe(graphError, token);
  if (graphError.error_subcode === SESSION_EXPIRED_SUBCODE) {
    const error = new FleetError('UF_DESTINATION_UNAVAILABLE', `${where} ended the upload session: ${described}; the upload starts a new session`, options);
    return { kind: 'session-expired', error };
  }

  const rule = RULES.find((r) => r.matches(graphError));
  if (rule?.code === 'UF_RATE_LIMITED') {
    const told = throttleDelayMs(answer.headers, now);
    const retryAfterMs = told ?? DEFAULT_THROTTLE_DELAY_MS;
    const wait = told === undefined ? `retrying in ${minutes(retryAfterMs)} (Graph did not say when)` : `Graph expects access again in ${minutes(retryAfterMs)}`;
    const error = new FleetError('UF_RATE_LIMITED', `${where}: ${described}; ${rule.advice(graphError)}, ${wait}`, { ...options, retryAfterMs });
    return { kind: 'error', error, ...graphCodeOf(graphError) };
  }
  if (rule) return { kind: 'error', error: new FleetError(rule.code, `${where}: ${described}; ${rule.advice(graphError)}`, options), ...graphCodeOf(graphError) };

  // A Graph error no rule knows. The design counts unknown errors as transient up to the
  // attempt limit; a 5xx says so plainly.
  const code: ErrorCode = answer.status >= 500 ? 'UF_DESTINATION_UNAVAILABLE' : 'UF_UNKNOWN';
  return { kind: 'error', error: new FleetError(code, `${where}: ${described}`, options), ...graphCodeOf(graphError) };
}

function graphCodeOf(error: GraphError): { graphCode?: number } {
  return error.code === undefined ? {} : { graphCode: error.code };
}

/** The `error` object of a Graph answer, when the body is one. */
export function graphErrorOf(json: unknown): GraphError | undefined {
  if (!json || typeof json !== 'object') return undefined;
  const error = (json as { error?: unknown }).error;
  if (!error || typeof error !== 'object') return undefined;
  const e = error as Record<string, unknown>;
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const out: GraphError = {};
  const fields: [keyof GraphError, unknown][] = [
    ['message', text(e.message)],
    ['type', text(e.type)],
    ['code', int(e.code)],
    ['error_subcode', int(e.error_subcode)],
    ['fbtrace_id', text(e.fbtrace_id)],
    ['is_transient', typeof e.is_transient === 'boolean' ? e.is_transient : undefined],
    ['error_user_title', text(e.error_user_title)],
    ['error_user_msg', text(e.error_user_msg)],
    ['error_data', e.error_data],
  ];
  for (const [name, value] of fields) if (value !== undefined) (out as Record<string, unknown>)[name] = value;
  return out;
}

/**
 * Milliseconds until Graph lets the caller in again, from `estimated_time_to_regain_access`
 * (minutes) in X-Business-Use-Case-Usage (`{ "<id>": [{ "type": "pages", ...,
 * "estimated_time_to_regain_access": 7 }] }`) or X-App-Usage, or from Retry-After. The
 * longest wait any of them names wins; undefined when none names one.
 */
export function throttleDelayMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const waits: number[] = [];
  for (const name of ['x-business-use-case-usage', 'x-app-usage', 'x-ad-account-usage']) {
    const value = headerText(headers[name]);
    if (!value) continue;
    try {
      collectRegainMinutes(JSON.parse(value), waits);
    } catch {
      // A header that is not JSON says nothing usable.
    }
  }
  const retryAfter = parseRetryAfter(headerText(headers['retry-after']), now);
  const fromUsage = waits.filter((m) => m > 0).map((m) => m * 60_000);
  const all = [...fromUsage, ...(retryAfter !== undefined && retryAfter > 0 ? [retryAfter] : [])];
  return all.length ? Math.max(...all) : undefined;
}

function collectRegainMinutes(value: unknown, into: number[], depth = 0): void {
  if (depth > 4 || !value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) collectRegainMinutes(item, into, depth + 1);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (key === 'estimated_time_to_regain_access' && typeof v === 'number' && Number.isFinite(v)) into.push(v);
    else collectRegainMinutes(v, into, depth + 1);
  }
}

/** The byte range in `error_data` (an object or its JSON text), when it names a valid one. */
export function offsetsIn(errorData: unknown): { startOffset: number; endOffset: number } | undefined {
  let data = errorData;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  if (!data || typeof data !== 'object') return undefined;
  const startOffset = offsetValue((data as Record<string, unknown>).start_offset);
  const endOffset = offsetValue((data as Record<string, unknown>).end_offset);
  if (startOffset === undefined || endOffset === undefined || endOffset < startOffset) return undefined;
  return { startOffset, endOffset };
}

/** Graph sends offsets as strings of digits ("52428800"), sometimes as numbers. */
export function offsetValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,16}$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/**
 * "Graph error 190/463 (OAuthException): <message> [fbtrace_id ...]". Graph messages can
 * echo request parameters, so the token is scrubbed in every form it may take.
 */
function describe(error: GraphError, token: string): string {
  const code = error.code === undefined ? 'without a code' : `${error.code}${error.error_subcode !== undefined ? `/${error.error_subcode}` : ''}`;
  const type = error.type ? ` (${error.type})` : '';
  const raw = [error.message, error.error_user_msg].filter((m): m is string => Boolean(m)).join(' — ');
  const clean = scrubText(raw, [token]).replace(/\s+/g, ' ').trim();
  const text = clean.length > MAX_GRAPH_MESSAGE_CHARS ? `${clean.slice(0, MAX_GRAPH_MESSAGE_CHARS)}…` : clean;
  const trace = error.fbtrace_id ? ` [fbtrace_id ${scrubText(error.fbtrace_id, [token])}]` : '';
  return `Graph error ${code}${type}${text ? `: "${text}"` : ''}${trace}`;
}

function phaseText(phase: UploadPhase): string {
  return phase === 'start' ? 'starting the upload session' : phase === 'transfer' ? 'receiving a chunk' : 'finishing the upload';
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 1 ? `${Math.round(m)} min` : `${Math.ceil(ms / 1000)} s`;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
