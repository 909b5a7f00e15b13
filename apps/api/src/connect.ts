import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ConnectError,
  ConnectFlow,
  enabledOAuthProviders,
  traitsOf,
  isCredentialId,
  providerOfPlatform,
  type ConnectResult,
  type CredentialInfo,
  type CredentialStore,
  type OAuthProvider,
  type OAuthSettings,
} from '@upload-fleet/credentials';
import { CONNECT_PLATFORMS, connectPlatformOf } from '@upload-fleet/destinations/definitions';
import { ApiError } from './errors.js';
import type { routeSchemas } from './openapi.js';

/** The schemas of the connect routes (openapi.ts), which document them. */
type ConnectRouteSchemas = Pick<ReturnType<typeof routeSchemas>, 'startConnect' | 'connectCallback' | 'getCredential' | 'deleteCredential'>;

/**
 * The connect flow: how a user authorises the fleet once and gets an `auth_secret` to put in
 * YouTube and Dropbox destinations instead of a token (docs/credentials.md).
 *
 *   POST   /v1/connect/{platform}                 (API key)  -> { authorize_url }
 *   GET    /v1/connect/{platform}/callback        (open: the provider redirects the browser
 *                                                  here; the single-use state protects it)
 *                                                  -> page showing the auth_secret once
 *   GET    /v1/connect/credentials/{credential_id} (API key, owner) -> status
 *   DELETE /v1/connect/credentials/{credential_id} (API key, owner) -> revoke
 */
export interface ConnectOptions {
  /** Credentials and connect states; same Redis and prefix as the workers' credential provider. */
  store: CredentialStore;
  /** The OAuth clients, and `publicBaseUrl` for the redirect URIs. */
  oauth: OAuthSettings;
  /** The token endpoint is called through this (default: global fetch). */
  fetch?: typeof fetch;
  /** How long a started flow may take (default 600 s). */
  stateTtlSeconds?: number;
}

/** What POST /v1/connect/{platform} answers. */
export interface ConnectStarted {
  /** Open it in a browser: the provider's consent page. */
  authorize_url: string;
  expires_in: number;
  /** The redirect URI registered with the provider must be exactly this. */
  redirect_uri: string;
}

/** What the callback answers as JSON (`Accept: application/json`). */
export interface Connected {
  auth_secret: string;
  credential_id: string;
  platform: string;
  provider: OAuthProvider;
  account_id?: string;
  message: string;
}

/** A credential as GET /v1/connect/credentials/{credential_id} shows it: never a token. */
export interface CredentialView {
  credential_id: string;
  platform: string;
  provider: OAuthProvider;
  status: CredentialInfo['status'];
  account_id?: string;
  scope?: string;
  created_at: string;
  refreshed_at?: string;
  status_changed_at?: string;
  reconnect_reason?: string;
}

/** Headers of every callback answer: it carries a secret, and its URL carried a code. */
const CALLBACK_HEADERS = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

export const callbackPath = (platform: string) => `/v1/connect/${platform}/callback`;

export function registerConnectRoutes(app: FastifyInstance, options: ConnectOptions | undefined, schemas: ConnectRouteSchemas): void {
  if (options && options.oauth.publicBaseUrl === undefined && enabledOAuthProviders(options.oauth).length > 0) {
    throw new Error('buildApi: connect.oauth.publicBaseUrl (PUBLIC_BASE_URL) is required when an OAuth client is configured; it makes the redirect URIs.');
  }
  const flow = options && new ConnectFlow({ store: options.store, oauth: options.oauth, fetch: options.fetch, stateTtlSeconds: options.stateTtlSeconds });

  /** The provider of a platform path parameter, or an ApiError for an unknown one. */
  const providerOf = (platform: string): OAuthProvider => {
    const provider = providerOfPlatform(platform);
    if (!provider) throw new ApiError(404, 'UF_NOT_FOUND', `There is no connect flow for "${platform.slice(0, 40)}": the platforms are ${new Intl.ListFormat('en', { type: 'conjunction' }).format(CONNECT_PLATFORMS.map((p) => p.platform))}.`);
    return provider;
  };
  const notConfigured = (provider: OAuthProvider) => {
    const { label, env } = traitsOf(provider);
    return new ApiError(503, 'UF_CONNECT_NOT_CONFIGURED', `This fleet has no OAuth client for ${label}, so it cannot connect accounts: an operator must set ${env}_CLIENT_ID, ${env}_CLIENT_SECRET and PUBLIC_BASE_URL.`);
  };

  app.post<{ Params: { platform: string } }>('/v1/connect/:platform', { schema: schemas.startConnect }, async (request, reply) => {
    const provider = providerOf(request.params.platform);
    if (!options || !flow?.isEnabled(provider) || !options.oauth.publicBaseUrl) throw notConfigured(provider);
    const redirectUri = `${options.oauth.publicBaseUrl}${callbackPath(request.params.platform)}`;
    const started = await flow.begin({ provider, owner: request.apiKeyName, redirectUri });
    const body: ConnectStarted = { authorize_url: started.authorizeUrl, expires_in: started.expiresInSeconds, redirect_uri: redirectUri };
    return reply.header('cache-control', 'no-store').send(body);
  });

  app.get<{ Params: { platform: string }; Querystring: Record<string, unknown> }>(
    '/v1/connect/:platform/callback',
    { config: { public: true }, schema: schemas.connectCallback },
    async (request, reply) => {
      reply.headers(CALLBACK_HEADERS);
      const json = wantsJson(request);
      const platform = request.params.platform;
      try {
        const provider = providerOf(platform);
        if (!flow?.isEnabled(provider)) throw notConfigured(provider);
        const result = await flow.complete({
          provider,
          platform,
          state: text(request.query.state),
          code: text(request.query.code),
          error: text(request.query.error),
        });
        request.log.info({ credential_id: result.credentialId, platform, owner: result.owner }, 'account connected');
        return json ? reply.send(connectedBody(result)) : reply.type('text/html; charset=utf-8').send(successPage(result));
      } catch (error) {
        const apiError = asApiError(error);
        if (!apiError) throw error;
        request.log.info({ code: apiError.code, reason: error instanceof ConnectError ? error.reason : undefined, platform }, 'connect flow refused');
        reply.code(apiError.statusCode);
        return json ? reply.send(apiError.toBody()) : reply.type('text/html; charset=utf-8').send(errorPage(apiError, platform));
      }
    },
  );

  /** The credential if it exists and belongs to the caller's API key. */
  const ownCredential = async (request: FastifyRequest<{ Params: { credential_id: string } }>): Promise<CredentialInfo> => {
    if (!options) throw new ApiError(503, 'UF_CONNECT_NOT_CONFIGURED', 'This fleet holds no credentials: no OAuth client is configured.');
    const id = request.params.credential_id;
    const info = isCredentialId(id) ? await options.store.info(id) : undefined;
    if (!info) throw new ApiError(404, 'UF_CREDENTIAL_NOT_FOUND', 'No credential with this id: it was deleted, or never existed. The id is the part of the auth_secret between "ufc_" and the dot.');
    if (info.owner !== request.apiKeyName) throw new ApiError(403, 'UF_CREDENTIAL_FORBIDDEN', 'This credential was connected with another API key; only that key can see or delete it.');
    return info;
  };

  app.get<{ Params: { credential_id: string } }>('/v1/connect/credentials/:credential_id', { schema: schemas.getCredential }, async (request) => credentialView(await ownCredential(request)));

  app.delete<{ Params: { credential_id: string } }>('/v1/connect/credentials/:credential_id', { schema: schemas.deleteCredential }, async (request) => {
    const info = await ownCredential(request);
    await options?.store.delete(info.id);
    request.log.info({ credential_id: info.id }, 'credential deleted');
    return { credential_id: info.id, deleted: true };
  });
}

