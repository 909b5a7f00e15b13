import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import { FleetError, toFleetError, type Logger, type SecretBox } from '@upload-fleet/core';
import type { CredentialProvider, OAuthProvider } from '@upload-fleet/destinations';
import { parseAuthSecret, secretMatches } from './auth-secret.js';
import { CredentialStore, type CachedAccessToken, type RefreshFailure } from './credential-store.js';
import { PROVIDER_TRAITS, oauthClientOf, traitsOf, type OAuthClientSettings, type OAuthSettings } from './oauth-settings.js';
import { DEFAULT_TOKEN_TIMEOUT_MS, TokenEndpointError, refreshAccessToken } from './token-endpoint.js';

export interface CredentialProviderOptions {
  /** Any ioredis connection; the provider never blocks on it. */
  connection: Redis | Cluster;
  /** Key prefix (REDIS_PREFIX); must match the API's, which creates the credentials. */
  prefix: string;
  /** Decrypts refresh tokens and encrypts cached access tokens (ENCRYPTION_KEYS). */
  secretBox: SecretBox;
  /** The OAuth clients; a provider without one answers UF_CONFIGURATION. */
  oauth: OAuthSettings;
  /** The token endpoint is called through this (default: global fetch). */
  fetch?: typeof fetch;
  logger?: Logger;
  /** Stop serving an access token this long before it expires (default 60 s; at most half its lifetime). */
  refreshMarginMs?: number;
  /** Token endpoint timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** The refresh lock expires after this long if its holder dies (default: request timeout + 5 s). */
  lockTtlMs?: number;
  /** How long a worker waits for another's refresh before giving up with UF_TIMEOUT (default: twice the lock TTL). */
  waitTimeoutMs?: number;
  /**
   * A failed refresh is answered to every worker asking within this long (default 5 s)
   * instead of each one calling the token endpoint again.
   */
  failureMemoMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const MIN_POLL_MS = 20;
const MAX_POLL_MS = 250;

/**
 * The CredentialProvider of a fleet that holds OAuth credentials (`auth_secret`).
 *
 * - Access tokens are cached in the credential's Redis hash (encrypted), shared by every
 *   worker, and served until `refreshMarginMs` before they expire.
 * - A refresh happens once per credential across the fleet: the worker that takes the
 *   credential's refresh lock (a field of its hash, with an expiry by the Redis clock) calls
 *   the token endpoint; the others poll the hash until the new token is there.
 * - `rejectedToken` (the platform answered 401) refreshes unless the cached token already
 *   differs from it, i.e. someone refreshed meanwhile.
 * - `invalid_grant` marks the credential `reconnect_required`: that job and every later one
 *   fail at once with UF_RECONNECT_REQUIRED, without calling the token endpoint again.
 * - A long-lived access token (a provider with `accessTokens: 'long-lived'`, no refresh
 *   token) is served as long as the platform takes it; rejected, it marks the credential
 *   `reconnect_required` the same way.
 */
export function createCredentialProvider(options: CredentialProviderOptions): CredentialProvider & { readonly store: CredentialStore } {
  const now = options.now ?? Date.now;
  const store = new CredentialStore({ connection: options.connection, prefix: options.prefix, secretBox: options.secretBox, refreshMarginMs: options.refreshMarginMs, now });
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS;
  const lockTtlMs = options.lockTtlMs ?? timeoutMs + 5_000;
  const waitTimeoutMs = options.waitTimeoutMs ?? 2 * lockTtlMs;
  const failureMemoMs = options.failureMemoMs ?? 5_000;
  const log = options.logger?.child({ component: 'credentials' });

  // Requests of one process that need the same refresh share it (the lock shares it across processes).
  const inflight = new Map<string, Promise<string>>();
  const sharedRefresh = (provider: OAuthProvider, client: OAuthClientSettings, id: string, rejectedToken: string | undefined, platform: string): Promise<string> => {
    const key = `${provider}\0${id}\0${rejectedToken ?? ''}\0${platform}`;
    let pending = inflight.get(key);
    if (!pending) {
      pending = refresh(provider, client, id, rejectedToken, platform).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    return pending;
  };

  const usable = (access: CachedAccessToken | undefined, rejectedToken: string | undefined): access is CachedAccessToken =>
    access !== undefined && access.refreshAt > now() && access.token !== rejectedToken;
  const recent = (failure: RefreshFailure | undefined): failure is RefreshFailure => failure !== undefined && now() - failure.at < failureMemoMs;

  async function refresh(provider: OAuthProvider, client: OAuthClientSettings, id: string, rejectedToken: string | undefined, platform: string): Promise<string> {
    const deadline = now() + waitTimeoutMs;
    let pollMs = MIN_POLL_MS;
    for (;;) {
      const attempt = await store.acquireRefreshLock(id, lockTtlMs);
      if (attempt.outcome === 'missing') throw unknownSecret(provider, platform);
      if (attempt.outcome === 'inactive') throw reconnectRequired(provider, id, platform);
      const lockToken = attempt.outcome === 'acquired' ? attempt.lockToken : undefined;
      // Someone refreshed (or failed to) between our read and this attempt: use that outcome.
      if (usable(attempt.access, rejectedToken)) {
        if (lockToken) await store.releaseRefreshLock(id, lockToken);
        return attempt.access.token;
      }
      if (recent(attempt.failure)) {
        if (lockToken) await store.releaseRefreshLock(id, lockToken);
        throw failureError(attempt.failure, provider, platform);
      }
      if (lockToken) return refreshHoldingLock(provider, client, id, lockToken, platform);
      if (now() >= deadline) {
        throw new FleetError('UF_TIMEOUT', `Waited ${waitTimeoutMs} ms for another worker to refresh the ${traitsOf(provider).label} access token`, {
          destination: traitsOf(provider).platform,
        });
      }
      await sleep(pollMs);
      pollMs = Math.min(MAX_POLL_MS, Math.round(pollMs * 1.5));
    }
  }

  async function refreshHoldingLock(provider: OAuthProvider, client: OAuthClientSettings, id: string, lockToken: string, platform: string): Promise<string> {
    const traits = traitsOf(provider);
    let refreshToken: string | undefined;
    try {
      refreshToken = await store.refreshToken(id);
    } catch (error) {
      await store.releaseRefreshLock(id, lockToken);
      throw error;
    }
    if (!refreshToken) {
      // A long-lived access token (no refresh token) that the platform rejected: nothing can
      // renew it. Every later upload fails at once until the account is connected again.
      if (traits.accessTokens === 'long-lived' && (await store.markReconnectRequired(id, `${traits.label} rejected the access token, which does not expire but was revoked`))) {
        log?.warn({ credential_id: id, provider }, 'credential needs reconnecting: the platform rejected its long-lived access token');
        throw reconnectRequired(provider, id, platform);
      }
      await store.releaseRefreshLock(id, lockToken);
      throw unknownSecret(provider, platform);
    }

    let answer;
    try {
      answer = await refreshAccessToken(provider, client, refreshToken, { fetch: options.fetch, timeoutMs });
    } catch (error) {
      if (error instanceof TokenEndpointError && error.details.oauthError === 'invalid_grant') {
        const reason = `invalid_grant${error.details.description ? `: ${error.details.description}` : ''}`;
        await store.markReconnectRequired(id, reason);
        log?.warn({ credential_id: id, provider, reason }, 'credential needs reconnecting: the provider refused its refresh token');
        throw reconnectRequired(provider, id, platform, reason);
      }
      const fleetError = refreshError(provider, error, platform);
      await store.releaseRefreshLock(id, lockToken, {
        code: fleetError.code,
        message: fleetError.message,
        at: now(),
        ...(fleetError.status ? { status: fleetError.status } : {}),
        ...(fleetError.retryAfterMs !== undefined ? { retryAfterMs: fleetError.retryAfterMs } : {}),
      });
      log?.warn({ credential_id: id, provider, code: fleetError.code, status: fleetError.status }, 'access token refresh failed');
      throw fleetError;
    }

    const cached = store.cachedToken(answer.accessToken, answer.expiresInSeconds);
    const rotated = answer.refreshToken && answer.refreshToken !== refreshToken ? answer.refreshToken : undefined;
    if (!(await store.storeRefreshed(id, lockToken, cached, rotated))) {
      // Deleted, or marked by someone else, while we refreshed: the auth_secret no longer counts.
      throw (await store.snapshot(id)) ? reconnectRequired(provider, id, platform) : unknownSecret(provider, platform);
    }
    log?.info({ credential_id: id, provider, platform: traits.platform, expires_in: answer.expiresInSeconds }, 'access token refreshed');
    return answer.accessToken;
  }

  return {
    store,
    async accessToken(provider, authSecret, rejectedToken, forPlatform) {
      // A credential of a provider this build no longer has fails like a missing client.
      const traits = PROVIDER_TRAITS[provider];
      const platform = forPlatform ?? traits?.platform ?? String(provider);
      const client = traits ? oauthClientOf(options.oauth, provider) : undefined;
      if (!traits || !client) {
        const name = traits?.label ?? String(provider);
        throw new FleetError(
          'UF_CONFIGURATION',
          `This fleet has no OAuth client configured for ${name}${traits ? ` (set ${traits.env}_CLIENT_ID and ${traits.env}_CLIENT_SECRET)` : ''}, so it cannot use auth_secret credentials for it`,
          traits ? { destination: traits.platform } : {},
        );
      }
      const parsed = parseAuthSecret(authSecret);
      if (!parsed) throw invalidSecret(provider, 'is not one this fleet issues (they look like "ufc_<id>.<secret>")', platform);
      const credential = await store.snapshot(parsed.id);
      if (!credential || !secretMatches(parsed.secret, credential.secretHash)) throw unknownSecret(provider, platform);
      if (credential.provider !== provider) {
        throw invalidSecret(provider, `belongs to a ${traitsOf(credential.provider).label} connection, not ${traits.label}`, platform);
      }
      if (credential.status !== 'active') throw reconnectRequired(provider, credential.id, platform);
      if (usable(credential.access, rejectedToken)) return credential.access.token;
      return sharedRefresh(provider, client, credential.id, rejectedToken, platform);
    },
  };
}

/**
 * Errors name the connect flow of the platform being uploaded to (`platform`): one provider
 * may serve several (Google: YouTube and Drive).
 */
function invalidSecret(provider: OAuthProvider, what: string, platform: string): FleetError {
  return new FleetError('UF_CREDENTIALS_INVALID', `The auth_secret ${what}. Connect the account (POST /v1/connect/${platform}) and use the auth_secret shown at the end`, {
    destination: platform,
  });
}

function unknownSecret(provider: OAuthProvider, platform: string): FleetError {
  return invalidSecret(provider, 'is not known to this fleet: it was revoked, or was never issued here', platform);
}

function reconnectRequired(provider: OAuthProvider, id: string, platform: string, reason?: string): FleetError {
  const { label } = traitsOf(provider);
  const why = reason ? ` (${label} answered ${reason})` : '';
  return new FleetError(
    'UF_RECONNECT_REQUIRED',
    `The ${label} account of auth_secret credential ${id} no longer authorizes this fleet${why}: the access was revoked or has expired. Reconnect it through the connect flow (POST /v1/connect/${platform}) and submit again with the new auth_secret`,
    { destination: platform },
  );
}

/** A failed refresh, other than invalid_grant, in the taxonomy. */
function refreshError(provider: OAuthProvider, error: unknown, platform: string): FleetError {
  const { label, env } = traitsOf(provider);
  if (!(error instanceof TokenEndpointError)) return toFleetError(error, platform);
  const { status, oauthError, retryAfterMs } = error.details;
  const base = { destination: platform, cause: error, ...(status ? { status } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  switch (error.kind) {
    case 'timeout':
      return new FleetError('UF_TIMEOUT', error.message, base);
    case 'network':
      return new FleetError('UF_NETWORK', error.message, base);
    case 'malformed':
      return new FleetError('UF_DESTINATION_UNAVAILABLE', error.message, base);
  }
  if (status === 429) return new FleetError('UF_RATE_LIMITED', error.message, base);
  if (status === 408) return new FleetError('UF_TIMEOUT', error.message, base);
  if (status !== undefined && status >= 500) return new FleetError('UF_DESTINATION_UNAVAILABLE', error.message, base);
  if (oauthError === 'invalid_client' || oauthError === 'unauthorized_client' || status === 401) {
    return new FleetError('UF_CONFIGURATION', `${error.message}: ${label} refused the fleet's OAuth client; check ${env}_CLIENT_ID and ${env}_CLIENT_SECRET`, base);
  }
  return new FleetError('UF_CONFIGURATION', `${error.message}: check ${env}_TOKEN_URL and the OAuth client settings`, base);
}

function failureError(failure: RefreshFailure, provider: OAuthProvider, platform: string): FleetError {
  return new FleetError(failure.code, failure.message, {
    destination: platform,
    ...(failure.status ? { status: failure.status } : {}),
    ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
  });
}
