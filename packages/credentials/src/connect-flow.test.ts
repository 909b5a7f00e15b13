import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '@upload-fleet/core';
import { deletePrefix, startFakeOAuthServer, testRedisUrl, uniquePrefix, type FakeOAuthServer } from '@upload-fleet/testkit';
import { ConnectError, ConnectFlow } from './connect-flow.js';
import { CredentialStore } from './credential-store.js';
import type { OAuthSettings } from './oauth-settings.js';

const GOOGLE_SCOPES = ['https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube'];

const REDIRECT = 'https://uploads.example.com/v1/connect/youtube/callback';

let redis: Redis;
let google: FakeOAuthServer;
let store: CredentialStore;
let flow: ConnectFlow;
const prefix = uniquePrefix('connect-flow');

beforeAll(async () => {
  redis = new Redis(testRedisUrl());
  google = await startFakeOAuthServer({ flavor: 'google' });
  store = new CredentialStore({ connection: redis, prefix, secretBox: new SecretBox([{ id: 't', key: randomBytes(32) }]) });
  const oauth: OAuthSettings = {
    google: { clientId: google.clientId, clientSecret: google.clientSecret, authUrl: google.authorizeUrl, tokenUrl: google.tokenUrl, scopes: GOOGLE_SCOPES },
  };
  flow = new ConnectFlow({ store, oauth });
});
afterAll(async () => {
  await google?.close();
  await deletePrefix(testRedisUrl(), prefix);
  redis?.disconnect();
});

/** Follows the consent URL like a browser whose user clicks "Allow": answers the callback's query. */
async function consent(authorizeUrl: string): Promise<URLSearchParams> {
  const res = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '').searchParams;
}

const callbackOf = (query: URLSearchParams) => ({
  provider: 'google' as const,
  // The callback of /v1/connect/youtube: the result names the platform the user connected for.
  platform: 'youtube',
  state: query.get('state') ?? undefined,
  code: query.get('code') ?? undefined,
  error: query.get('error') ?? undefined,
});

describe('ConnectFlow', () => {
  it('asks Google for offline access with consent, PKCE S256 and a state, and stores the refresh token as a credential', async () => {
    const { authorizeUrl, expiresInSeconds } = await flow.begin({ provider: 'google', owner: 'alice', redirectUri: REDIRECT });
    expect(expiresInSeconds).toBe(600);
    const params = new URL(authorizeUrl).searchParams;
    expect(Object.fromEntries(params)).toMatchObject({
      client_id: google.clientId,
      redirect_uri: REDIRECT,
      response_type: 'code',
      access_type: 'offline',
      prompt: 'consent',
      code_challenge_method: 'S256',
      scope: GOOGLE_SCOPES.join(' '),
    });
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const result = await flow.complete(callbackOf(await consent(authorizeUrl)));
    expect(result).toMatchObject({ provider: 'google', platform: 'youtube', owner: 'alice' });
    expect(result.authSecret).toMatch(/^ufc_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(result.authSecret.startsWith(`ufc_${result.credentialId}.`)).toBe(true);
    expect(await store.info(result.credentialId)).toMatchObject({ status: 'active', owner: 'alice', provider: 'google' });
    // The verifier went to the token endpoint (the fake checked it against the challenge).
    expect(google.tokenRequests.at(-1)).toMatchObject({ grantType: 'authorization_code', status: 200, clientAuth: 'body' });
  });

  it('uses a state once: a replayed callback is refused', async () => {
    const { authorizeUrl } = await flow.begin({ provider: 'google', owner: 'alice', redirectUri: REDIRECT });
    const query = await consent(authorizeUrl);
    await flow.complete(callbackOf(query));
    const replay = await flow.complete(callbackOf(query)).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(ConnectError);
    expect(replay).toMatchObject({ reason: 'invalid_state', statusCode: 400 });
  });

  it('refuses a grant without every scope asked for, and a flow that did not ask for offline access gets no refresh token', async () => {
    const { authorizeUrl } = await flow.begin({ provider: 'google', owner: 'alice', redirectUri: REDIRECT });
    const partial = new URL(authorizeUrl);
    partial.searchParams.set('scope', GOOGLE_SCOPES[0]!);
    const partialResult = await flow.complete(callbackOf(await consent(partial.toString()))).catch((e: unknown) => e);
    expect(partialResult).toMatchObject({ reason: 'scope_not_granted', statusCode: 400 });
    expect((partialResult as Error).message).toContain(GOOGLE_SCOPES[1]);

    const { authorizeUrl: second } = await flow.begin({ provider: 'google', owner: 'alice', redirectUri: REDIRECT });
    const online = new URL(second);
    online.searchParams.delete('access_type');
    const onlineResult = await flow.complete(callbackOf(await consent(online.toString()))).catch((e: unknown) => e);
    expect(onlineResult).toMatchObject({ reason: 'no_refresh_token', statusCode: 502 });
  });

  it('refuses a provider without a client with not_configured', async () => {
    await expect(flow.begin({ provider: 'dropbox', owner: 'alice', redirectUri: REDIRECT })).rejects.toMatchObject({ reason: 'not_configured', statusCode: 503 });
  });
});
