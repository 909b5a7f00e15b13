import { parseRetryAfter } from '@upload-fleet/core';
import type { OAuthProvider } from '@upload-fleet/destinations';
import { traitsOf, type OAuthClientSettings } from './oauth-settings.js';

/**
 * The one place that talks to the providers' token endpoints (RFC 6749 section 4.1.3 for
 * codes, section 6 for refresh tokens). Every failure becomes a TokenEndpointError whose
 * message carries the provider's error code and description, never a token, code or
 * client secret; callers decide what it means.
 */

/** What a successful token answer says. */
export interface TokenAnswer {
  accessToken: string;
  /** Lifetime of the access token; undefined when the provider did not say. */
  expiresInSeconds: number | undefined;
  /** Present on code exchanges with offline access, and when a provider rotates refresh tokens. */
  refreshToken?: string;
  /** Granted scopes, space-separated. */
  scope?: string;
  /** Dropbox names the account (`account_id`), TikTok too (`open_id`); Google does not without an id_token. */
  accountId?: string;
}

export type TokenFailureKind = 'oauth_error' | 'http_status' | 'network' | 'timeout' | 'malformed';

export class TokenEndpointError extends Error {
  constructor(
    readonly kind: TokenFailureKind,
    message: string,
    readonly details: {
      status?: number;
      /** RFC 6749 section 5.2 `error`, like "invalid_grant". */
      oauthError?: string;
      /** The provider's `error_description`, cleaned and shortened. */
      description?: string;
      retryAfterMs?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TokenEndpointError';
  }
}

export interface TokenRequestOptions {
  fetch?: typeof fetch;
  /** Gives up (kind "timeout") after this long. */
  timeoutMs: number;
}

export const DEFAULT_TOKEN_TIMEOUT_MS = 10_000;

/** Exchanges a refresh token for an access token (grant_type=refresh_token). */
export function refreshAccessToken(provider: OAuthProvider, client: OAuthClientSettings, refreshToken: string, options: TokenRequestOptions): Promise<TokenAnswer> {
  return requestToken(provider, client, { grant_type: 'refresh_token', refresh_token: refreshToken }, options);
}

/** Exchanges an authorization code (with its PKCE verifier) for tokens (grant_type=authorization_code). */
export function exchangeAuthorizationCode(
  provider: OAuthProvider,
  client: OAuthClientSettings,
  grant: { code: string; redirectUri: string; codeVerifier: string },
  options: TokenRequestOptions,
): Promise<TokenAnswer> {
  return requestToken(
    provider,
    client,
    { grant_type: 'authorization_code', code: grant.code, redirect_uri: grant.redirectUri, code_verifier: grant.codeVerifier },
    options,
  );
}

async function requestToken(provider: OAuthProvider, client: OAuthClientSettings, params: Record<string, string>, options: TokenRequestOptions): Promise<TokenAnswer> {
  const label = traitsOf(provider).label;
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (traitsOf(provider).clientAuth === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`, 'utf8').toString('base64')}`;
  } else {
    body.set(traitsOf(provider).clientIdParam ?? 'client_id', client.clientId);
    body.set('client_secret', client.clientSecret);
  }

  const doFetch = options.fetch ?? fetch;
  let response: Response;
  let text: string;
  try {
    response = await doFetch(client.tokenUrl, { method: 'POST', headers, body: body.toString(), redirect: 'error', signal: AbortSignal.timeout(options.timeoutMs) });
    text = await response.text();
  } catch (error) {
    const name = (error as Error | undefined)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new TokenEndpointError('timeout', `The ${label} token endpoint did not answer within ${options.timeoutMs} ms`, { cause: error });
    }
    // fetch's own message is "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND) is in its cause.
    const reason = networkReason(error);
    throw new TokenEndpointError('network', `Could not reach the ${label} token endpoint${reason ? ` (${reason})` : ''}`, { cause: error });
  }

  const json = parseJson(text);
  if (!response.ok) {
    const oauthError = cleanText(json?.error, 64);
    const description = cleanText(json?.error_description, 200);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    const said = oauthError ? `${oauthError}${description ? `: ${description}` : ''}` : `HTTP ${response.status}`;
    throw new TokenEndpointError(oauthError ? 'oauth_error' : 'http_status', `The ${label} token endpoint answered ${response.status} (${said})`, {
      status: response.status,
      ...(oauthError ? { oauthError } : {}),
      ...(description ? { description } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  const accessToken = json?.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new TokenEndpointError('malformed', `The ${label} token endpoint answered ${response.status} without an access token`, { status: response.status });
  }
  const expiresIn = Number(json?.expires_in);
  const answer: TokenAnswer = { accessToken, expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined };
  if (typeof json?.refresh_token === 'string' && json.refresh_token !== '') answer.refreshToken = json.refresh_token;
  if (typeof json?.scope === 'string') answer.scope = json.scope;
  const accountId = json?.[traitsOf(provider).accountIdField ?? 'account_id'];
  if (typeof accountId === 'string' && accountId !== '') answer.accountId = accountId;
  return answer;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Printable ASCII only, shortened: provider text goes into messages people read. */
function cleanText(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const cleaned = value.replace(/[^\x20-\x7e]/g, ' ').replace(/\s+/g, ' ').trim();
  if (!cleaned) return undefined;
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}

function networkReason(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}
