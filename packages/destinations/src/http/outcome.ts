import type { IncomingHttpHeaders } from 'node:http';
import { FleetError, errorForHttpStatus, parseRetryAfter, type UploadResult } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';

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

/** How much of a refusing endpoint's answer body the failure carries. */
export const ANSWER_DETAILS_CHARS = 500;

/** Why a non-2xx answer failed the upload; a 4xx carries the start of the endpoint's answer as its details. */
export function errorForAnswer(target: URL, status: number, headers: IncomingHttpHeaders, body?: { text: string; truncated: boolean }): FleetError {
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
  // A 4xx is for the user to fix, and the endpoint's answer usually says what ("field
  // 'title' is required"); without it the status alone hides the reason.
  const details = status >= 400 && status < 500 && body ? answerExcerpt(body, target) : undefined;
  return errorForHttpStatus(status, where, { destination: 'http', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}), ...(details ? { details } : {}) });
}

/**
 * The first ANSWER_DETAILS_CHARS characters of an answer body, without what the request
 * carried that the endpoint may echo: the URL's userinfo and query values. (The worker
 * then scrubs every secret value of the job, headers and password included.)
 */
function answerExcerpt(body: { text: string; truncated: boolean }, target: URL): string | undefined {
  const text = body.text.trim();
  if (!text) return undefined;
  const requestSecrets = [target.password, target.username, ...target.searchParams.values(), target.search.slice(1)].filter((s) => s.length >= 3);
  let scrubbed = text;
  for (const secret of requestSecrets.sort((a, b) => b.length - a.length)) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) scrubbed = scrubbed.split(form).join('[REDACTED]');
  }
  const chars = [...scrubbed];
  return chars.length > ANSWER_DETAILS_CHARS || body.truncated ? `${chars.slice(0, ANSWER_DETAILS_CHARS).join('')}…` : scrubbed;
}

/**
 * Why a request failed without an answer. The client's own messages are never reused: they
 * can contain the full URL, query string included.
 */
export function errorForFailure(error: unknown, target: URL, signal: AbortSignal): FleetError {
  return classifyFailure(error, { destination: 'http', where: `the HTTP destination ${target.host}`, signal, networkCodes: ['ERR_HTTP_CONTENT_LENGTH_MISMATCH'] });
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
