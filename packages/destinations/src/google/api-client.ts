import type { FleetError, NetworkGuard } from '@upload-fleet/core';
import { sendPlatformRequest, sendWithBearer, type BearerTokens, type PlatformAnswer } from '../platform-request.js';
import type { SessionAnswer } from './resumable-session.js';

/**
 * Every request to a Google API (Drive, Cloud Storage) goes through `send`: the bearer
 * token (renewed once after a 401), and platform-request.ts's guarded, timed request with
 * the classification of failures without an answer (each destination's own, so messages
 * name it). Answers come back whatever their status: the caller decides what a 308 or a 404
 * means for its step, and its errors.ts what the rest mean.
 *
 * Why not Google's client libraries (googleapis, @google-cloud/storage): they send uploads
 * as one multipart request or keep the resumable session inside their own stream, so an
 * interrupted upload cannot continue on another worker from a saved offset; they retry
 * inside, hiding failures from the fleet's retry policy; and their HTTP layer takes no
 * lookup function for the network guard.
 */

export type { BearerTokens } from '../platform-request.js';

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

  /** Sends with the current token; after a 401, once more with a renewed one. Google keeps nothing of a refused request, a chunk included. */
  send(request: GoogleRequest<Step>): Promise<SessionAnswer> {
    const { tokens, network, signal, errorForFailure, rejectedAfterRenewal, isTokenRejection = (answer: PlatformAnswer) => answer.status === 401 } = this.options;
    return sendWithBearer(
      { current: () => tokens.current(), renew: (rejected) => tokens.renew(rejected), ...(rejectedAfterRenewal ? { rejectedAfterRenewal } : {}) },
      (token) =>
        sendPlatformRequest(
          { method: request.method, url: request.url, headers: { ...request.headers, authorization: `Bearer ${token}` }, body: request.body },
          { network, signal, errorForFailure: (error) => errorForFailure(error, request.step, signal) },
        ),
      isTokenRejection,
    );
  }
}
