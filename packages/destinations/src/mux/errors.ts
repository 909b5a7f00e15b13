import type { IncomingHttpHeaders } from 'node:http';
import { FleetError, parseRetryAfter } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';

/**
 * What Mux's answers and failed requests mean, in the shared taxonomy. Nothing else in the
 * folder decides between permanent, transient and rate-limited.
 *
 * Mux answers API errors as `{ "error": { "type": "invalid_parameters", "messages": [...] } }`
 * with the HTTP status saying the kind (https://www.mux.com/docs/core/make-api-requests).
 * The upload URL is a Google Cloud Storage session and answers in GCS's way (a status and
 * a short text); its expiry (404, 410) is not an error here but "create a new upload",
 * which direct-upload.ts handles before anything reaches this file.
 * Messages never contain the token or the upload URL (it is signed: a credential).
 */

export type MuxStep = 'create' | 'chunk' | 'status' | 'get-upload' | 'get-asset';

export interface MuxAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Mux documents 429 but no Retry-After for it; its limit is a sustained request per second
 * for POSTs with short bursts, so a few seconds let the bucket refill.
 */
export const RATE_LIMIT_RETRY_MS = 5_000;

const STEP_TEXT: Record<MuxStep, string> = {
  create: 'to create the direct upload',
  chunk: 'a part of the video',
  status: 'the upload status query',
  'get-upload': 'to read the direct upload',
  'get-asset': 'to read the asset',
};

export function muxErrorOf(body: string): { type?: string; messages?: string[] } | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return parsed && typeof parsed.error === 'object' && parsed.error !== null ? (parsed.error as { type?: string; messages?: string[] }) : undefined;
  } catch {
    return undefined;
  }
}

/** Why a non-2xx answer (and, on the upload URL, non-308) failed the step. */
export function errorForAnswer(answer: MuxAnswer, step: MuxStep): FleetError {
  const mux = muxErrorOf(answer.body);
  const said = platformSaid(mux);
  const refused = `Mux refused ${STEP_TEXT[step]}`;
  const status = answer.status;
  const options = { destination: 'mux', status };
  const retryAfterMs = parseRetryAfter(headerOf(answer.headers['retry-after']));

  if (status === 429) {
    return new FleetError('UF_RATE_LIMITED', `${refused}: too many requests for this Mux account${said}. Mux allows about one POST a second per account`, {
      ...options,
      retryAfterMs: retryAfterMs ?? RATE_LIMIT_RETRY_MS,
    });
  }
  if (status === 401) {
    // Mux access tokens do not expire: a 401 is a wrong, revoked or other-environment token.
    return new FleetError('UF_CREDENTIALS_INVALID', `${refused}: the access token was not accepted${said}. Check token_id and token_secret (a token works only in the Mux environment it was created in), or create a new token`, options);
  }
  if (status === 403) {
    return new FleetError('UF_PERMISSION_DENIED', `${refused}: the access token may not do this${said}. Give the token Mux Video "Read" and "Write" permissions`, options);
  }
  if (status === 400 || status === 422) {
    // invalid_parameters: Mux's messages name the parameter.
    return new FleetError('UF_DESTINATION_REJECTED', `${refused}: invalid parameters${said || ` (${status})`}`, options);
  }
  if (status === 404) {
    return new FleetError('UF_DESTINATION_NOT_FOUND', `${refused}: not found${said}`, options);
  }
  const answered = `Mux answered ${status} to the ${stepName(step)}${said}`;
  if (status >= 500) return new FleetError('UF_DESTINATION_UNAVAILABLE', answered, { ...options, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  if (status === 408) return new FleetError('UF_TIMEOUT', answered, options);
  if (status === 413) return new FleetError('UF_FILE_TOO_LARGE', answered, options);
  return new FleetError('UF_DESTINATION_REJECTED', answered, options);
}

/** Why a request failed without an answer. got's own messages are never reused: they hold the signed upload URL. */
export function errorForFailure(error: unknown, step: MuxStep, signal: AbortSignal): FleetError {
  return classifyFailure(error, {
    destination: 'mux',
    where: `Mux (${stepName(step)})`,
    signal,
    networkCodes: ['ERR_HTTP_CONTENT_LENGTH_MISMATCH'],
    tlsHint: 'check MUX_API_BASE_URL and any proxy in between',
  });
}

/** The codes a chunk loop may recover from by asking the session where it stands. */
export function isInterruption(error: FleetError): boolean {
  return error.code === 'UF_NETWORK' || error.code === 'UF_TIMEOUT' || error.code === 'UF_DESTINATION_UNAVAILABLE';
}

function stepName(step: MuxStep): string {
  return { create: 'create-upload request', chunk: 'chunk upload', status: 'upload status query', 'get-upload': 'upload read', 'get-asset': 'asset read' }[step];
}

/** `: "<Mux's messages>" (<type>)`, or '' without a Mux error body; at most 300 characters. */
function platformSaid(mux: { type?: string; messages?: string[] } | undefined): string {
  if (!mux) return '';
  const text = (Array.isArray(mux.messages) ? mux.messages.filter((m) => typeof m === 'string') : []).join('; ').replace(/\s+/g, ' ').trim();
  const clipped = text.length > 300 ? `${text.slice(0, 297)}...` : text;
  const type = typeof mux.type === 'string' ? ` (${mux.type})` : '';
  return clipped ? `: "${clipped}"${type}` : type;
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
