import type { IncomingHttpHeaders } from 'node:http';
import { FleetError, errorForHttpStatus, parseRetryAfter, type ErrorCode } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';

/**
 * What a WebDAV server's answer or a failed request means, in the shared taxonomy. The
 * statuses are RFC 4918's (section 11 and each method's "Status Codes") as Apache mod_dav
 * sends them; messages name the host, the path and the step, never credentials or headers.
 */

/** What the upload was doing: each step reads some statuses its own way. */
export type WebdavStep =
  | { kind: 'open'; path: string }
  | { kind: 'mkcol'; path: string }
  | { kind: 'check'; path: string }
  | { kind: 'upload'; path: string }
  | { kind: 'move'; path: string; overwrite: boolean }
  | { kind: 'delete'; path: string };

export function stepText(step: WebdavStep): string {
  switch (step.kind) {
    case 'open':
      return `open the collection ${step.path}`;
    case 'mkcol':
      return `create the collection ${step.path}`;
    case 'check':
      return `look at ${step.path}`;
    case 'upload':
      return `upload ${step.path}`;
    case 'move':
      return `move the upload onto ${step.path}`;
    case 'delete':
      return `delete ${step.path}`;
  }
}

/**
 * The error for a status the step cannot go on with. `authenticated`: whether credentials
 * were sent (a 401 without them means the server wants a login that was not given).
 */
export function errorForAnswer(status: number, headers: IncomingHttpHeaders, step: WebdavStep, host: string, authenticated: boolean): FleetError {
  const where = `The WebDAV server ${host}`;
  const options = { destination: 'webdav', status };
  const fail = (code: ErrorCode, meaning: string, extra: { retryAfterMs?: number } = {}) =>
    new FleetError(code, `${where} answered ${status} to the request to ${stepText(step)}: ${meaning}`, { ...options, ...extra });
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const retry = retryAfterMs === undefined ? {} : { retryAfterMs };

  if (status >= 300 && status < 400) {
    return fail('UF_DESTINATION_REJECTED', 'it redirects elsewhere (the file and the credentials are not sent after a redirect); use the final URL as the destination url');
  }
  switch (status) {
    case 401:
      return authenticated
        ? fail('UF_CREDENTIALS_INVALID', 'the user name or password is not accepted')
        : fail('UF_CREDENTIALS_INVALID', 'the server asks for a login; give user and password (or an Authorization header)');
    case 403:
      return fail('UF_PERMISSION_DENIED', 'this account may not write there (a read-only collection, or a name the server refuses)');
    case 404:
      return fail('UF_DESTINATION_NOT_FOUND', step.kind === 'open' ? 'the collection url does not exist; create it first, or correct url' : 'the collection does not exist');
    case 405:
      return fail('UF_DESTINATION_REJECTED', 'the server does not allow this method there; check that url is a WebDAV collection');
    case 409:
      // RFC 4918 section 9.7.1 (PUT) and 9.3.1 (MKCOL): the parent collection is missing.
      return fail('UF_DESTINATION_NOT_FOUND', 'a parent collection is missing (or a file has the name a collection needs)');
    case 412:
      return step.kind === 'move' && !step.overwrite
        ? fail('UF_DESTINATION_REJECTED', `${step.path} exists already and overwrite is false; set overwrite to true to replace it, or choose another filename`)
        : fail('UF_DESTINATION_REJECTED', 'a precondition of the request failed');
    case 413:
      return fail('UF_FILE_TOO_LARGE', 'the file is larger than the server accepts');
    case 414:
      return fail('UF_DESTINATION_REJECTED', 'the path is longer than the server accepts; choose a shorter filename');
    case 415:
      return fail('UF_DESTINATION_REJECTED', 'the server refuses the request\'s content type');
    case 423:
      // Another client holds a WebDAV lock (RFC 4918 section 6). Locks end by themselves
      // (their Timeout) or when their holder unlocks: retried with backoff.
      return fail('UF_DESTINATION_UNAVAILABLE', 'the file or collection is locked by another WebDAV client', { retryAfterMs: Math.max(retryAfterMs ?? 0, LOCKED_RETRY_FLOOR_MS) });
    case 507:
      // RFC 4918 section 11.5: the server cannot store the representation. A quota or a
      // full disk is someone's to free; retrying the same bytes does not help.
      return fail('UF_FILE_TOO_LARGE', 'the server has no storage space left for the file (507 Insufficient Storage); free space or raise the account\'s quota');
  }
  const generic = errorForHttpStatus(status, where, { ...options, ...retry });
  return new FleetError(generic.code, `${where} answered ${status} to the request to ${stepText(step)}`, { ...options, ...retry });
}

/** A locked resource is retried no sooner than this: WebDAV clients hold locks for minutes. */
export const LOCKED_RETRY_FLOOR_MS = 30_000;

/** Why a request failed without an answer (got's own messages hold the full URL: never reused). */
export function errorForFailure(error: unknown, step: WebdavStep, host: string, signal: AbortSignal): FleetError {
  return classifyFailure(error, {
    destination: 'webdav',
    where: `the WebDAV server ${host}`,
    activity: `trying to ${stepText(step)}`,
    signal,
    abortNote: '; the next attempt continues from what the server holds',
    networkCodes: ['ERR_HTTP_CONTENT_LENGTH_MISMATCH'],
  });
}
