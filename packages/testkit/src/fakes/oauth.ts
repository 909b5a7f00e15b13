import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for Google's, Dropbox's and Vimeo's OAuth 2.0 servers: the consent page
 * (authorization endpoint) and the token endpoint, on a real HTTP server.
 *
 * - Authorize: checks client_id, response_type=code and redirect_uri, then "consents" at once
 *   (302 back to redirect_uri with `code` and `state`), or answers `error=access_denied` when
 *   scripted with `denyNextConsent()`. A refresh token is issued for the code only when
 *   offline access was asked for: Google `access_type=offline`, Dropbox
 *   `token_access_type=offline`, as the real providers do. Vimeo documents neither an
 *   offline parameter nor refresh tokens: its codes bring a user token that does not expire
 *   (no `expires_in`), with the `user` it belongs to, and no refresh_token grant.
 * - Token: `authorization_code` (client authentication, single-use code, redirect_uri
 *   match, PKCE S256 verifier) and `refresh_token` grants. Client authentication by HTTP
 *   Basic or by client_id/client_secret in the body, both accepted as by the real servers;
 *   each request records which one was used.
 * - Errors in each provider's JSON shape: `{"error": "invalid_grant", "error_description": ...}`
 *   with status 400 (Google's description for a revoked refresh token is "Token has been
 *   expired or revoked."), `invalid_client` (Google 401, Dropbox 400).
 *
 * TikTok's OAuth v2 (https://developers.tiktok.com/doc/oauth-user-access-token-management)
 * names the client id `client_key` in the consent URL and the token body, joins scopes with
 * commas, always answers a refresh token with `refresh_expires_in` (365 days) and the user's
 * `open_id`, and lets access tokens last 24 hours (`expires_in` 86400). TikTok documents
 * PKCE for desktop and mobile apps only: the fake ignores a web client's code_challenge.
 *
 * Platform fakes (YouTube, Dropbox, TikTok) check bearer tokens with `isValidAccessToken`.
 */
export type FakeOAuthFlavor = 'google' | 'dropbox' | 'vimeo' | 'tiktok';

export interface FakeOAuthServerOptions {
  flavor: FakeOAuthFlavor;
  /** Default `<flavor>-test-client.apps`. */
  clientId?: string;
  /** Default `<flavor>-test-client-secret`. */
  clientSecret?: string;
  /** `expires_in` of issued access tokens (default: Google 3599, Dropbox 14400). */
  accessTokenTtlSeconds?: number;
}

/** One request to the authorization endpoint. */
export interface FakeAuthorizeRequest {
  query: Record<string, string>;
  /** What the fake answered: a code, the scripted denial, or an error page (bad request). */
  outcome: 'code' | 'denied' | 'error_page';
}

/** One request to the token endpoint. */
export interface FakeTokenRequest {
  grantType: string;
  /** How the client authenticated. */
  clientAuth: 'basic' | 'body' | 'none';
  status: number;
  /** The OAuth error answered, if any. */
  error?: string;
  receivedAt: number;
}

/** A scripted answer for the next token request(s) instead of the normal one. */
export interface FakeTokenFault {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface FakeOAuthServer {
  readonly flavor: FakeOAuthFlavor;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The authorization (consent) endpoint, for *_OAUTH_AUTH_URL. */
  readonly authorizeUrl: string;
  /** The token endpoint, for *_OAUTH_TOKEN_URL. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authorizeRequests: FakeAuthorizeRequest[];
  readonly tokenRequests: FakeTokenRequest[];
  /** refresh_token grants answered with a new access token. */
  readonly refreshCount: number;
  /** The next authorize request answers `error=access_denied` (the user clicked "Cancel"). */
  denyNextConsent(): void;
  /** A refresh token as if a user had consented with offline access; for tests that skip the connect flow. */
  issueRefreshToken(options?: { accountId?: string; scope?: string }): string;
  /** The user removed the app's access: the refresh token answers invalid_grant, its access tokens stop working. */
  revokeRefreshToken(refreshToken: string): void;
  /** revokeRefreshToken for every refresh token issued so far. */
  revokeAllRefreshTokens(): void;
  /** Every access token issued so far expires now (the next platform call would get 401). */
  expireAccessTokens(): void;
  /** True for an access token this server issued that has not expired or been revoked. */
  isValidAccessToken(token: string | undefined): boolean;
  /** The account an access token belongs to (for platform fakes); undefined for an invalid one. */
  accountOf(token: string | undefined): string | undefined;
  /** Delays every token answer by this long, so concurrent refreshes overlap. */
  setTokenDelayMs(ms: number): void;
  /** Scripts the next token requests, one entry each; `null` answers normally. */
  setTokenFaults(faults: (FakeTokenFault | null)[]): void;
  close(): Promise<void>;
}

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  challenge: string | undefined;
  challengeMethod: string;
  offline: boolean;
  scope: string;
  accountId: string;
  expiresAt: number;
  used: boolean;
}

interface RefreshGrant {
  accountId: string;
  scope: string;
  revoked: boolean;
}

interface AccessGrant {
  accountId: string;
  refreshToken: string | undefined;
  expiresAt: number;
}

const CODE_TTL_MS = 10 * 60_000;

const FLAVORS = {
  google: {
    authorizePath: '/o/oauth2/v2/auth',
    tokenPath: '/token',
    accessPrefix: 'ya29.fake-',
    refreshPrefix: '1//fake-',
    tokenType: 'Bearer',
    ttl: 3599,
    invalidClientStatus: 401,
    invalidClient: { error: 'invalid_client', error_description: 'Unauthorized' },
    revoked: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
    badCode: { error: 'invalid_grant', error_description: 'Bad Request' },
    badVerifier: { error: 'invalid_grant', error_description: 'Invalid code verifier.' },
    redirectMismatch: { error: 'redirect_uri_mismatch', error_description: 'Bad Request' },
  },
  dropbox: {
    authorizePath: '/oauth2/authorize',
    tokenPath: '/oauth2/token',
    accessPrefix: 'sl.fake-',
    refreshPrefix: 'fake-refresh-',
    tokenType: 'bearer',
    ttl: 14400,
    invalidClientStatus: 400,
    invalidClient: { error: 'invalid_client', error_description: 'Invalid client_id or client_secret' },
    revoked: { error: 'invalid_grant', error_description: 'refresh token is invalid or revoked' },
    badCode: { error: 'invalid_grant', error_description: "code doesn't exist or has expired" },
    badVerifier: { error: 'invalid_grant', error_description: 'invalid code verifier' },
    redirectMismatch: { error: 'invalid_grant', error_description: 'redirect_uri mismatch' },
  },
  // https://developer.vimeo.com/api/authentication: the token answer is access_token,
  // token_type, scope and user; no refresh_token, no expires_in (user tokens do not expire).
  vimeo: {
    authorizePath: '/oauth/authorize',
    tokenPath: '/oauth/access_token',
    accessPrefix: 'vimeo-fake-',
    refreshPrefix: 'vimeo-fake-refresh-',
    tokenType: 'bearer',
    ttl: 0,
    invalidClientStatus: 401,
    invalidClient: { error: 'invalid_client', error_description: 'The client credentials are invalid' },
    revoked: { error: 'invalid_grant', error_description: 'The grant is invalid or was revoked' },
    badCode: { error: 'invalid_grant', error_description: 'The authorization code is invalid or expired' },
    badVerifier: { error: 'invalid_grant', error_description: 'invalid code verifier' },
    redirectMismatch: { error: 'invalid_grant', error_description: 'redirect_uri mismatch' },
  },
  tiktok: {
    authorizePath: '/v2/auth/authorize/',
    tokenPath: '/v2/oauth/token/',
    accessPrefix: 'act.fake-',
    refreshPrefix: 'rft.fake-',
    tokenType: 'Bearer',
    ttl: 86_400,
    invalidClientStatus: 400,
    invalidClient: { error: 'invalid_client', error_description: 'Client key or secret is incorrect.', log_id: 'fake-log-id' },
    revoked: { error: 'invalid_grant', error_description: 'Refresh token is invalid or expired.', log_id: 'fake-log-id' },
    badCode: { error: 'invalid_grant', error_description: 'Authorization code is expired.', log_id: 'fake-log-id' },
    badVerifier: { error: 'invalid_grant', error_description: 'Code verifier is invalid.', log_id: 'fake-log-id' },
    redirectMismatch: { error: 'invalid_request', error_description: 'Redirect URI mismatch.', log_id: 'fake-log-id' },
  },
} as const;

/** What the client id is called in the consent URL and the token body. */
const clientIdParamOf = (flavor: FakeOAuthFlavor) => (flavor === 'tiktok' ? 'client_key' : 'client_id');
/** TikTok's refresh tokens last 365 days (`refresh_expires_in`). */
const TIKTOK_REFRESH_TTL_SECONDS = 365 * 86_400;

export async function startFakeOAuthServer(options: FakeOAuthServerOptions): Promise<FakeOAuthServer> {
  const flavor = FLAVORS[options.flavor];
  const clientId = options.clientId ?? `${options.flavor}-test-client.apps`;
  const clientSecret = options.clientSecret ?? `${options.flavor}-test-client-secret`;
  const ttlSeconds = options.accessTokenTtlSeconds ?? flavor.ttl;
  const codes = new Map<string, CodeGrant>();
  const refreshTokens = new Map<string, RefreshGrant>();
  const accessTokens = new Map<string, AccessGrant>();
  const authorizeRequests: FakeAuthorizeRequest[] = [];
  const tokenRequests: FakeTokenRequest[] = [];
  let refreshCount = 0;
  let accounts = 0;
  let denyNext = false;
  let delayMs = 0;
  let faults: (FakeTokenFault | null)[] = [];

  const newAccount = () =>
    options.flavor === 'dropbox'
      ? `dbid:fake-account-${++accounts}`
      : options.flavor === 'vimeo'
        ? `/users/${1000 + ++accounts}`
        : options.flavor === 'tiktok'
          ? `-000fake-open-id-${++accounts}`
          : `google-account-${++accounts}`;
  const issueRefresh = (accountId: string, scope: string) => {
    const token = `${flavor.refreshPrefix}${randomBytes(24).toString('base64url')}`;
    refreshTokens.set(token, { accountId, scope, revoked: false });
    return token;
  };
  const issueAccess = (accountId: string, refreshToken: string | undefined) => {
    const token = `${flavor.accessPrefix}${randomBytes(24).toString('base64url')}`;
    // Vimeo's user tokens (ttl 0) do not expire until revoked.
    accessTokens.set(token, { accountId, refreshToken, expiresAt: ttlSeconds > 0 ? Date.now() + ttlSeconds * 1000 : Number.POSITIVE_INFINITY });
    return token;
  };

  function authorize(url: URL, res: ServerResponse): void {
    const query = Object.fromEntries(url.searchParams);
    const record: FakeAuthorizeRequest = { query, outcome: 'error_page' };
    authorizeRequests.push(record);
    const page = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(`<html><body><h1>${text}</h1></body></html>`);
    };
    if (query[clientIdParamOf(options.flavor)] !== clientId) return page(options.flavor === 'google' ? 401 : 400, 'Error 401: invalid_client. The OAuth client was not found.');
    let redirect: URL;
    try {
      redirect = new URL(query.redirect_uri ?? '');
    } catch {
      return page(400, 'Error 400: redirect_uri_mismatch');
    }
    if (query.response_type !== 'code') return page(400, 'Error 400: unsupported_response_type');
    if (query.code_challenge !== undefined && (query.code_challenge_method ?? 'plain') !== 'S256' && query.code_challenge_method !== 'plain') {
      return page(400, 'Error 400: invalid_request. Invalid code_challenge_method.');
    }
    if (options.flavor === 'google' && !query.scope) return page(400, 'Error 400: invalid_request. Missing required parameter: scope');
    if (options.flavor === 'vimeo' && !query.state) return page(400, 'The state parameter is required.');
    if (options.flavor === 'tiktok' && (!query.scope || !query.state)) return page(400, 'invalid_request: scope and state are required.');
    if (query.state !== undefined) redirect.searchParams.set('state', query.state);
    if (denyNext) {
      denyNext = false;
      record.outcome = 'denied';
      redirect.searchParams.set('error', 'access_denied');
      res.writeHead(302, { location: redirect.toString() }).end();
      return;
    }
    const code = `fake-code-${randomBytes(16).toString('base64url')}`;
    // Vimeo documents no offline access: its codes never bring a refresh token.
    // TikTok always answers a refresh token.
    const offline =
      options.flavor === 'google' ? query.access_type === 'offline' : options.flavor === 'vimeo' ? false : options.flavor === 'tiktok' ? true : query.token_access_type === 'offline';
    const scope = query.scope ?? 'account_info.read files.content.write';
    codes.set(code, {
      clientId,
      redirectUri: query.redirect_uri ?? '',
      challenge: options.flavor === 'tiktok' ? undefined : query.code_challenge,
      challengeMethod: query.code_challenge_method ?? 'plain',
      offline,
      scope,
      accountId: newAccount(),
      expiresAt: Date.now() + CODE_TTL_MS,
      used: false,
    });
    record.outcome = 'code';
    redirect.searchParams.set('code', code);
    if (options.flavor === 'google') redirect.searchParams.set('scope', scope);
    res.writeHead(302, { location: redirect.toString() }).end();
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = new URLSearchParams(await readBody(req));
    const record: FakeTokenRequest = { grantType: body.get('grant_type') ?? '', clientAuth: 'none', status: 200, receivedAt: Date.now() };
    tokenRequests.push(record);
    const send = async (status: number, json: object, headers: Record<string, string> = {}) => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      record.status = status;
      if ('error' in json && typeof json.error === 'string') record.error = json.error;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(json));
    };

    const fault = faults.shift();
    if (fault) {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      record.status = fault.status;
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(fault.body ?? '');
      return;
    }

    const basic = basicAuthOf(req.headers.authorization);
    const idParam = clientIdParamOf(options.flavor);
    // TikTok documents the client key and secret in the body only.
    const presented =
      (options.flavor === 'tiktok' ? undefined : basic) ?? (body.has(idParam) ? { user: body.get(idParam) ?? '', password: body.get('client_secret') ?? '' } : undefined);
    record.clientAuth = basic ? 'basic' : presented ? 'body' : 'none';
    if (!presented || presented.user !== clientId || presented.password !== clientSecret) return send(flavor.invalidClientStatus, flavor.invalidClient);

    const grantType = body.get('grant_type');
    if (grantType === 'authorization_code') {
      const code = body.get('code') ?? '';
      const grant = codes.get(code);
      if (!grant || grant.used || grant.expiresAt < Date.now()) return send(400, flavor.badCode);
      grant.used = true;
      if (body.get('redirect_uri') !== grant.redirectUri) return send(400, flavor.redirectMismatch);
      if (grant.challenge !== undefined) {
        const verifier = body.get('code_verifier') ?? '';
        const computed = grant.challengeMethod === 'S256' ? createHash('sha256').update(verifier, 'ascii').digest('base64url') : verifier;
        if (verifier.length < 43 || computed !== grant.challenge) return send(400, flavor.badVerifier);
      }
      const refreshToken = grant.offline ? issueRefresh(grant.accountId, grant.scope) : undefined;
      const accessToken = issueAccess(grant.accountId, refreshToken);
      const answer: Record<string, unknown> = { access_token: accessToken, expires_in: ttlSeconds, token_type: flavor.tokenType, scope: grant.scope };
      if (refreshToken) answer.refresh_token = refreshToken;
      if (options.flavor === 'dropbox') Object.assign(answer, { account_id: grant.accountId, uid: String(accounts) });
      if (options.flavor === 'vimeo') {
        delete answer.expires_in;
        answer.user = { uri: grant.accountId };
      }
      if (options.flavor === 'tiktok') Object.assign(answer, { open_id: grant.accountId, refresh_expires_in: TIKTOK_REFRESH_TTL_SECONDS });
      return send(200, answer);
    }
    // Vimeo documents no refresh_token grant: it answers like any unknown grant type.
    if (grantType === 'refresh_token' && options.flavor !== 'vimeo') {
      const refreshToken = body.get('refresh_token') ?? '';
      const grant = refreshTokens.get(refreshToken);
      if (!grant || grant.revoked) return send(400, flavor.revoked);
      refreshCount += 1;
      const accessToken = issueAccess(grant.accountId, refreshToken);
      const answer: Record<string, unknown> = { access_token: accessToken, expires_in: ttlSeconds, token_type: flavor.tokenType };
      if (options.flavor === 'google') answer.scope = grant.scope;
      if (options.flavor === 'tiktok') Object.assign(answer, { open_id: grant.accountId, scope: grant.scope, refresh_token: refreshToken, refresh_expires_in: TIKTOK_REFRESH_TTL_SECONDS });
      return send(200, answer);
    }
    return send(400, { error: 'unsupported_grant_type', error_description: `Invalid grant_type: ${grantType ?? ''}` });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-oauth.invalid');
    if (req.method === 'GET' && url.pathname === flavor.authorizePath) return authorize(url, res);
    if (req.method === 'POST' && url.pathname === flavor.tokenPath) {
      token(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  const valid = (token: string | undefined) => {
    const grant = token === undefined ? undefined : accessTokens.get(token);
    if (!grant || grant.expiresAt <= Date.now()) return undefined;
    if (grant.refreshToken !== undefined && refreshTokens.get(grant.refreshToken)?.revoked) return undefined;
    return grant;
  };

  return {
    flavor: options.flavor,
    url: base,
    authorizeUrl: `${base}${flavor.authorizePath}`,
    tokenUrl: `${base}${flavor.tokenPath}`,
    clientId,
    clientSecret,
    authorizeRequests,
    tokenRequests,
    get refreshCount() {
      return refreshCount;
    },
    denyNextConsent() {
      denyNext = true;
    },
    issueRefreshToken(issue = {}) {
      return issueRefresh(issue.accountId ?? newAccount(), issue.scope ?? 'default');
    },
    revokeRefreshToken(refreshToken) {
      const grant = refreshTokens.get(refreshToken);
      if (grant) grant.revoked = true;
    },
    revokeAllRefreshTokens() {
      for (const grant of refreshTokens.values()) grant.revoked = true;
    },
    expireAccessTokens() {
      const now = Date.now();
      for (const grant of accessTokens.values()) grant.expiresAt = Math.min(grant.expiresAt, now);
    },
    isValidAccessToken: (token) => valid(token) !== undefined,
    accountOf: (token) => valid(token)?.accountId,
    setTokenDelayMs(ms) {
      delayMs = Math.max(0, ms);
    },
    setTokenFaults(list) {
      faults = [...list];
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function basicAuthOf(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
