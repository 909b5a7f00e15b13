import type { NetworkGuard } from '@upload-fleet/core';
import { BearerClient } from '../platform-request.js';
import type { AccessTokens } from './auth.js';
import { errorForFailure, isTokenRejection, type YouTubeStep } from './errors.js';

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
 * the same way: one HTTP stack (platform-request.ts), one guard, one classification.
 */

export interface YouTubeRequest {
  step: YouTubeStep;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** YouTube with the destination's token; after a 401, once more with a renewed one (auth_secret only). */
export class YouTubeClient extends BearerClient<YouTubeStep> {
  constructor(tokens: AccessTokens, network: NetworkGuard, signal: AbortSignal) {
    super(tokens, network, signal, { errorForFailure, isTokenRejection });
  }
}
