import { FleetError } from '@upload-fleet/core';
import type { YouTubeDestination } from './definition.js';
import type { CredentialProvider } from '../adapter.js';

/**
 * The bearer token of an upload. Two ways in, as the spec says:
 * - `oauth_access_token`: a token of the user's, used as is. Nothing here can renew it, so
 *   when YouTube rejects it (401) the upload fails with UF_RECONNECT_REQUIRED.
 * - `auth_secret`: a credential the fleet holds (a refresh token from its connect flow).
 *   Tokens come from the CredentialProvider, which caches and refreshes them fleet-wide;
 *   after a 401 we ask it once for a fresh one, naming the token YouTube rejected.
 * When both are given, auth_secret is used: the fleet can renew it, and a long upload
 * outlives an access token (they last an hour).
 */
export interface AccessTokens {
  /** The token to send now. */
  current(): Promise<string>;
  /** A token to replace `rejected` after YouTube answered 401; throws when there is none. */
  renew(rejected: string): Promise<string>;
  /** The error for a renewed token that YouTube rejected as well. */
  rejectedAfterRenewal(): FleetError;
}

export function accessTokensFor(destination: YouTubeDestination, credentials: CredentialProvider): AccessTokens {
  const authSecret = destination.auth_secret;
  if (authSecret) {
    let token: string | undefined;
    return {
      // Once per attempt from the provider; every request of the attempt reuses it.
      current: async () => (token ??= await credentials.accessToken('google', authSecret, undefined, 'youtube')),
      renew: async (rejected) => (token = await credentials.accessToken('google', authSecret, rejected, 'youtube')),
      rejectedAfterRenewal: () =>
        new FleetError(
          'UF_RECONNECT_REQUIRED',
          'YouTube rejected the access token of this auth_secret even right after it was refreshed: the account withdrew the fleet\'s access. Connect the YouTube account again',
          { destination: 'youtube', status: 401 },
        ),
    };
  }
  const inline = destination.oauth_access_token;
  const expired = () =>
    new FleetError(
      'UF_RECONNECT_REQUIRED',
      'YouTube rejected oauth_access_token (401): the access token expired or was revoked. Get a new one from Google\'s OAuth flow (they last an hour), or connect the channel to the fleet and use auth_secret, which the fleet renews by itself',
      { destination: 'youtube', status: 401 },
    );
  return {
    current: async () => {
      // The schema requires one of the two; this only guards a caller that skipped it.
      if (!inline) throw new FleetError('UF_INVALID_REQUEST', 'A YouTube destination needs oauth_access_token or auth_secret', { destination: 'youtube' });
      return inline;
    },
    renew: async () => {
      throw expired();
    },
    rejectedAfterRenewal: expired,
  };
}
