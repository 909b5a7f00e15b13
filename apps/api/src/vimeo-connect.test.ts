/**
 * Vimeo's connect flow as the registry derives it (`connect` of the vimeo definition),
 * against the fake OAuth server's Vimeo flavor, which answers the token request as Vimeo
 * documents it: an access token that does not expire and no refresh token.
 *
 * It proves the request side (Vimeo's authorize URL with the scopes and state, the code
 * exchanged with HTTP Basic client authentication) and records what the fleet does today
 * with Vimeo's answer: the credentials package holds only credentials with a refresh token,
 * so it stores nothing and says so (docs/destinations/vimeo.md, "auth_secret"). When the
 * credentials package learns non-expiring tokens, the last expectation changes.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, createLogger } from '@upload-fleet/core';
import { CredentialStore } from '@upload-fleet/credentials';
import { dumpPrefix, startFakeOAuthServer, type FakeOAuthServer } from '@upload-fleet/testkit';
import { buildApi } from './server.js';
import { ALICE, BOB, asAlice, startHarness, type Harness } from './test-harness.js';

const PUBLIC_BASE_URL = 'https://uploads.example.test/fleet';
const SCOPES = ['public', 'private', 'upload', 'edit', 'video_files'];

describe('the vimeo connect flow', () => {
  let h: Harness;
  let vimeo: FakeOAuthServer;
  let app: FastifyInstance;

  beforeAll(async () => {
    h = await startHarness('api-vimeo-connect');
    vimeo = await startFakeOAuthServer({ flavor: 'vimeo' });
    const oauth = {
      publicBaseUrl: PUBLIC_BASE_URL,
      vimeo: { clientId: vimeo.clientId, clientSecret: vimeo.clientSecret, authUrl: vimeo.authorizeUrl, tokenUrl: vimeo.tokenUrl, scopes: SCOPES },
    };
    const store = new CredentialStore({ connection: h.redis, prefix: h.prefix, secretBox: new SecretBox([{ id: 'test', key: randomBytes(32) }]) });
    app = buildApi({ producer: h.producer, apiKeys: [ALICE, BOB], logger: createLogger({ level: 'silent' }), connect: { store, oauth } });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await vimeo?.close();
    await h?.close();
  });

  it('sends the user to Vimeo\'s consent with the scopes, exchanges the code with HTTP Basic, and stores nothing without a refresh token', async () => {
    const started = await app.inject({ method: 'POST', url: '/v1/connect/vimeo', headers: asAlice });
    expect(started.statusCode, started.body).toBe(200);
    const consent = await fetch(started.json().authorize_url as string, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const asked = vimeo.authorizeRequests.at(-1)!;
    expect(asked.outcome).toBe('code');
    expect(asked.query).toMatchObject({ response_type: 'code', client_id: vimeo.clientId, redirect_uri: `${PUBLIC_BASE_URL}/v1/connect/vimeo/callback`, state: expect.any(String) });
    expect(asked.query.scope!.split(' ').sort()).toEqual([...SCOPES].sort());

    const callback = (consent.headers.get('location') ?? '').slice(PUBLIC_BASE_URL.length);
    const answer = await app.inject({ method: 'GET', url: callback, headers: { accept: 'application/json' } });
    expect(vimeo.tokenRequests.at(-1)).toMatchObject({ grantType: 'authorization_code', clientAuth: 'basic', status: 200 });
    expect(answer.statusCode).toBe(502);
    expect(answer.json().error).toMatchObject({ code: 'UF_CONNECT_FAILED', reason: 'no_refresh_token' });
    expect([...(await dumpPrefix(h.redisUrl, h.prefix)).keys()].filter((k) => k.includes(':credential:'))).toEqual([]);
  });
});
