import { DropboxResponseError } from 'dropbox';
import { FleetError, errorForHttpStatus, parseRetryAfter, type ErrorCode } from '@upload-fleet/core';
import { abortedError, fleetErrorIn, transportFailure, unknownFailure, type FailureTaxonomy } from '../transport-errors.js';

/**
 * What a failed Dropbox call means, decided once, here. Dropbox answers (see "Errors" in
 * https://www.dropbox.com/developers/documentation/http/documentation):
 *
 * - 400: bad input, plain text (our request was malformed, or the path did not match
 *   Dropbox's pattern);
 * - 401: AuthError as JSON (`expired_access_token`, `invalid_access_token`, `missing_scope`, ...);
 * - 403: AccessError;
 * - 409: the endpoint's own error, `{ "error_summary": "path/insufficient_space/..", "error":
 *   { ".tag": "path", ... } }`. The summary is padded with a varying number of dots and
 *   is for humans; the tagged union in `error` is what counts;
 * - 429: RateLimitError as JSON (`reason`: `too_many_requests` or
 *   `too_many_write_operations`, `retry_after` seconds) or plain text, with Retry-After
 *   (https://www.dropbox.com/developers/reference/data-ingress-guide);
 * - 5xx: Dropbox's side; retry.
 *
 * Three answers are not failures of the upload but steps of the protocol, and the upload
 * code acts on them: `incorrect_offset` (continue where Dropbox says), a session that is
 * gone (start a new one), and a rejected token (refresh it once, for auth_secret).
 */

export type DropboxEndpoint = 'files/upload' | 'files/upload_session/start' | 'files/upload_session/append_v2' | 'files/upload_session/finish';

export type DropboxFailure =
  /** The session holds `correctOffset` bytes, not what the cursor said (an earlier answer was lost). */
  | { kind: 'incorrect_offset'; correctOffset: number }
  /** The session expired (7 days), was finished already (a finish whose answer was lost) or closed. */
  | { kind: 'session_gone'; reason: string }
  /** 401 for the token itself (expired, revoked, unknown): an auth_secret gets one refresh. */
  | { kind: 'token_rejected'; reason: string }
  | { kind: 'error'; error: FleetError };

export interface FailedCall {
  endpoint: DropboxEndpoint;
  /** The Dropbox path the upload writes, for messages. */
  path: string;
  /** The file's size, for messages. */
  size: number;
  /** The upload's signal fired: whatever the error says, the upload was aborted. */
  aborted: boolean;
}

const destination = 'dropbox';

/**
 * The shared classifier's order (abort, a FleetError from underneath, the answer, the
 * transport), spelled out here because an answer may be a step of the protocol rather
 * than a FleetError.
 */
export function classifyDropboxFailure(error: unknown, call: FailedCall): DropboxFailure {
  const taxonomy = transportTaxonomy(call);
  const settled = abortedError(error, taxonomy) ?? fleetErrorIn(error);
  if (settled) return failed(settled);
  if (error instanceof DropboxResponseError) return classifyAnswer(error.status, error.headers as unknown, error.error as unknown, call);
  return failed(transportFailure(error, taxonomy) ?? unknownFailure(error, taxonomy));
}

/** The FleetError for a token Dropbox rejected that cannot (or can no longer) be refreshed. */
export function reconnectError(reason: string, credential: 'oauth_token' | 'auth_secret'): FleetError {
  const message =
    credential === 'oauth_token'
      ? `Dropbox rejected the oauth_token (${reason}): get a new token through Dropbox's OAuth flow`
      : `Dropbox rejected the access token of this auth_secret (${reason}) even after a refresh: connect the Dropbox account again`;
  return new FleetError('UF_RECONNECT_REQUIRED', message, { destination, status: 401 });
}

