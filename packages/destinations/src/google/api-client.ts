import got from 'got';
import type { FleetError, NetworkGuard } from '@upload-fleet/core';
import type { SessionAnswer } from './resumable-session.js';

/**
 * Every request to a Google API (Drive, Cloud Storage) goes through `send`: the bearer
 * token (renewed once after a 401), the network guard's lookup, the abort signal,
 * timeouts, and the classification of failures without an answer (each destination's
 * own, so messages name it). Answers come back whatever their status: the caller decides
 * what a 308 or a 404 means for its step, and its errors.ts what the rest mean.
 *
 * Why got and not Google's client libraries (googleapis, @google-cloud/storage): they send
 * uploads as one multipart request or keep the resumable session inside their own stream,
 * so an interrupted upload cannot continue on another worker from a saved offset; they
 * retry inside, hiding failures from the fleet's retry policy; and their HTTP layer takes
 * no lookup function for the network guard.
 */

/** Limits for reaching Google; the upload as a whole has none (the job's timeout aborts it through the signal). */
const CONNECT_TIMEOUT_MS = 30_000;
/** From the last byte of a request to the answer's headers. */
const RESPONSE_TIMEOUT_MS = 2 * 60_000;
/** No byte moving either way for this long: the connection is stuck, ask the session where it stands. */
const IDLE_SOCKET_MS = 2 * 60_000;

/** Bearer tokens of one upload. */
export interface BearerTokens {
  /** The token to send now. */
  current(): Promise<string>;
  /** A token to replace `rejected` after the API answered 401; throws a FleetError when there is none. */
  renew(rejected: string): Promise<string>;
}

export interface GoogleRequest<Step extends string> {
  step: Step;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface GoogleApiClientOptions<Step extends string> {
  tokens: BearerTokens;
  network: NetworkGuard;
  signal: AbortSignal;
  /** Why a request failed without an answer (never got's message: it holds the URL, and a session URI is a credential). */
  errorForFailure(error: unknown, step: Step, signal: AbortSignal): FleetError;
  /** Whether a 401 is about the token (worth a renewed one); default: every 401. */
  isTokenRejection?(answer: SessionAnswer): boolean;
  /** The error when the renewed token is refused too; without it the second answer is returned. */
  rejectedAfterRenewal?(): FleetError;
}

export class GoogleApiClient<Step extends string> {
  constructor(private readonly options: GoogleApiClientOptions<Step>) {}

  /** Sends with the current token; after a 401, once more with a renewed one. */
  async send(request: GoogleRequest<Step>): Promise<SessionAnswer> {
    const { tokens, isTokenRejection = (answer) => answer.status === 401, rejectedAfterRenewal } = this.options;
    const token = await tokens.current();
    const answer = await this.once(request, token);
    if (!isTokenRejection(answer)) return answer;
    // Google keeps nothing of a refused request (a chunk included): sending it again is safe.
    const again = await this.once(request, await tokens.renew(token));
    if (rejectedAfterRenewal && isTokenRejection(again)) throw rejectedAfterRenewal();
    return again;
  }

  private async once(request: GoogleRequest<Step>, token: string): Promise<SessionAnswer> {
    const { network, signal, errorForFailure } = this.options;
    try {
      const response = await got(request.url, {
        method: request.method,
        headers: { ...request.headers, authorization: `Bearer ${token}` },
        body: request.body,
        responseType: 'text',
        dnsLookup: network.lookup,
        signal,
        // 308 is the protocol's "go on", not a redirect; every status comes back as an answer.
        followRedirect: false,
        throwHttpErrors: false,
        // The chunk loop and BullMQ retry with knowledge of the session; got retrying inside would hide that.
        retry: { limit: 0 },
        timeout: { lookup: CONNECT_TIMEOUT_MS, connect: CONNECT_TIMEOUT_MS, secureConnect: CONNECT_TIMEOUT_MS, response: RESPONSE_TIMEOUT_MS, socket: IDLE_SOCKET_MS },
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw errorForFailure(error, request.step, signal);
    }
  }
}
