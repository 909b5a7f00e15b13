import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import got from 'got';
import type { FleetError, NetworkGuard } from '@upload-fleet/core';

/**
 * One HTTP request to a platform's API or upload endpoint, the way every platform adapter
 * (YouTube, Cloud Storage, Mux, Vimeo, ...) sends it: through the network guard's lookup,
 * under the job's abort signal, with connect/response/idle timeouts, and with every status
 * coming back as an answer for the caller to read (a 308 is a resumable protocol's "go on",
 * a 404 may be "the session expired"). Only failures without an answer (a reset, a
 * timeout, TLS) throw, classified by the platform's own `errorForFailure`.
 *
 * got does not retry here: the chunk loops and BullMQ retry knowing the session or offset,
 * and got retrying inside would hide that.
 */

/** Limits for reaching the platform; the upload as a whole has none (the job's timeout aborts it through the signal). */
const CONNECT_TIMEOUT_MS = 30_000;
/** From the last byte of a request to the answer's headers. */
const RESPONSE_TIMEOUT_MS = 2 * 60_000;
/** No byte moving either way for this long: the connection is stuck. */
const IDLE_SOCKET_MS = 2 * 60_000;

/** An HTTP answer, whatever its status. */
export interface PlatformAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface PlatformRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'HEAD' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  /** Bytes of a streamed body sent so far. */
  onUploadProgress?: (transferred: number) => void;
}

export interface RequestContext {
  network: NetworkGuard;
  signal: AbortSignal;
  /** A failure without an answer, in the platform's words (errors.ts of the destination). */
  errorForFailure(error: unknown): FleetError;
}

export async function sendPlatformRequest(request: PlatformRequest, context: RequestContext): Promise<PlatformAnswer> {
  try {
    const call = got(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      responseType: 'text',
      dnsLookup: context.network.lookup,
      signal: context.signal,
      followRedirect: false,
      throwHttpErrors: false,
      retry: { limit: 0 },
      timeout: { lookup: CONNECT_TIMEOUT_MS, connect: CONNECT_TIMEOUT_MS, secureConnect: CONNECT_TIMEOUT_MS, response: RESPONSE_TIMEOUT_MS, socket: IDLE_SOCKET_MS },
    });
    const onProgress = request.onUploadProgress;
    if (onProgress) call.on('uploadProgress', (progress: { transferred: number }) => onProgress(progress.transferred));
    const response = await call;
    return { status: response.statusCode, headers: response.headers, body: response.body };
  } catch (error) {
    throw context.errorForFailure(error);
  }
}

/** Where a bearer token comes from: an inline token, a service account, or the fleet's connected account. */
export interface BearerTokens {
  current(): Promise<string>;
  /** A token other than `rejected`; throws when none can be had (an inline token: reconnect). */
  renew(rejected: string): Promise<string>;
  /**
   * The platform refused even the renewed token: the grant is gone. Absent: the second
   * refusal goes back to the caller, whose errors.ts says what it means.
   */
  rejectedAfterRenewal?(): FleetError;
}

/**
 * Sends with the current token; when the platform refuses it (`isTokenRejection`, a 401 in
 * the platform's words), once more with a renewed one, and a second refusal is
 * `rejectedAfterRenewal`. Sending again is safe: none of these platforms keeps anything of a
 * request it refused for its token, a chunk included.
 */
export async function sendWithBearer(
  tokens: BearerTokens,
  send: (token: string) => Promise<PlatformAnswer>,
  isTokenRejection: (answer: PlatformAnswer) => boolean,
): Promise<PlatformAnswer> {
  const token = await tokens.current();
  const answer = await send(token);
  if (!isTokenRejection(answer)) return answer;
  const again = await send(await tokens.renew(token));
  if (isTokenRejection(again) && tokens.rejectedAfterRenewal) throw tokens.rejectedAfterRenewal();
  return again;
}

/** What a platform's errors.ts tells a BearerClient. */
export interface BearerPlatform<Step extends string> {
  errorForFailure(error: unknown, step: Step, signal: AbortSignal): FleetError;
  /** The platform refused the token (a 401, in its words). */
  isTokenRejection(answer: PlatformAnswer): boolean;
}

/**
 * A platform API reached with `Authorization: Bearer <token>`: every request through
 * `sendPlatformRequest`, renewed once after a refusal (`sendWithBearer`). `step` names the
 * request in messages.
 */
export class BearerClient<Step extends string> {
  constructor(
    private readonly tokens: BearerTokens,
    private readonly network: NetworkGuard,
    private readonly signal: AbortSignal,
    private readonly platform: BearerPlatform<Step>,
  ) {}

  send(request: PlatformRequest & { step: Step }): Promise<PlatformAnswer> {
    const context: RequestContext = { network: this.network, signal: this.signal, errorForFailure: (error) => this.platform.errorForFailure(error, request.step, this.signal) };
    return sendWithBearer(
      this.tokens,
      (token) => sendPlatformRequest({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }, context),
      this.platform.isTokenRejection,
    );
  }
}