function classifyAnswer(status: number, headers: unknown, body: unknown, call: FailedCall): DropboxFailure {
  const retryAfterMs = parseRetryAfter(headerOf(headers, 'retry-after'));
  const withRetry = retryAfterMs !== undefined ? { retryAfterMs } : {};
  const error = errorObjectOf(body);
  const tags = tagsOf(error);
  const what = `Dropbox ${call.endpoint}`;

  if (status === 401) {
    const tag = tags[0] ?? 'unauthorized';
    if (tag === 'missing_scope') {
      const scope = stringField(error, 'required_scope');
      return failed(
        new FleetError('UF_PERMISSION_DENIED', `The Dropbox token lacks the permission (scope) ${scope ?? 'files.content.write'}: connect the app with that scope`, {
          destination,
          status,
        }),
      );
    }
    if (tag === 'user_suspended') return failed(new FleetError('UF_PERMISSION_DENIED', 'Dropbox says this user is suspended', { destination, status }));
    if (tag === 'route_access_denied') return failed(new FleetError('UF_PERMISSION_DENIED', `Dropbox denies this app access to ${call.endpoint}`, { destination, status }));
    if (tag === 'invalid_select_user' || tag === 'invalid_select_admin') {
      return failed(new FleetError('UF_CREDENTIALS_INVALID', `Dropbox refused the token (${tag})`, { destination, status }));
    }
    // expired_access_token, invalid_access_token, other: the token itself is no good.
    return { kind: 'token_rejected', reason: tag };
  }

  if (status === 429) {
    // A plain-text 429 counts as too_many_requests (data ingress guide).
    const reason = tagOf(fieldOf(error, 'reason')) ?? 'too_many_requests';
    const retryAfter = retryAfterMs ?? secondsToMs(fieldOf(error, 'retry_after'));
    return failed(
      new FleetError('UF_RATE_LIMITED', `${what} answered 429 (${reason})${reason === 'too_many_write_operations' ? ': other writes to this Dropbox account are in progress' : ''}`, {
        destination,
        status,
        ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
      }),
    );
  }

  if (status === 409) return classifyEndpointError(error, tags, call, { status, ...withRetry }, userMessageOf(body));

  if (status === 400) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return failed(new FleetError('UF_DESTINATION_REJECTED', `${what} refused the request as malformed (400): ${redact(text).slice(0, 300)}`, { destination, status }));
  }
  if (status === 403) {
    return failed(new FleetError('UF_PERMISSION_DENIED', `${what} answered 403 (${tags.join('/') || 'access denied'})`, { destination, status }));
  }
  return failed(errorForHttpStatus(status, what, { destination, ...withRetry }));
}

/** 409: the endpoint's own error, by its tags ("lookup_failed/incorrect_offset", "path/insufficient_space", ...). */
function classifyEndpointError(
  error: unknown,
  tags: string[],
  call: FailedCall,
  options: { status: number; retryAfterMs?: number },
  userMessage: string | undefined,
): DropboxFailure {
  const summary = tags.join('/') || 'unknown';
  const leaf = leafOf(error);
  const has = (tag: string) => tags.includes(tag);
  const make = (code: ErrorCode, message: string, extra: { retryAfterMs?: number } = {}) =>
    failed(new FleetError(code, `${message}${userMessage ? ` Dropbox says: "${userMessage}"` : ''} (${summary})`, { destination, ...options, ...extra }));

  if (has('incorrect_offset')) {
    const correct = fieldOf(leaf, 'correct_offset');
    if (typeof correct === 'number' && Number.isSafeInteger(correct) && correct >= 0) return { kind: 'incorrect_offset', correctOffset: correct };
    return make('UF_DESTINATION_UNAVAILABLE', 'Dropbox reported an incorrect offset without the correct one');
  }
  const sessionLookup = call.endpoint === 'files/upload_session/finish' ? (tags[0] === 'lookup_failed' ? tags[1] : undefined) : tags[0];
  if (call.endpoint !== 'files/upload' && (sessionLookup === 'not_found' || sessionLookup === 'closed')) {
    return { kind: 'session_gone', reason: summary };
  }

  if (has('too_many_write_operations')) {
    // Lock contention in the account (data ingress guide): retry shortly; RateLimitError's
    // retry_after defaults to 1 second.
    return make('UF_RATE_LIMITED', 'Dropbox is busy with other writes to this account', { retryAfterMs: options.retryAfterMs ?? 1000 });
  }
  if (has('insufficient_space') || has('team_folder_insufficient_space') || has('member_folder_insufficient_space')) {
    return make('UF_DESTINATION_REJECTED', `The Dropbox account does not have ${call.size} bytes of free space for ${call.path}: free up space in Dropbox or upgrade its plan, then retry`);
  }
  if (has('malformed_path')) return make('UF_DESTINATION_REJECTED', `Dropbox does not accept the path ${call.path}: fix the filename`);
  if (has('disallowed_name')) return make('UF_DESTINATION_REJECTED', `Dropbox does not allow the file name of ${call.path}: choose another filename`);
  if (has('conflict')) {
    const inTheWay = has('folder') ? 'a folder is at' : has('file_ancestor') ? 'a file is where a parent folder of' : 'another file is at';
    return make('UF_DESTINATION_REJECTED', `Dropbox cannot write ${call.path}: ${inTheWay} that path; choose another filename`);
  }
  if (has('no_write_permission') || has('access_restricted')) return make('UF_PERMISSION_DENIED', `The Dropbox account may not write to ${call.path}`);
  if (has('team_folder')) return make('UF_DESTINATION_REJECTED', `Dropbox does not allow writing ${call.path} there (team folder root)`);
  if (has('too_large')) return make('UF_FILE_TOO_LARGE', 'Dropbox does not accept a file this large (upload sessions end at 350 GB)');
  if (has('upload_traffic_limit_reached')) return make('UF_DESTINATION_REJECTED', 'The Dropbox account reached its upload traffic limit');
  if (has('content_hash_mismatch')) {
    // We hash the very bytes we send: Dropbox received different ones.
    return make('UF_NETWORK', 'The data Dropbox received does not match what was sent');
  }
  return make('UF_DESTINATION_REJECTED', `Dropbox refused the upload of ${call.path}`);
}