function credentialView(info: CredentialInfo): CredentialView {
  return {
    credential_id: info.id,
    platform: traitsOf(info.provider).platform,
    provider: info.provider,
    status: info.status,
    ...(info.accountId ? { account_id: info.accountId } : {}),
    ...(info.scope ? { scope: info.scope } : {}),
    created_at: info.createdAt,
    ...(info.refreshedAt ? { refreshed_at: info.refreshedAt } : {}),
    ...(info.statusChangedAt ? { status_changed_at: info.statusChangedAt } : {}),
    ...(info.reconnectReason ? { reconnect_reason: info.reconnectReason } : {}),
  };
}

function connectedBody(result: ConnectResult): Connected {
  return {
    auth_secret: result.authSecret,
    credential_id: result.credentialId,
    platform: result.platform,
    provider: result.provider,
    ...(result.accountId ? { account_id: result.accountId } : {}),
    message: `Put auth_secret in your ${result.platform} destinations instead of a token. It is shown only this once; the fleet keeps only its hash.`,
  };
}

function asApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof ConnectError) {
    return new ApiError(error.statusCode, error.statusCode === 503 ? 'UF_CONNECT_NOT_CONFIGURED' : 'UF_CONNECT_FAILED', error.message, { reason: error.reason });
  }
  return undefined;
}

/** JSON when the client asks for it and not for HTML (a browser asks for HTML). */
function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /application\/json/i.test(accept) && !/text\/html/i.test(accept);
}

/** A query value as one string; repeated or missing parameters count as absent. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; color: #1d1d1f; }
code, pre { font-family: ui-monospace, monospace; background: #f2f2f4; border-radius: 4px; }
pre { padding: .75rem 1rem; overflow-x: auto; }
.secret { display: block; padding: .75rem 1rem; font-size: 1.05rem; word-break: break-all; user-select: all; border: 1px solid #c7c7cc; }
.warn { color: #8a4b00; }
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function successPage(result: ConnectResult): string {
  const { label } = traitsOf(result.provider);
  const { platform } = result;
  const example = JSON.stringify({ type: platform, ...connectPlatformOf(platform)?.connect.example, auth_secret: result.authSecret }, null, 2);
  return page(
    `${label} connected`,
    `<h1>${escapeHtml(label)} connected</h1>
<p>This is the <code>auth_secret</code> of the account${result.accountId ? ` <code>${escapeHtml(result.accountId)}</code>` : ''}:</p>
<code class="secret" id="auth-secret">${escapeHtml(result.authSecret)}</code>
<p class="warn"><strong>Copy it now: it is shown only this once.</strong> The fleet keeps only a hash of it, so it cannot show it again. If it is lost, connect the account again.</p>
<p>Use it in ${escapeHtml(platform)} destinations instead of a token:</p>
<pre>${escapeHtml(example)}</pre>
<p>Credential id: <code>${escapeHtml(result.credentialId)}</code> (to check or revoke it: <code>/v1/connect/credentials/${escapeHtml(result.credentialId)}</code>).</p>`,
  );
}

function errorPage(error: ApiError, platform: string): string {
  const title = error.statusCode === 503 ? 'Connecting is not available' : 'The account was not connected';
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(error.message)}</p>
<p>Error code: <code>${escapeHtml(error.code)}</code>${error.extra.reason ? ` (<code>${escapeHtml(error.extra.reason)}</code>)` : ''}</p>
${providerOfPlatform(platform) ? `<p>To try again, start a new connect flow: <code>POST /v1/connect/${escapeHtml(platform)}</code> with your API key.</p>` : ''}`,
  );
}
