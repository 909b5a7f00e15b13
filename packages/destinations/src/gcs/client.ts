import type { NetworkGuard } from '@upload-fleet/core';
import { BearerClient } from '../platform-request.js';
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

export interface GcsRequest {
  step: GcsStep;
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body: Buffer | string;
}

/** Cloud Storage with the service account's token; after a 401, once more with a newly issued one. */
export class GcsClient extends BearerClient<GcsStep> {
  constructor(tokens: ServiceAccountTokens, network: NetworkGuard, signal: AbortSignal) {
    super(tokens, network, signal, { errorForFailure, isTokenRejection: (answer) => answer.status === 401 });
  }
}