/**
 * fetch rejects with TypeError("fetch failed") and the reason in `cause`, often with
 * undici's codes: the shared classifier reads the whole chain. Messages never quote the request.
 */
function transportTaxonomy(call: FailedCall): FailureTaxonomy {
  return {
    destination,
    where: `Dropbox (${call.path})`,
    activity: `calling ${call.endpoint}`,
    signal: { aborted: call.aborted },
    networkCodes: ['UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'],
    timeoutCodes: ['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'],
    tlsHint: 'check DROPBOX_API_BASE_URL / DROPBOX_CONTENT_BASE_URL and any proxy in between',
  };
}

// ---- reading Dropbox's answers ---------------------------------------------------

function failed(error: FleetError): DropboxFailure {
  return { kind: 'error', error };
}

/** The SDK hands over fetch's Headers; tests may give a plain object. */
function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const entry = Object.entries(headers as Record<string, unknown>).find(([key]) => key.toLowerCase() === name);
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

/** `error` of a JSON answer ({ error_summary, error }), or undefined for plain text. */
function errorObjectOf(body: unknown): unknown {
  return body !== null && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
}

function userMessageOf(body: unknown): string | undefined {
  const text = fieldOf(fieldOf(body, 'user_message'), 'text');
  return typeof text === 'string' ? text : undefined;
}

/**
 * The tags of a tagged union, outermost first. A union member's value sits under the
 * member's name ({ ".tag": "path", "path": { ".tag": ... } }), except when it is a struct,
 * whose fields sit beside the tag: files/upload's `path` is UploadWriteFailed, with the
 * WriteError in `reason`.
 */
function tagsOf(error: unknown): string[] {
  const tags: string[] = [];
  for (let node: unknown = error, depth = 0; node && depth < 8; depth += 1) {
    const tag = tagOf(node);
    if (!tag) break;
    tags.push(tag);
    node = nextOf(node, tag);
  }
  return tags;
}

function leafOf(error: unknown): unknown {
  let node: unknown = error;
  for (let depth = 0; depth < 8; depth += 1) {
    const tag = tagOf(node);
    const next = tag ? nextOf(node, tag) : undefined;
    if (!next) return node;
    node = next;
  }
  return node;
}

function nextOf(node: unknown, tag: string): unknown {
  const member = fieldOf(node, tag);
  if (tagOf(member)) return member;
  const reason = fieldOf(node, 'reason');
  return tagOf(reason) ? reason : undefined;
}

function tagOf(value: unknown): string | undefined {
  const tag = fieldOf(value, '.tag');
  return typeof tag === 'string' ? tag : undefined;
}

function fieldOf(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
}

function stringField(value: unknown, name: string): string | undefined {
  const field = fieldOf(value, name);
  return typeof field === 'string' ? field : undefined;
}

function secondsToMs(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
}

/** A 400 body may quote the request's headers: never let a token through. */
function redact(text: string): string {
  return text.replace(/Bearer\s+[^\s"']+/gi, 'Bearer [redacted]');
}
