import { createHash, randomBytes } from 'node:crypto';
import type { OAuthProvider } from '@upload-fleet/destinations';
import type { CredentialStore } from './credential-store.js';
import { traitsOf, oauthClientOf, type ConnectPlatform, type OAuthSettings } from './oauth-settings.js';
import { DEFAULT_TOKEN_TIMEOUT_MS, TokenEndpointError, exchangeAuthorizationCode } from './token-endpoint.js';

/**
 * The connect flow (OAuth 2.0 authorization code grant, RFC 6749 section 4.1, with PKCE S256,
 * RFC 7636): `begin` makes the consent URL and keeps the flow's state; the provider sends
 * the user back to the redirect URI, and `complete` checks the state (once), exchanges the
 * code for a refresh token and stores it as a new credential, answering its auth_secret.
 */
export interface ConnectFlowOptions {
  /** Where the flow's states and the credentials go. */
  store: CredentialStore;
  oauth: OAuthSettings;
  fetch?: typeof fetch;
  /** How long a started flow may take until its callback (default 600 s). */
  stateTtlSeconds?: number;
  /** Token endpoint timeout (default 10 s). */
  requestTimeoutMs?: number;
}

export interface ConnectStart {
  /** Send the user here (the provider's consent page). */
  authorizeUrl: string;
  /** How long the link stays usable. */
  expiresInSeconds: number;
}

/** What the provider's redirect to the callback carried (its query string). */
export interface ConnectCallback {
  provider: OAuthProvider;
  /**
   * The platform whose callback it is (`/v1/connect/<platform>/callback`), for what the
   * result tells the user; default: the provider's first platform. Several platforms can
   * share a provider (YouTube and Google Drive share Google's), and so one credential.
   */
  platform?: ConnectPlatform;
  state: string | undefined;
  code: string | undefined;
  /** RFC 6749 section 4.1.2.1, like "access_denied" when the user declined. */
  error: string | undefined;
}

export interface ConnectResult {
  credentialId: string;
  /** Show it once; the fleet keeps only its hash. */
  authSecret: string;
  provider: OAuthProvider;
  platform: ConnectPlatform;
  /** The API key name that started the flow. */
  owner: string;
  accountId?: string;
  scope?: string;
}

export type ConnectErrorReason =
  | 'not_configured'
  | 'invalid_state'
  | 'access_denied'
  | 'invalid_callback'
  | 'code_refused'
  | 'scope_not_granted'
  | 'no_refresh_token'
  | 'provider_unavailable';

