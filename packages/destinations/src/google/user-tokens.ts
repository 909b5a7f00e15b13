import { FleetError } from '@upload-fleet/core';
import type { CredentialProvider } from '../adapter.js';
import type { BearerTokens } from './api-client.js';

/**
 * The bearer token of an upload to a Google account of a user's (Drive; YouTube has the
 * same two ways in). Either:
 * - `oauth_access_token`: a token of the user's, used as is. Nothing here can renew it, so
 *   when Google rejects it (401) the upload fails with UF_RECONNECT_REQUIRED.
 * - `auth_secret`: a credential the fleet holds (a refresh token from its connect flow).
 *   Tokens come from the CredentialProvider, which caches and refreshes them fleet-wide;
 *   after a 401 we ask it once for a fresh one, naming the token Google rejected.
 * When both are given, auth_secret is used: the fleet can renew it, and a long upload
 * outlives an access token (they last an hour).
 */
export interface UserTokens extends BearerTokens {
  /** The error for a renewed token that Google rejected as well. */
  rejectedAfterRenewal(): FleetError;
}

/** The destination's credentials, as every such schema names them. */
export interface UserCredentials {
  oauth_access_token?: string | undefined;
  auth_secret?: string | undefined;
}

/** Who the tokens are for, in errors and messages. */
export interface TokenUser {
  /** The destination type. */
  destination: string;
  /** "Google Drive". */
  label: string;
}

export function userTokensFor(credentialsOf: UserCredentials, provider: CredentialProvider, user: TokenUser): UserTokens {
  const { destination, label } = user;
  const authSecret = credentialsOf.auth_secret;
  if (authSecret) {
    let token: string | undefined;
    return {
      // Once per attempt from the provider; every request of the attempt reuses it.
      current: async () => (token ??= await provider.accessToken('google', authSecret, undefined, destination)),
      renew: async (rejected) => (token = await provider.accessToken('google', authSecret, rejected, destination)),
      rejectedAfterRenewal: () =>
        new FleetError(
          'UF_RECONNECT_REQUIRED',
          `${label} rejected the access token of this auth_secret even right after it was refreshed: the account withdrew the fleet's access. Connect the ${label} account again`,
          { destination, status: 401 },
        ),
    };
  }
  const inline = credentialsOf.oauth_access_token;
  const expired = () =>
    new FleetError(
      'UF_RECONNECT_REQUIRED',
      `${label} rejected oauth_access_token (401): the access token expired or was revoked. Get a new one from Google's OAuth flow (they last an hour), or connect the account to the fleet and use auth_secret, which the fleet renews by itself`,
      { destination, status: 401 },
    );
  return {
    current: async () => {
      // The schema requires one of the two; this only guards a caller that skipped it.
      if (!inline) throw new FleetError('UF_INVALID_REQUEST', `A ${label} destination needs oauth_access_token or auth_secret`, { destination });
      return inline;
    },
    renew: async () => {
      throw expired();
    },
    rejectedAfterRenewal: expired,
  };
}
