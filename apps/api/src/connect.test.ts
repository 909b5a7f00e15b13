import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetError, SecretBox, createLogger, type Logger } from '@upload-fleet/core';
import { CredentialStore, createCredentialProvider, traitsOf, type OAuthClientSettings, type OAuthProvider, type OAuthSettings } from '@upload-fleet/credentials';
import { dumpPrefix, startFakeOAuthServer, type FakeOAuthServer } from '@upload-fleet/testkit';
import type { ConnectOptions } from './connect.js';
import { buildApi } from './server.js';
import { ALICE, BOB, asAlice, asBob, startHarness, type Harness } from './test-harness.js';

/** The API's external URL as the providers know it; nothing listens there, the test injects. */
const PUBLIC_BASE_URL = 'https://uploads.example.test/fleet';
const secretBox = new SecretBox([{ id: 'test', key: randomBytes(32) }]);

let h: Harness;
let google: FakeOAuthServer;
let dropbox: FakeOAuthServer;
let app: FastifyInstance;
let oauth: OAuthSettings;

const clientOf = (fake: FakeOAuthServer, scopes: string[]): OAuthClientSettings => ({
  clientId: fake.clientId,
  clientSecret: fake.clientSecret,
  authUrl: fake.authorizeUrl,
  tokenUrl: fake.tokenUrl,
  scopes,
});

function connectOptions(overrides: Partial<ConnectOptions> = {}): ConnectOptions {
  return { store: new CredentialStore({ connection: h.redis, prefix: h.prefix, secretBox }), oauth, ...overrides };
}

async function buildConnectApi(overrides: Partial<ConnectOptions> = {}, logger: Logger = createLogger({ level: 'silent' })): Promise<FastifyInstance> {
  const built = buildApi({ producer: h.producer, apiKeys: [ALICE, BOB], logger, connect: connectOptions(overrides) });
  await built.ready();
  return built;
}

/** What the workers use: a credential provider on the same Redis and prefix. */
const workerCredentials = () => createCredentialProvider({ connection: h.redis, prefix: h.prefix, secretBox, oauth });

const PLATFORMS: { platform: 'youtube' | 'googledrive' | 'dropbox'; provider: OAuthProvider; fake: () => FakeOAuthServer }[] = [
  { platform: 'youtube', provider: 'google', fake: () => google },
  { platform: 'googledrive', provider: 'google', fake: () => google },
  { platform: 'dropbox', provider: 'dropbox', fake: () => dropbox },
];

beforeAll(async () => {
  h = await startHarness('api-connect');
  google = await startFakeOAuthServer({ flavor: 'google' });
  dropbox = await startFakeOAuthServer({ flavor: 'dropbox' });
  oauth = {
    publicBaseUrl: PUBLIC_BASE_URL,
    google: clientOf(google, ['https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube']),
    dropbox: clientOf(dropbox, []),
  };
  app = await buildConnectApi();
});
afterAll(async () => {
  await app?.close();
  await google?.close();
  await dropbox?.close();
  await h?.close();
});