/** A connect flow that cannot go on; `message` says what to do and may be shown as is. */
export class ConnectError extends Error {
  constructor(
    readonly reason: ConnectErrorReason,
    message: string,
    /** The HTTP status an API answers it with. */
    readonly statusCode: 400 | 502 | 503,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

export const DEFAULT_CONNECT_STATE_TTL_SECONDS = 600;

export class ConnectFlow {
  private readonly stateTtlSeconds: number;

  constructor(private readonly options: ConnectFlowOptions) {
    this.stateTtlSeconds = options.stateTtlSeconds ?? DEFAULT_CONNECT_STATE_TTL_SECONDS;
  }

  isEnabled(provider: OAuthProvider): boolean {
    return oauthClientOf(this.options.oauth, provider) !== undefined;
  }

  /** Starts a flow for `owner` (an API key name); the callback must arrive at `redirectUri`. */
  async begin(request: { provider: OAuthProvider; owner: string; redirectUri: string }): Promise<ConnectStart> {
    const client = this.client(request.provider);
    const state = randomBytes(32).toString('base64url');
    const codeVerifier = randomBytes(32).toString('base64url');
    const codeChallenge = createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
    await this.options.store.saveConnectState(
      state,
      { provider: request.provider, owner: request.owner, redirectUri: request.redirectUri, codeVerifier, createdAt: Date.now() },
      this.stateTtlSeconds,
    );
    const url = new URL(client.authUrl);
    const traits = traitsOf(request.provider);
    const params: Record<string, string> = {
      [traits.clientIdParam ?? 'client_id']: client.clientId,
      redirect_uri: request.redirectUri,
      response_type: 'code',
      state,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      ...(client.scopes.length > 0 ? { scope: client.scopes.join(traits.scopeSeparator ?? ' ') } : {}),
      ...traits.offlineParams,
    };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return { authorizeUrl: url.toString(), expiresInSeconds: this.stateTtlSeconds };
  }

  /** Finishes a flow from its callback; throws ConnectError when it cannot. */
  async complete(callback: ConnectCallback): Promise<ConnectResult> {
    const { provider } = callback;
    const { label } = traitsOf(provider);
    const platform = callback.platform ?? traitsOf(provider).platform;
    const restart = `Start again with POST /v1/connect/${platform}.`;
    if (!callback.state) throw new ConnectError('invalid_state', `The callback carries no state, so it does not belong to a connect flow of this fleet. ${restart}`, 400);
    // Taken (deleted) before anything else: a state works once, whatever happens next.
    const started = await this.options.store.takeConnectState(callback.state);
    if (!started || started.provider !== provider) {
      throw new ConnectError(
        'invalid_state',
        `This connect link was already used, has expired (links last ${Math.round(this.stateTtlSeconds / 60)} minutes) or was not made by this fleet. ${restart}`,
        400,
      );
    }
    if (callback.error) {
      if (callback.error === 'access_denied') {
        throw new ConnectError('access_denied', `Access to the ${label} account was not granted, so nothing was stored. To connect it, start again and allow access. ${restart}`, 400);
      }
      throw new ConnectError('code_refused', `${label} ended the consent with the error "${safeCode(callback.error)}"; nothing was stored. ${restart}`, 400);
    }
    if (!callback.code) throw new ConnectError('invalid_callback', `The callback carries neither a code nor an error. ${restart}`, 400);
    const client = this.client(provider);

    let answer;
    try {
      answer = await exchangeAuthorizationCode(
        provider,
        client,
        { code: callback.code, redirectUri: started.redirectUri, codeVerifier: started.codeVerifier },
        { fetch: this.options.fetch, timeoutMs: this.options.requestTimeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS },
      );
    } catch (error) {
      if (!(error instanceof TokenEndpointError)) throw error;
      const { status, oauthError } = error.details;
      if (oauthError === 'invalid_client' || oauthError === 'unauthorized_client') {
        throw new ConnectError('provider_unavailable', `${error.message}: ${label} refused the fleet's OAuth client; an operator must check its client id and secret.`, 502);
      }
      if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
        throw new ConnectError('code_refused', `${error.message}. The authorization code was refused (codes work once and expire within minutes). ${restart}`, 400);
      }
      throw new ConnectError('provider_unavailable', `${error.message}. ${label} is not answering as it should; try again in a moment. ${restart}`, 502);
    }

    const missing = missingScopes(client.scopes, answer.scope);
    if (missing.length > 0) {
      throw new ConnectError(
        'scope_not_granted',
        `Not every permission the fleet needs was granted (missing: ${missing.join(', ')}), so nothing was stored. Start again and allow all of them. ${restart}`,
        400,
      );
    }
    const longLived = traitsOf(provider).accessTokens === 'long-lived';
    if (!answer.refreshToken && !longLived) {
      throw new ConnectError(
        'no_refresh_token',
        `${label} answered without a refresh token, so the fleet could not upload once the access token expires; nothing was stored. Remove this app's access in the account's security settings, then ${restart.charAt(0).toLowerCase()}${restart.slice(1)}`,
        502,
      );
    }
    const created = await this.options.store.create({
      provider,
      owner: started.owner,
      ...(answer.refreshToken ? { refreshToken: answer.refreshToken } : {}),
      ...(answer.accountId ? { accountId: answer.accountId } : {}),
      ...(answer.scope ? { scope: answer.scope } : {}),
      // Without a refresh token a long-lived token is all there is: it must not lapse from the cache.
      accessToken: { token: answer.accessToken, expiresInSeconds: !answer.refreshToken && longLived ? 'never' : answer.expiresInSeconds },
    });
    return {
      credentialId: created.id,
      authSecret: created.authSecret,
      provider,
      platform,
      owner: started.owner,
      ...(answer.accountId ? { accountId: answer.accountId } : {}),
      ...(answer.scope ? { scope: answer.scope } : {}),
    };
  }

  private client(provider: OAuthProvider) {
    const client = oauthClientOf(this.options.oauth, provider);
    if (!client) {
      const { label, env } = traitsOf(provider);
      throw new ConnectError('not_configured', `This fleet has no OAuth client for ${label}: an operator must set ${env}_CLIENT_ID and ${env}_CLIENT_SECRET.`, 503);
    }
    return client;
  }
}

/**
 * Requested scopes the grant lacks; none when the provider did not say what it granted.
 * The granted list is space-separated (RFC 6749) or, for TikTok, comma-separated; no scope
 * name holds either character, so both separate.
 */
function missingScopes(requested: readonly string[], granted: string | undefined): string[] {
  if (granted === undefined) return [];
  const have = new Set(granted.split(/[\s,]+/).filter(Boolean));
  return requested.filter((scope) => !have.has(scope));
}

/** An OAuth error code from a query string, as safe text. */
function safeCode(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 64) || 'unknown';
}
