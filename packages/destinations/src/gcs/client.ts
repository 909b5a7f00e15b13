import type { NetworkGuard } from '@upload-fleet/core';
import { GoogleApiClient } from '../google/api-client.js';
import type { ServiceAccountTokens } from './access-token.js';
import { errorForFailure, type GcsStep } from './errors.js';

/**
 * Every request to Cloud Storage goes through the shared Google API client
 * (../google/api-client.ts): the service account's bearer token (renewed once after a 401;
 * a second 401 comes back as an answer, which errors.ts reads as a revoked key), the
 * network guard's lookup, the abort signal, timeouts, and Cloud Storage's classification of
 * failures without an answer.
 *
 * Why not @google-cloud/storage: its resumable upload keeps the session and the running
 * CRC32C inside its own stream, offers no way to continue a session in another process
 * from a saved offset with the bytes before it skipped, retries inside (hiding failures
 * from the fleet's retry policy), and its HTTP layer takes no lookup function for the
 * network guard. The protocol is the one YouTube already speaks (google/resumable-session.ts).
 */
export type GcsClient = GoogleApiClient<GcsStep>;

export function gcsClient(tokens: ServiceAccountTokens, network: NetworkGuard, signal: AbortSignal): GcsClient {
  return new GoogleApiClient<GcsStep>({ tokens, network, signal, errorForFailure });
}
