import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetError, SecretBox } from '@upload-fleet/core';
import type { OAuthProvider } from '@upload-fleet/destinations';
import { deletePrefix, dumpPrefix, startFakeOAuthServer, testRedisUrl, uniquePrefix, type FakeOAuthServer } from '@upload-fleet/testkit';
import { createCredentialProvider, type CredentialProviderOptions } from './credential-provider.js';
import { CredentialStore } from './credential-store.js';
import type { OAuthClientSettings, OAuthSettings } from './oauth-settings.js';

const secretBox = new SecretBox([{ id: 'test', key: randomBytes(32) }]);

let redis: Redis;
let google: FakeOAuthServer;
let dropbox: FakeOAuthServer;
let prefix: string;

const clientOf = (fake: FakeOAuthServer): OAuthClientSettings => ({
  clientId: fake.clientId,
  clientSecret: fake.clientSecret,
  authUrl: fake.authorizeUrl,
  tokenUrl: fake.tokenUrl,
  scopes: [],
});
const oauth = (): OAuthSettings => ({ google: clientOf(google), dropbox: clientOf(dropbox) });

/** A provider as one worker process would have it: its own Redis connection. */
function worker(overrides: Partial<CredentialProviderOptions> = {}) {
  const connection = new Redis(testRedisUrl());
  connections.push(connection);
  return createCredentialProvider({ connection, prefix, secretBox, oauth: oauth(), ...overrides });
}
const connections: Redis[] = [];

/** A credential as the connect flow leaves it, with a refresh token the fake knows. */
async function connected(fake: FakeOAuthServer, provider: OAuthProvider, options: { accessToken?: string } = {}) {
  const refreshToken = fake.issueRefreshToken();
  const store = new CredentialStore({ connection: redis, prefix, secretBox });
  const created = await store.create({
    provider,
    owner: 'alice',
    refreshToken,
    ...(options.accessToken ? { accessToken: { token: options.accessToken, expiresInSeconds: 3600 } } : {}),
  });
  return { ...created, refreshToken, store };
}

async function rejection(promise: Promise<unknown>): Promise<FleetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

beforeAll(async () => {
  redis = new Redis(testRedisUrl());
  google = await startFakeOAuthServer({ flavor: 'google' });
  dropbox = await startFakeOAuthServer({ flavor: 'dropbox' });
});
afterAll(async () => {
  await google?.close();
  await dropbox?.close();
  redis?.disconnect();
});
beforeEach(() => {
  prefix = uniquePrefix('credentials');
  google.setTokenDelayMs(0);
  google.setTokenFaults([]);
});
afterEach(async () => {
  await deletePrefix(testRedisUrl(), prefix);
  for (const c of connections.splice(0)) c.disconnect();
});

