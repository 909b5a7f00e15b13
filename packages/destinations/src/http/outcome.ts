import type { IncomingHttpHeaders } from 'node:http';
import { FleetError, errorForHttpStatus, parseRetryAfter, type UploadResult, CONNECTION_ERROR_CODES, TLS_CERTIFICATE_ERROR_CODE } from '@upload-fleet/core';

/**
 * What an answer or a failure of the HTTP destination means, in the shared taxonomy.
 * Messages name the host and the status only: the URL's query string, the headers and the
 * password are the caller's secrets, and error messages end up in job records and webhooks.
 */

/** The result of a 2xx answer. */
export function resultOf(
  target: URL,
  size: number,
  status: number,
  headers: IncomingHttpHeaders,
  body: { text: string; truncated: boolean },
): UploadResult {
  const { 'set-cookie': _cookies, ...visibleHeaders } = headers; // session cookies are credentials
  return {
    url: locationOf(target, headers.location) ?? withoutUserinfo(target),
    bytes: size,
    status,
    headers: visibleHeaders,
    body: body.text,
    ...(body.truncated ? { body_truncated: true } : {}),
  };
}

/** Why a non-2xx answer failed the upload. */
export function errorForAnswer(target: URL, status: number, headers: IncomingHttpHeaders): FleetError {
  const where = `The HTTP destination ${target.host}`;
  if (status >= 300 && status < 400) {
    // Following it would send the file (and the Authorization header) somewhere the
    // request did not name; a 301/302 would also turn the POST into a body-less GET.
    const location = locationOf(target, headers.location);
    const to = location ? ` to ${originAndPath(location)}` : '';
    return new FleetError('UF_DESTINATION_REJECTED', `${where} answered ${status}: the URL redirects${to}. Use the final URL as the destination url`, {
      destination: 'http',
      status,
    });
  }
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  return errorForHttpStatus(status, where, { destination: 'http', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}

/** Connection-level error codes that a later attempt may not meet. */
const NETWORK_CODES = new Set<string>([...CONNECTION_ERROR_CODES, 'ERR_HTTP_CONTENT_LENGTH_MISMATCH']);

/** Certificate problems: the destination's setup is wrong, retrying will not fix it. */

/**
 * Why a request failed without an answer. got's own messages are never reused: they
 * contain the full URL, query string included.
 */
export function errorForFailure(error: unknown, target: URL, signal: AbortSignal): FleetError {
  const where = `the HTTP destination ${target.host}`;
  if (signal.aborted) {
    return new FleetError('UF_ABORTED', `The upload to ${where} was aborted`, { destination: 'http', cause: error });
  }
  // Errors of the taxonomy raised underneath (the network guard refusing the address at
  // connect time, the source failing mid-read) arrive wrapped by got: pass them on as is.
  const fleetError = fleetErrorIn(error);
  if (fleetError) return fleetError;

  const code = String((error as { code?: unknown } | undefined)?.code ?? '');
  const name = (error as { name?: unknown } | undefined)?.name;
  const options = { destination: 'http', cause: error };
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    const phase = (error as { event?: unknown }).event;
    return new FleetError('UF_TIMEOUT', `${capitalize(where)} did not answer in time${typeof phase === 'string' ? ` (${phase} timeout)` : ''}`, options);
  }
  if (NETWORK_CODES.has(code)) {
    return new FleetError('UF_NETWORK', `The connection to ${where} failed (${code})`, options);
  }
  if (TLS_CERTIFICATE_ERROR_CODE.test(code)) {
    return new FleetError('UF_DESTINATION_REJECTED', `The TLS certificate of ${where} is not valid (${code})`, options);
  }
  return new FleetError('UF_UNKNOWN', `The upload to ${where} failed (${code || 'no error code'})`, options);
}

function fleetErrorIn(error: unknown): FleetError | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    if (e instanceof FleetError) return e;
  }
  return undefined;
}

function locationOf(target: URL, location: string | undefined): string | undefined {
  if (!location) return undefined;
  try {
    return withoutUserinfo(new URL(location, target));
  } catch {
    return undefined;
  }
}

function withoutUserinfo(url: URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  return copy.toString();
}

function originAndPath(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
