import { FleetError } from '@upload-fleet/core';
import type { CredentialProvider } from '@upload-fleet/destinations';

/**
 * The credential provider of a fleet without OAuth client settings: jobs that name an
 * `auth_secret` fail permanently with a message an operator can act on.
 */
export const unconfiguredCredentials: CredentialProvider = {
  async accessToken(provider) {
    throw new FleetError('UF_CONFIGURATION', `This fleet has no OAuth client configured for ${provider}, so it holds no credentials for auth_secret`);
  },
};
