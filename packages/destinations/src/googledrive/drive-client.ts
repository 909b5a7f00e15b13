import type { NetworkGuard } from '@upload-fleet/core';
import type { CredentialProvider } from '../adapter.js';
import { GoogleApiClient } from '../google/api-client.js';
import { userTokensFor } from '../google/user-tokens.js';
import type { GoogleDriveDestination } from './definition.js';
import { errorForFailure, type DriveStep } from './errors.js';

/**
 * The client for every Drive request of one upload: the destination's token (an
 * auth_secret's renewed once after a 401, through the fleet's CredentialProvider), the
 * network guard, the abort signal, and Drive's classification of failures.
 */
export function driveClient(destination: GoogleDriveDestination, credentials: CredentialProvider, network: NetworkGuard, signal: AbortSignal): GoogleApiClient<DriveStep> {
  const tokens = userTokensFor(destination, credentials, { destination: 'googledrive', label: 'Google Drive' });
  return new GoogleApiClient<DriveStep>({ tokens, network, signal, errorForFailure, rejectedAfterRenewal: () => tokens.rejectedAfterRenewal() });
}
