/**
 * The error taxonomy. Every adapter maps its SDK's errors onto these codes at the
 * boundary; the worker decides what to do from the category alone:
 *
 * - permanent:    fail now, no further attempts (the user must fix something).
 * - transient:    retry with exponential backoff and jitter, honouring Retry-After.
 * - rate_limited: defer the job until the limit allows, without using up an attempt.
 * - auth:         the credential is expired or revoked; refresh once where the fleet
 *                 holds a refresh token, otherwise fail with "reconnect".
 */
export type ErrorCategory = 'permanent' | 'transient' | 'rate_limited' | 'auth';

interface CatalogEntry {
  category: ErrorCategory;
  /** What the reader should do next; appended to every message of this code. */
  hint: string;
}

export const ERROR_CATALOG = {
  UF_INVALID_REQUEST: { category: 'permanent', hint: 'Fix the fields listed and submit again.' },
  UF_SOURCE_NOT_FOUND: { category: 'permanent', hint: 'Check that the source file exists and that its path or URL is right.' },
  UF_SOURCE_FORBIDDEN: { category: 'permanent', hint: 'Sources must stay inside SOURCE_ROOT or be public http(s) URLs.' },
  UF_SOURCE_UNAVAILABLE: { category: 'transient', hint: 'The server holding the source file had a temporary failure; the upload will be retried.' },
  UF_SOURCE_UNSUPPORTED: { category: 'permanent', hint: 'The source server must send Content-Length and honour Range requests; serve the file from such a server, or use source.path.' },
  UF_SOURCE_CHANGED: { category: 'transient', hint: 'Sources must not change while they are delivered; the upload starts again from the beginning.' },
  UF_BLOCKED_ADDRESS: { category: 'permanent', hint: 'The address is private, loopback, link-local or metadata; an operator can allow the host with ALLOWED_PRIVATE_HOSTS.' },
  UF_DESTINATION_REJECTED: { category: 'permanent', hint: 'The destination refused the upload; fix the destination settings and retry.' },
  UF_DESTINATION_NOT_FOUND: { category: 'permanent', hint: 'Check the bucket, container, path or URL of the destination.' },
  UF_PERMISSION_DENIED: { category: 'permanent', hint: 'Grant the credential permission to write there, or use another credential.' },
  UF_CREDENTIALS_INVALID: { category: 'permanent', hint: 'Check the credentials of the destination.' },
  UF_RECONNECT_REQUIRED: { category: 'auth', hint: 'Reconnect this account and submit again.' },
  UF_FILE_TOO_LARGE: { category: 'permanent', hint: 'The destination does not accept a file this large.' },
  UF_DESTINATION_UNAVAILABLE: { category: 'transient', hint: 'The destination had a temporary failure; the upload will be retried.' },
  UF_NETWORK: { category: 'transient', hint: 'The connection failed; the upload will be retried.' },
  UF_TIMEOUT: { category: 'transient', hint: 'The destination did not answer in time; the upload will be retried.' },
  UF_RATE_LIMITED: { category: 'rate_limited', hint: 'The destination limits how often it accepts uploads; the upload waits and runs when allowed.' },
  UF_ABORTED: { category: 'transient', hint: 'The upload was interrupted (worker shutdown or lost lock) and will resume.' },
  UF_EXPIRED: { category: 'permanent', hint: 'The upload had not started by the delivery\'s expires_at, so it was not sent late; submit the delivery again with a later expires_at if it is still wanted.' },
  UF_CONFIGURATION: { category: 'permanent', hint: 'An operator must fix the fleet\'s configuration (see the message), then retry the delivery.' },
  UF_UNKNOWN: { category: 'transient', hint: 'An unexpected error; the upload will be retried up to its attempt limit.' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface FleetErrorOptions {
  /** Destination type the error came from, when there is one. */
  destination?: string;
  /** For transient and rate-limited errors: wait at least this long before the next try. */
  retryAfterMs?: number;
  /** HTTP status the destination answered, when there was one. */
  status?: number;
  /**
   * For rate-limited errors: what the limit covers. `account` (the default) pauses only
   * the destination account (channel, page, host); `destination` pauses every upload of
   * the destination type (YouTube's quotaExceeded is the whole API project's quota).
   */
  pauseScope?: 'account' | 'destination';
  /**
   * The destination's own words on why it refused, safe to show: for an HTTP destination's
   * 4xx, the start of its answer body, scrubbed of secrets. Shown in the status and the webhook.
   */
  details?: string;
  cause?: unknown;
}

/**
 * An error of the taxonomy. `message` is safe to show to users: callers must never put a
 * secret into it (the worker scrubs known secret values again before storing it).
 */
export class FleetError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly destination: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;
  readonly pauseScope: 'account' | 'destination';
  readonly details: string | undefined;

  constructor(code: ErrorCode, message: string, options: FleetErrorOptions = {}) {
    super(withHint(message, ERROR_CATALOG[code].hint), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FleetError';
    this.code = code;
    this.category = ERROR_CATALOG[code].category;
    this.destination = options.destination;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
    this.pauseScope = options.pauseScope ?? 'account';
    this.details = options.details;
  }

  get retryable(): boolean {
    return this.category === 'transient' || this.category === 'rate_limited';
  }

  toJSON(): SerializedFleetError {
    return {
      code: this.code,
      category: this.category,
      message: this.message,
      ...(this.destination ? { destination: this.destination } : {}),
      ...(this.status ? { status: this.status } : {}),
      ...(this.retryAfterMs !== undefined ? { retry_after_ms: this.retryAfterMs } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export interface SerializedFleetError {
  code: ErrorCode;
  category: ErrorCategory;
  message: string;
  destination?: string;
  status?: number;
  retry_after_ms?: number;
  /** What the destination said (see FleetErrorOptions.details). */
  details?: string;
}

function withHint(message: string, hint: string): string {
  const trimmed = message.trim().replace(/\.?$/, '.');
  return trimmed.endsWith(hint) ? trimmed : `${trimmed} ${hint}`;
}

export function isFleetError(error: unknown): error is FleetError {
  return error instanceof FleetError;
}

/**
 * The FleetError somewhere in `error`'s cause chain. HTTP clients and SDKs wrap what their
 * hooks and lookups throw (the network guard refusing an address at connect time, a source
 * failing mid-read) in errors of their own: the taxonomy's error inside is the verdict.
 */
export function fleetErrorIn(error: unknown): FleetError | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth += 1) {
    if (e instanceof FleetError) return e;
  }
  return undefined;
}

/** Anything that is not already classified becomes UF_UNKNOWN (transient up to the attempt limit). */
export function toFleetError(error: unknown, destination?: string): FleetError {
  if (isFleetError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FleetError('UF_UNKNOWN', `Unexpected error: ${message}`, { destination, cause: error });
}

/**
 * Classifies an HTTP status the common way: 408, 429 and 5xx are worth retrying, other
 * 4xx are the caller's to fix. Adapters use this for destinations without their own
 * error vocabulary and refine it where a platform says more.
 */
export function errorForHttpStatus(
  status: number,
  what: string,
  options: FleetErrorOptions = {},
): FleetError {
  const opts = { ...options, status };
  if (status === 429) return new FleetError('UF_RATE_LIMITED', `${what} answered 429 Too Many Requests`, opts);
  if (status === 408) return new FleetError('UF_TIMEOUT', `${what} answered 408 Request Timeout`, opts);
  if (status >= 500) return new FleetError('UF_DESTINATION_UNAVAILABLE', `${what} answered ${status}`, opts);
  if (status === 401) return new FleetError('UF_CREDENTIALS_INVALID', `${what} answered 401 Unauthorized`, opts);
  if (status === 403) return new FleetError('UF_PERMISSION_DENIED', `${what} answered 403 Forbidden`, opts);
  if (status === 404) return new FleetError('UF_DESTINATION_NOT_FOUND', `${what} answered 404 Not Found`, opts);
  if (status === 413) return new FleetError('UF_FILE_TOO_LARGE', `${what} answered 413 Payload Too Large`, opts);
  return new FleetError('UF_DESTINATION_REJECTED', `${what} answered ${status}`, opts);
}

/**
 * Parses a Retry-After header (delay-seconds or an HTTP date, RFC 9110 section 10.2.3) into
 * milliseconds from now; undefined when the value is neither.
 */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  // Only digits: Number() alone would also take "-5", "1e3" and "0x10".
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // HTTP dates name the month; Date.parse alone would read "-5" as a date in 2001.
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
