import got from 'got';
import type { NetworkGuard } from '@upload-fleet/core';
import type { SessionAnswer } from '../google/resumable-session.js';
import type { ServiceAccountTokens } from './access-token.js';
import { errorForFailure, type GcsStep } from './errors.js';

/**
 * Every request to Cloud Storage goes through `send`: the service account's bearer token
 * (renewed once after a 401), the network guard's lookup, the abort signal, timeouts, and
 * the classification of failures without an answer. Answers come back whatever their
 * status; the caller decides what a 308 or a 404 means for its step.
 *
 * Why not @google-cloud/storage: its resumable upload keeps the session and the running
 * CRC32C inside its own stream, offers no way to continue a session in another process
 * from a saved offset with the bytes before it skipped, retries inside (hiding failures
 * from the fleet's retry policy), and its HTTP layer takes no lookup function for the
 * network guard. The protocol is the one YouTube already speaks (google/resumable-session.ts).
 */

/** Limits for reaching Google; the upload as a whole has none (the job's timeout aborts it through the signal). */
const CONNECT_TIMEOUT_MS = 30_000;
/** From the last byte of a request to the answer's headers. */
const RESPONSE_TIMEOUT_MS = 2 * 60_000;
/** No byte moving either way for this long: the connection is stuck, ask the session where it stands. */
const IDLE_SOCKET_MS = 2 * 60_000;

export interface GcsRequest {
  step: GcsStep;
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: Buffer | string;
}

export class GcsClient {
  constructor(
    private readonly tokens: ServiceAccountTokens,
    private readonly network: NetworkGuard,
    private readonly signal: AbortSignal,
  ) {}

  /** Sends with the current token; after a 401, once more with a newly issued one. */
  async send(request: GcsRequest): Promise<SessionAnswer> {
    const token = await this.tokens.current();
    const answer = await this.once(request, token);
    if (answer.status !== 401) return answer;
    // Cloud Storage keeps nothing of a refused request (a chunk included): sending it again is safe.
    return this.once(request, await this.tokens.renew(token));
  }

  private async once(request: GcsRequest, token: string): Promise<SessionAnswer> {
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
