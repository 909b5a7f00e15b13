import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { SecretBox } from '@upload-fleet/core';
import { createCredentialProvider, type OAuthSettings } from '@upload-fleet/credentials';
import { deletePrefix, testRedisUrl, uniquePrefix, type FakeOAuthServer } from '@upload-fleet/testkit';
import type { CredentialProvider } from '../src/index.js';

/**
 * The fleet's own credential handling (packages/credentials, on a real Redis) in front of the
 * TikTok OAuth fake: TikTok destinations take `auth_secret` only, so every TikTok test
 * connects an account first. `connect` stores a refresh token the fake issued, as the
 * connect flow would, and answers its auth_secret.
 */
export interface TikTokFleetCredentials {
  provider: CredentialProvider;
  oauth: OAuthSettings;
  connect(options?: { accountId?: string }): Promise<{ authSecret: string; refreshToken: string }>;
  close(): Promise<void>;
}

export function tiktokOAuthSettings(oauth: FakeOAuthServer): OAuthSettings {
  return { tiktok: { clientId: oauth.clientId, clientSecret: oauth.clientSecret, authUrl: oauth.authorizeUrl, tokenUrl: oauth.tokenUrl, scopes: ['user.info.basic', 'video.publish'] } };
}

/** The env a worker process needs to refresh TikTok tokens at the fake. */
export function tiktokOAuthEnv(oauth: FakeOAuthServer): Record<string, string> {
  return { TIKTOK_OAUTH_CLIENT_ID: oauth.clientId, TIKTOK_OAUTH_CLIENT_SECRET: oauth.clientSecret, TIKTOK_OAUTH_AUTH_URL: oauth.authorizeUrl, TIKTOK_OAUTH_TOKEN_URL: oauth.tokenUrl };
}

export function tiktokFleetCredentials(
  oauth: FakeOAuthServer,
  fleet: { redisUrl: string; prefix: string; secretBox: SecretBox } = { redisUrl: testRedisUrl(), prefix: uniquePrefix('tiktok-credentials'), secretBox: new SecretBox([{ id: 't', key: randomBytes(32) }]) },
): TikTokFleetCredentials {
  const connection = new Redis(fleet.redisUrl, { maxRetriesPerRequest: null });
  const settings = tiktokOAuthSettings(oauth);
  const provider = createCredentialProvider({ connection, prefix: fleet.prefix, secretBox: fleet.secretBox, oauth: settings });
  return {
    provider,
    oauth: settings,
    async connect(options = {}) {
      const refreshToken = oauth.issueRefreshToken({ scope: 'user.info.basic,video.publish', ...(options.accountId ? { accountId: options.accountId } : {}) });
      const { authSecret } = await provider.store.create({ provider: 'tiktok', owner: 'test', refreshToken });
      return { authSecret, refreshToken };
    },
    async close() {
      await deletePrefix(fleet.redisUrl, fleet.prefix);
      connection.disconnect();
    },
  };
}
