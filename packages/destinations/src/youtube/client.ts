import got from 'got';
import type { NetworkGuard } from '@upload-fleet/core';
import type { AccessTokens } from './auth.js';
import { errorForFailure, isTokenRejection, type YouTubeAnswer, type YouTubeStep } from './errors.js';

/**
 * Every request to YouTube goes through `send`: the bearer token (renewed once after a
 * 401), the network guard's lookup, the abort signal, timeouts, and the classification of
 * failures without an answer. Answers come back whatever their status; the caller decides
 * what a 308 or a 404 means for its step, and errors.ts what the rest mean.
 *
 * Why got and not the googleapis client (`@googleapis/youtube`): its videos.insert sends
 * the video as one multipart request, not through a resumable session, so an interrupted
 * upload starts over and cannot continue on another worker; it ignores a custom rootUrl
 * for media uploads unless one is passed per call; and its HTTP layer takes no lookup
 * function for the network guard. playlistItems.insert is a single JSON POST, so it goes
 * through got too: one HTTP stack, one guard, one classification.
 */

/** Limits for reaching Google; the upload as a whole has none (the job's timeout aborts it through the signal). */
const CONNECT_TIMEOUT_MS = 30_000;
/** From the last byte of a request to the answer's headers. */
const RESPONSE_TIMEOUT_MS = 2 * 60_000;
/** No byte moving either way for this long: the connection is stuck, ask the session where it stands. */
const IDLE_SOCKET_MS = 2 * 60_000;

export interface YouTubeRequest {
  step: YouTubeStep;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export class YouTubeClient {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly network: NetworkGuard,
    private readonly signal: AbortSignal,
  ) {}

  /** Sends with the current token; after a 401, once more with a renewed one (auth_secret only). */
  async send(request: YouTubeRequest): Promise<YouTubeAnswer> {
    const token = await this.tokens.current();
    const answer = await this.once(request, token);
    if (!isTokenRejection(answer)) return answer;
    // Nothing of a refused request is kept by YouTube (a chunk included): sending it again is safe.
    const renewed = await this.tokens.renew(token);
    const again = await this.once(request, renewed);
    if (isTokenRejection(again)) throw this.tokens.rejectedAfterRenewal();
    return again;
  }

  private async once(request: YouTubeRequest, token: string): Promise<YouTubeAnswer> {
    try {
      const response = await got(request.url, {
        method: request.method,
        headers: { ...request.headers, authorization: `Bearer ${token}` },
        body: request.body,
        responseType: 'text',
        dnsLookup: this.network.lookup,
        signal: this.signal,
        // 308 is the protocol's "go on", not a redirect; every status comes back as an answer.
        followRedirect: false,
        throwHttpErrors: false,
        // The chunk loop and BullMQ retry with knowledge of the session; got retrying inside would hide that.
        retry: { limit: 0 },
        timeout: { lookup: CONNECT_TIMEOUT_MS, connect: CONNECT_TIMEOUT_MS, secureConnect: CONNECT_TIMEOUT_MS, response: RESPONSE_TIMEOUT_MS, socket: IDLE_SOCKET_MS },
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw errorForFailure(error, request.step, this.signal);
    }
  }
}