describe('access tokens of auth_secret credentials', () => {
  it('refreshes a credential without a cached token, caches the token until shortly before expiry, then refreshes it', async () => {
    let clock = Date.now();
    const provider = worker({ now: () => clock });
    const { authSecret } = await connected(google, 'google');
    const before = google.refreshCount;

    const first = await provider.accessToken('google', authSecret);
    expect(google.isValidAccessToken(first)).toBe(true);
    expect(google.refreshCount).toBe(before + 1);

    // Google's tokens live 3599 s; served from the cache until 60 s before that.
    clock += 3_500_000;
    expect(await provider.accessToken('google', authSecret)).toBe(first);
    expect(google.refreshCount).toBe(before + 1);

    clock += 50_000; // 3550 s: inside the 60 s margin, the expired-soon token is refreshed
    const second = await provider.accessToken('google', authSecret);
    expect(second).not.toBe(first);
    expect(google.isValidAccessToken(second)).toBe(true);
    expect(google.refreshCount).toBe(before + 2);
  });

  it('refreshes an expired token for real: the new token is accepted where the old one no longer is', async () => {
    const provider = worker();
    const { authSecret } = await connected(dropbox, 'dropbox');
    const old = await provider.accessToken('dropbox', authSecret);
    dropbox.expireAccessTokens();
    expect(dropbox.isValidAccessToken(old)).toBe(false);
    // The platform answers 401 for the old token; the adapter passes it back as rejected.
    const fresh = await provider.accessToken('dropbox', authSecret, old);
    expect(fresh).not.toBe(old);
    expect(dropbox.isValidAccessToken(fresh)).toBe(true);
    // Dropbox authenticates the client with HTTP Basic, Google with the form body.
    expect(dropbox.tokenRequests.at(-1)?.clientAuth).toBe('basic');
    await provider.accessToken('google', (await connected(google, 'google')).authSecret);
    expect(google.tokenRequests.at(-1)?.clientAuth).toBe('body');
  });

  it('20 concurrent requests from 3 workers refresh the credential exactly once, and all get the same valid token', async () => {
    const workers = [worker(), worker(), worker()];
    const { authSecret } = await connected(google, 'google');
    google.setTokenDelayMs(300);
    const before = google.refreshCount;
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => workers[i % 3]!.accessToken('google', authSecret)));
    expect(google.refreshCount - before).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(google.isValidAccessToken(tokens[0])).toBe(true);
  });

  it('one request from each of 8 workers refreshes once: the Redis lock, not the process, decides', async () => {
    const workers = Array.from({ length: 8 }, () => worker());
    const { authSecret } = await connected(dropbox, 'dropbox');
    dropbox.setTokenDelayMs(200);
    const before = dropbox.refreshCount;
    try {
      const tokens = await Promise.all(workers.map((w) => w.accessToken('dropbox', authSecret)));
      expect(dropbox.refreshCount - before).toBe(1);
      expect(new Set(tokens).size).toBe(1);
    } finally {
      dropbox.setTokenDelayMs(0);
    }
  });

  it('a rejected token is refreshed once, however many workers report it; a token that is not the cached one is not refreshed again', async () => {
    const workers = [worker(), worker(), worker()];
    const { authSecret } = await connected(google, 'google');
    const first = await workers[0]!.accessToken('google', authSecret);
    const afterFirst = google.refreshCount;
    google.setTokenDelayMs(200);

    const tokens = await Promise.all(Array.from({ length: 9 }, (_, i) => workers[i % 3]!.accessToken('google', authSecret, first)));
    expect(google.refreshCount - afterFirst).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(first);

    // A worker that still reports the old token gets the new one, without another refresh.
    expect(await workers[1]!.accessToken('google', authSecret, first)).toBe(tokens[0]);
    expect(google.refreshCount - afterFirst).toBe(1);
  });

  it('serves the token of the code exchange without a refresh', async () => {
    const provider = worker();
    const { authSecret } = await connected(google, 'google', { accessToken: 'ya29.from-the-code-exchange' });
    const before = google.refreshCount;
    expect(await provider.accessToken('google', authSecret)).toBe('ya29.from-the-code-exchange');
    expect(google.refreshCount).toBe(before);
  });

  it('invalid_grant marks the credential reconnect_required and fails with a message that says to reconnect; later calls fail fast without the token endpoint', async () => {
    const workers = [worker(), worker()];
    const { authSecret, id, refreshToken, store } = await connected(google, 'google');
    google.revokeRefreshToken(refreshToken);
    const requestsBefore = google.tokenRequests.length;

    // A YouTube upload and a Drive upload of one Google connection: each error names its own platform's connect flow.
    const errors = await Promise.all([rejection(workers[0]!.accessToken('google', authSecret, undefined, 'youtube')), rejection(workers[1]!.accessToken('google', authSecret, undefined, 'youtube'))]);
    for (const error of errors) {
      expect(error.code).toBe('UF_RECONNECT_REQUIRED');
      expect(error.category).toBe('auth');
      expect(error.retryable).toBe(false);
      expect(error.destination).toBe('youtube');
      expect(error.message).toMatch(/reconnect/i);
      expect(error.message).toContain('POST /v1/connect/youtube');
      expect(error.message).not.toContain(authSecret);
      expect(error.message).not.toContain(refreshToken);
    }
    expect(errors.some((e) => e.message.includes('Token has been expired or revoked.'))).toBe(true);
    expect(google.tokenRequests.length - requestsBefore).toBe(1);
    expect(await store.info(id)).toMatchObject({ status: 'reconnect_required', reconnectReason: 'invalid_grant: Token has been expired or revoked.' });

    const later = await rejection(worker().accessToken('google', authSecret, undefined, 'googledrive'));
    expect(later.code).toBe('UF_RECONNECT_REQUIRED');
    expect(later.destination).toBe('googledrive');
    expect(later.message).toContain('POST /v1/connect/googledrive');
    expect(later.message).toMatch(/reconnect/i);
    expect(google.tokenRequests.length - requestsBefore).toBe(1);
  });

  it('serves a long-lived access token (Vimeo: no refresh token) for as long as the platform takes it, and marks it reconnect_required once rejected', async () => {
    const clock = { now: Date.now() };
    const vimeo: OAuthClientSettings = { clientId: 'vimeo-client', clientSecret: 'vimeo-client-secret', authUrl: 'http://127.0.0.1:9/authorize', tokenUrl: 'http://127.0.0.1:9/token', scopes: [] };
    const workers = [worker({ oauth: { ...oauth(), vimeo }, now: () => clock.now }), worker({ oauth: { ...oauth(), vimeo }, now: () => clock.now })];
    const store = new CredentialStore({ connection: redis, prefix, secretBox, now: () => clock.now });
    const { authSecret, id } = await store.create({ provider: 'vimeo', owner: 'alice', accessToken: { token: 'vimeo-long-lived-token', expiresInSeconds: 'never' } });
    expect(await redis.hget(store.key(id), 'refresh')).toBeNull();

    // A year later it is still the token: nothing expires it, and nothing asks a token endpoint (127.0.0.1:9 answers nobody).
    clock.now += 365 * 24 * 3600 * 1000;
    expect(await workers[0]!.accessToken('vimeo', authSecret)).toBe('vimeo-long-lived-token');

    // Vimeo answered 401: nothing can renew it, for either worker, and the credential asks to be connected again.
    const errors = await Promise.all(workers.map((w) => rejection(w.accessToken('vimeo', authSecret, 'vimeo-long-lived-token'))));
    for (const error of errors) {
      expect(error.code).toBe('UF_RECONNECT_REQUIRED');
      expect(error.message).toContain('POST /v1/connect/vimeo');
      expect(error.message).not.toContain('vimeo-long-lived-token');
    }
    expect(await store.info(id)).toMatchObject({ status: 'reconnect_required', reconnectReason: expect.stringMatching(/Vimeo rejected the access token/) });
    expect((await rejection(workers[0]!.accessToken('vimeo', authSecret))).code).toBe('UF_RECONNECT_REQUIRED');
  });

  it('Dropbox\'s invalid_grant is handled the same way', async () => {
    const { authSecret, refreshToken } = await connected(dropbox, 'dropbox');
    dropbox.revokeRefreshToken(refreshToken);
    const error = await rejection(worker().accessToken('dropbox', authSecret));
    expect(error.code).toBe('UF_RECONNECT_REQUIRED');
    expect(error.destination).toBe('dropbox');
    expect(error.message).toContain('POST /v1/connect/dropbox');
  });

  it('answers UF_CREDENTIALS_INVALID for a malformed, unknown, wrong-secret, other-provider or deleted auth_secret', async () => {
    const provider = worker();
    const { authSecret, id, store } = await connected(google, 'google');
    const [, secretPart] = authSecret.split('.');
    const wrongSecret = `${authSecret.slice(0, authSecret.indexOf('.') + 1)}${'A'.repeat(secretPart!.length)}`;
    const unknownId = `ufc_${'B'.repeat(22)}.${secretPart}`;
    for (const [name, secret, provider_] of [
      ['malformed', 'not-an-auth-secret', 'google'],
      ['unknown id', unknownId, 'google'],
      ['wrong secret part', wrongSecret, 'google'],
      ['other provider', authSecret, 'dropbox'],
    ] as const) {
      const error = await rejection(provider.accessToken(provider_, secret));
      expect(error.code, name).toBe('UF_CREDENTIALS_INVALID');
      expect(error.retryable, name).toBe(false);
      expect(error.message, name).not.toContain(secretPart);
    }
    expect(await store.delete(id)).toBe(true);
    expect((await rejection(provider.accessToken('google', authSecret))).code).toBe('UF_CREDENTIALS_INVALID');
  });

  it('answers UF_CONFIGURATION for a provider without an OAuth client', async () => {
    const provider = worker({ oauth: { google: clientOf(google) } });
    const { authSecret } = await connected(dropbox, 'dropbox');
    const error = await rejection(provider.accessToken('dropbox', authSecret));
    expect(error.code).toBe('UF_CONFIGURATION');
    expect(error.message).toContain('DROPBOX_OAUTH_CLIENT_ID');
  });

  it('maps token endpoint failures to transient errors, answers one failure to the workers waiting for it, and recovers', async () => {
    const workers = [worker(), worker()];
    const { authSecret } = await connected(google, 'google');
    google.setTokenFaults([{ status: 503, body: '{"error":"internal_failure"}', headers: { 'retry-after': '7' } }]);
    google.setTokenDelayMs(200);
    const requestsBefore = google.tokenRequests.length;
    // A YouTube upload and a Drive upload of one Google connection: each error names its own platform's connect flow.
    const errors = await Promise.all([rejection(workers[0]!.accessToken('google', authSecret, undefined, 'youtube')), rejection(workers[1]!.accessToken('google', authSecret, undefined, 'youtube'))]);
    for (const error of errors) {
      expect(error.code).toBe('UF_DESTINATION_UNAVAILABLE');
      expect(error.retryable).toBe(true);
      expect(error.retryAfterMs).toBe(7000);
    }
    expect(google.tokenRequests.length - requestsBefore).toBe(1);

    // After the memo window, the next request refreshes normally.
    google.setTokenDelayMs(0);
    const later = worker({ failureMemoMs: 0 });
    expect(google.isValidAccessToken(await later.accessToken('google', authSecret))).toBe(true);
  });

  it('classifies unreachable endpoints, timeouts and a refused client', async () => {
    const { authSecret } = await connected(google, 'google');
    const unreachable = worker({ oauth: { google: { ...clientOf(google), tokenUrl: 'http://127.0.0.1:1/token' } }, failureMemoMs: 0 });
    expect((await rejection(unreachable.accessToken('google', authSecret))).code).toBe('UF_NETWORK');

    google.setTokenDelayMs(500);
    const impatient = worker({ requestTimeoutMs: 100, failureMemoMs: 0 });
    expect((await rejection(impatient.accessToken('google', authSecret))).code).toBe('UF_TIMEOUT');
    google.setTokenDelayMs(0);

    const wrongClient = worker({ oauth: { google: { ...clientOf(google), clientSecret: 'not-the-secret' } }, failureMemoMs: 0 });
    const refused = await rejection(wrongClient.accessToken('google', authSecret));
    expect(refused.code).toBe('UF_CONFIGURATION');
    expect(refused.message).toContain('GOOGLE_OAUTH_CLIENT_SECRET');
    expect(refused.message).not.toContain('not-the-secret');
  });

  it('a worker that died holding the refresh lock delays the others only until the lock expires', async () => {
    const { authSecret, id, store } = await connected(google, 'google');
    const dead = await store.acquireRefreshLock(id, 300);
    expect(dead.outcome).toBe('acquired');
    const started = Date.now();
    const token = await worker().accessToken('google', authSecret);
    expect(google.isValidAccessToken(token)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('keeps refresh tokens, access tokens and the auth_secret out of Redis in plaintext', async () => {
    const provider = worker();
    const { authSecret, refreshToken } = await connected(dropbox, 'dropbox');
    const accessToken = await provider.accessToken('dropbox', authSecret);
    const secretPart = authSecret.split('.')[1]!;
    const dump = [...(await dumpPrefix(testRedisUrl(), prefix))].map(([key, value]) => `${key} ${value}`).join('\n');
    expect(dump).toContain(':credential:');
    for (const plaintext of [refreshToken, accessToken, secretPart, authSecret]) {
      expect(dump).not.toContain(plaintext);
      expect(dump).not.toContain(Buffer.from(plaintext).toString('base64'));
    }
  });
});