/** POST /v1/connect/{platform}, then the browser's visit to the consent page: answers the callback path and query. */
async function startAndConsent(platform: string, api: FastifyInstance = app): Promise<{ callback: string; started: LightMyRequestResponse }> {
  const started = await api.inject({ method: 'POST', url: `/v1/connect/${platform}`, headers: asAlice });
  expect(started.statusCode).toBe(200);
  const consent = await fetch(started.json().authorize_url as string, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  const location = consent.headers.get('location') ?? '';
  expect(location.startsWith(`${PUBLIC_BASE_URL}/v1/connect/${platform}/callback?`)).toBe(true);
  // The API is mounted under /fleet at the public URL; the test talks to it directly.
  return { callback: location.slice(PUBLIC_BASE_URL.length), started };
}

const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const authSecretOnPage = (html: string) => /id="auth-secret">(ufc_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)</.exec(html)?.[1];

/** Every credential key under the prefix, sorted (SCAN has no order). */
async function credentialKeys(): Promise<string[]> {
  return [...(await dumpPrefix(h.redisUrl, h.prefix)).keys()].filter((k) => k.includes(':credential:')).sort();
}

describe.each(PLATFORMS)('connect flow for $platform', ({ platform, provider, fake }) => {
  it('POST -> consent -> callback page shows an auth_secret that works in the workers, refreshing expired tokens', async () => {
    const { callback, started } = await startAndConsent(platform);
    expect(started.headers['cache-control']).toBe('no-store');
    expect(started.json()).toMatchObject({ expires_in: 600, redirect_uri: `${PUBLIC_BASE_URL}/v1/connect/${platform}/callback` });

    // The consent request asked for offline access with PKCE S256.
    const asked = fake().authorizeRequests.at(-1)!.query;
    expect(asked).toMatchObject({ response_type: 'code', code_challenge_method: 'S256', client_id: fake().clientId });
    expect(asked).toMatchObject(provider === 'google' ? { access_type: 'offline', prompt: 'consent' } : { token_access_type: 'offline' });

    const page = await app.inject({ method: 'GET', url: callback, headers: browser });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const authSecret = authSecretOnPage(page.body);
    expect(authSecret).toBeDefined();
    expect(page.body).toContain('shown only this once');

    // A worker turns the auth_secret into an access token the platform accepts.
    const credentials = workerCredentials();
    const token = await credentials.accessToken(provider, authSecret!);
    expect(fake().isValidAccessToken(token)).toBe(true);

    // Once that token has expired (the platform answers 401), the worker refreshes it.
    fake().expireAccessTokens();
    const refreshesBefore = fake().refreshCount;
    const fresh = await credentials.accessToken(provider, authSecret!, token);
    expect(fresh).not.toBe(token);
    expect(fake().isValidAccessToken(fresh)).toBe(true);
    expect(fake().refreshCount).toBe(refreshesBefore + 1);

    // The owner sees the credential's status; another API key does not. A credential is the
    // provider's, shared by its platforms (Google: Google Drive and YouTube): the status names the first.
    const id = authSecret!.slice(4, authSecret!.indexOf('.'));
    const status = await app.inject({ method: 'GET', url: `/v1/connect/credentials/${id}`, headers: asAlice });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ credential_id: id, platform: traitsOf(provider).platform, provider, status: 'active' });
    expect(status.body).not.toContain(authSecret!.split('.')[1]);
    expect((await app.inject({ method: 'GET', url: `/v1/connect/credentials/${id}`, headers: asBob })).statusCode).toBe(403);
  });

  it('answers JSON to "Accept: application/json", and the callback works once', async () => {
    const { callback } = await startAndConsent(platform);
    const res = await app.inject({ method: 'GET', url: callback, headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({ platform, provider, auth_secret: expect.stringMatching(/^ufc_/), credential_id: expect.any(String) });
    expect(fake().isValidAccessToken(await workerCredentials().accessToken(provider, body.auth_secret))).toBe(true);

    const replay = await app.inject({ method: 'GET', url: callback, headers: { accept: 'application/json' } });
    expect(replay.statusCode).toBe(400);
    expect(replay.headers['cache-control']).toBe('no-store');
    expect(replay.json().error).toMatchObject({ code: 'UF_CONNECT_FAILED', reason: 'invalid_state', message: expect.stringContaining('already used') });
  });

  it('denied consent answers a clear 400 page and stores nothing', async () => {
    const before = await credentialKeys();
    fake().denyNextConsent();
    const { callback } = await startAndConsent(platform);
    expect(callback).toContain('error=access_denied');
    const page = await app.inject({ method: 'GET', url: callback, headers: browser });
    expect(page.statusCode).toBe(400);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('was not granted');
    expect(page.body).toContain(`POST /v1/connect/${platform}`);
    expect(page.body).not.toContain('ufc_');
    expect(await credentialKeys()).toEqual(before);

    fake().denyNextConsent();
    const again = await startAndConsent(platform);
    const json = await app.inject({ method: 'GET', url: again.callback, headers: { accept: 'application/json' } });
    expect(json.json().error).toMatchObject({ code: 'UF_CONNECT_FAILED', reason: 'access_denied' });
  });
});

describe('connect flow errors', () => {
  it('an expired state answers 400 invalid_state', async () => {
    const quick = await buildConnectApi({ stateTtlSeconds: 1 });
    const { callback } = await startAndConsent('youtube', quick);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const res = await quick.inject({ method: 'GET', url: callback, headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'UF_CONNECT_FAILED', reason: 'invalid_state', message: expect.stringContaining('expired') });
    await quick.close();
  });

  it('a forged or missing state, a state of another platform and a callback without code answer 400', async () => {
    for (const url of ['/v1/connect/youtube/callback?code=abc&state=forged', '/v1/connect/youtube/callback?code=abc', '/v1/connect/dropbox/callback?state=x&state=y']) {
      const res = await app.inject({ method: 'GET', url, headers: browser });
      expect(res.statusCode, url).toBe(400);
      expect(res.body, url).toContain('UF_CONNECT_FAILED');
    }
    // A youtube flow's callback arriving at the dropbox callback is refused (and burns the state).
    const { callback } = await startAndConsent('youtube');
    const crossed = await app.inject({ method: 'GET', url: callback.replace('/youtube/', '/dropbox/'), headers: { accept: 'application/json' } });
    expect(crossed.json().error.reason).toBe('invalid_state');
  });

  it('the start needs an API key; unknown platforms answer 404', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/connect/youtube' })).statusCode).toBe(401);
    const unknown = await app.inject({ method: 'POST', url: '/v1/connect/myspace', headers: asAlice });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toMatch(/the platforms are .*dropbox/);
    expect(unknown.json().error.message).toMatch(/the platforms are .*youtube/);
    expect((await app.inject({ method: 'GET', url: '/v1/connect/myspace/callback?state=x' })).statusCode).toBe(404);
  });

  it('without OAuth clients the routes answer 503 saying what to configure', async () => {
    const bare = buildApi({ producer: h.producer, apiKeys: [ALICE], logger: createLogger({ level: 'silent' }) });
    const start = await bare.inject({ method: 'POST', url: '/v1/connect/youtube', headers: asAlice });
    expect(start.statusCode).toBe(503);
    expect(start.json().error).toMatchObject({ code: 'UF_CONNECT_NOT_CONFIGURED', message: expect.stringContaining('GOOGLE_OAUTH_CLIENT_ID') });
    const callback = await bare.inject({ method: 'GET', url: '/v1/connect/dropbox/callback?code=a&state=b', headers: browser });
    expect(callback.statusCode).toBe(503);
    expect(callback.body).toContain('DROPBOX_OAUTH_CLIENT_ID');
    await bare.close();

    const googleOnly = await buildConnectApi({ oauth: { publicBaseUrl: PUBLIC_BASE_URL, google: oauth.google! } });
    expect((await googleOnly.inject({ method: 'POST', url: '/v1/connect/dropbox', headers: asAlice })).statusCode).toBe(503);
    expect((await googleOnly.inject({ method: 'POST', url: '/v1/connect/youtube', headers: asAlice })).statusCode).toBe(200);
    await googleOnly.close();
  });

  it('invalid_grant marks the credential for reconnection: the worker fails saying "reconnect" and the status shows it', async () => {
    const { callback } = await startAndConsent('youtube');
    const { auth_secret: authSecret, credential_id: id } = (await app.inject({ method: 'GET', url: callback, headers: { accept: 'application/json' } })).json();
    // The user removes the app's access in their Google account; the cached token has expired.
    google.revokeAllRefreshTokens();
    google.expireAccessTokens();
    const credentials = workerCredentials();
    const cached = await credentials.accessToken('google', authSecret);
    const error = await credentials.accessToken('google', authSecret, cached).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetError);
    expect(error).toMatchObject({ code: 'UF_RECONNECT_REQUIRED', destination: traitsOf('google').platform });
    expect((error as Error).message).toMatch(/reconnect/i);
    const status = await app.inject({ method: 'GET', url: `/v1/connect/credentials/${id}`, headers: asAlice });
    expect(status.json()).toMatchObject({ status: 'reconnect_required', reconnect_reason: expect.stringContaining('invalid_grant') });
  });

  it('DELETE revokes the auth_secret at once', async () => {
    const { callback } = await startAndConsent('dropbox');
    const { auth_secret: authSecret, credential_id: id } = (await app.inject({ method: 'GET', url: callback, headers: { accept: 'application/json' } })).json();
    expect((await app.inject({ method: 'DELETE', url: `/v1/connect/credentials/${id}`, headers: asBob })).statusCode).toBe(403);
    const deleted = await app.inject({ method: 'DELETE', url: `/v1/connect/credentials/${id}`, headers: asAlice });
    expect(deleted.json()).toEqual({ credential_id: id, deleted: true });
    expect((await app.inject({ method: 'GET', url: `/v1/connect/credentials/${id}`, headers: asAlice })).statusCode).toBe(404);
    await expect(workerCredentials().accessToken('dropbox', authSecret)).rejects.toMatchObject({ code: 'UF_CREDENTIALS_INVALID' });
  });

  it('logs neither the code, the state nor the auth_secret, and stores no token in plaintext', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    const logged = await buildConnectApi({}, logger);
    const { callback } = await startAndConsent('dropbox', logged);
    const res = await logged.inject({ method: 'GET', url: callback, headers: { accept: 'application/json' } });
    const { auth_secret: authSecret } = res.json();
    await logged.close();
    const query = new URL(callback, 'http://x').searchParams;
    const log = lines.join('');
    expect(log).toContain('account connected');
    for (const secret of [query.get('code')!, query.get('state')!, authSecret as string]) expect(log).not.toContain(secret);

    const dump = [...(await dumpPrefix(h.redisUrl, h.prefix)).values()].join('\n');
    const token = await workerCredentials().accessToken('dropbox', authSecret);
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(authSecret.split('.')[1]);
    expect(dump).not.toContain('fake-refresh-');
  });
});
