/**
 * Vimeo's connect flow as the registry derives it (`connect` of the vimeo definition),
 * against the fake OAuth server's Vimeo flavor, which answers the token request as Vimeo
 * documents it: an access token that does not expire and no refresh token.
 *
 * Vimeo's provider is `accessTokens: 'long-lived'`, so the fleet keeps the access token
 * itself as the credential. Proven here end to end: Vimeo's authorize URL with the scopes
 * and state, the code exchanged with HTTP Basic client authentication, the credential
 * stored without a refresh token, an upload by a worker process with the auth_secret to the
 * Vimeo fake (which takes only the tokens the OAuth fake issued), and, once the user revoked
 * the token, a failure after one attempt that asks to reconnect, with no token request.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, createLogger } from '@upload-fleet/core';
import { CredentialStore } from '@upload-fleet/credentials';
import { dumpPrefix, startFakeOAuthServer, startVimeoFake, type FakeOAuthServer, type VimeoFake, type WorkerProcess } from '@upload-fleet/testkit';
import { buildApi } from './server.js';
import { ALICE, BOB, asAlice, deliveryEnd, startHarness, startHarnessWorker, type Harness } from './test-harness.js';

const PUBLIC_BASE_URL = 'https://uploads.example.test/fleet';
const SCOPES = ['public', 'private', 'upload', 'edit', 'video_files'];

describe('the vimeo connect flow, and uploads with its auth_secret', () => {
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-vimeo-connect-'));
  let h: Harness;
  let oauthServer: FakeOAuthServer;
  let vimeo: VimeoFake;
  let app: FastifyInstance;
  let store: CredentialStore;
  let worker: WorkerProcess;

  beforeAll(async () => {
    h = await startHarness('api-vimeo-connect');
    const secretBox = SecretBox.fromConfig(h.encryptionKeys);
    // A long token lifetime: Vimeo's tokens do not expire; revoking one is `expireAccessTokens`.
    oauthServer = await startFakeOAuthServer({ flavor: 'vimeo', accessTokenTtlSeconds: 86_400 });
    vimeo = await startVimeoFake({ validateToken: (token) => oauthServer.isValidAccessToken(token) });
    const oauth = {
      publicBaseUrl: PUBLIC_BASE_URL,
      vimeo: { clientId: oauthServer.clientId, clientSecret: oauthServer.clientSecret, authUrl: oauthServer.authorizeUrl, tokenUrl: oauthServer.tokenUrl, scopes: SCOPES },
    };
    store = new CredentialStore({ connection: h.redis, prefix: h.prefix, secretBox });
    app = buildApi({ producer: h.producer, apiKeys: [ALICE, BOB], logger: createLogger({ level: 'silent' }), connect: { store, oauth } });
    await app.ready();
    worker = startHarnessWorker(h, 'vimeo', sourceRoot, {
      VIMEO_API_BASE_URL: vimeo.apiBaseUrl,
      VIMEO_CHUNK_BYTES: String(1024 * 1024),
      VIMEO_TRANSCODE_WAIT_MS: '0',
      VIMEO_OAUTH_CLIENT_ID: oauthServer.clientId,
      VIMEO_OAUTH_CLIENT_SECRET: oauthServer.clientSecret,
      VIMEO_OAUTH_AUTH_URL: oauthServer.authorizeUrl,
      VIMEO_OAUTH_TOKEN_URL: oauthServer.tokenUrl,
    });
  }, 60_000);
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await worker?.exited;
    await app?.close();
    await vimeo?.close();
    await oauthServer?.close();
    await h?.close();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  /** Through the API and the worker process, to the end state. */
  async function deliver(name: string, authSecret: string, bytes: Buffer) {
    writeFileSync(join(sourceRoot, `${name}.mp4`), bytes);
    const submitted = await h.app.inject({
      method: 'POST',
      url: '/v1/deliveries',
      headers: asAlice,
      payload: { source: { path: `${name}.mp4` }, upload: { destination: { type: 'vimeo', name, auth_secret: authSecret } } },
    });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const { token } = submitted.json<{ token: string }>();
    return deliveryEnd(h, token, 60_000);
  }

  it('connects, uploads with the auth_secret, and asks to reconnect once the token was revoked', async () => {
    const started = await app.inject({ method: 'POST', url: '/v1/connect/vimeo', headers: asAlice });
    expect(started.statusCode, started.body).toBe(200);
    const consent = await fetch(started.json().authorize_url as string, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const asked = oauthServer.authorizeRequests.at(-1)!;
    expect(asked.outcome).toBe('code');
    expect(asked.query).toMatchObject({ response_type: 'code', client_id: oauthServer.clientId, redirect_uri: `${PUBLIC_BASE_URL}/v1/connect/vimeo/callback`, state: expect.any(String) });
    expect(asked.query.scope!.split(' ').sort()).toEqual([...SCOPES].sort());

    const callback = (consent.headers.get('location') ?? '').slice(PUBLIC_BASE_URL.length);
    const answer = await app.inject({ method: 'GET', url: callback, headers: { accept: 'application/json' } });
    expect(oauthServer.tokenRequests.at(-1)).toMatchObject({ grantType: 'authorization_code', clientAuth: 'basic', status: 200 });
    expect(answer.statusCode, answer.body).toBe(200);
    const connected = answer.json<{ auth_secret: string; credential_id: string }>();
    expect(connected.auth_secret).toMatch(/^ufc_/);
    // The access token is the credential: stored encrypted, with no refresh token beside it.
    const [credentialKey, ...others] = [...(await dumpPrefix(h.redisUrl, h.prefix)).keys()].filter((k) => k.includes(':credential:'));
    expect(others).toEqual([]);
    const fields = await h.redis.hgetall(credentialKey!);
    expect(fields).toMatchObject({ provider: 'vimeo', status: 'active' });
    expect(fields.access).toBeDefined();
    expect(fields.refresh).toBeUndefined();

    const bytes = randomBytes(2 * 1024 * 1024 + 5);
    const first = await deliver('connected', connected.auth_secret, bytes);
    expect(first.body.state, `${first.text}\n${worker.output().slice(-2000)}`).toBe('completed');
    const video = vimeo.videoByName('connected');
    expect(video).toBeDefined();
    expect(await vimeo.stored(video!)).toMatchObject({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(first.text).not.toContain(connected.auth_secret);

    // The user revokes the app's access: the fleet cannot renew a Vimeo token, so it asks to reconnect.
    oauthServer.expireAccessTokens();
    const tokenRequests = oauthServer.tokenRequests.length;
    const second = await deliver('revoked', connected.auth_secret, randomBytes(1024));
    expect(second.body.state).toBe('failed');
    expect(second.body.uploads[0]).toMatchObject({ attempts: 1, error: { code: 'UF_RECONNECT_REQUIRED' } });
    expect(second.body.uploads[0]!.error!.message).toMatch(/POST \/v1\/connect\/vimeo/);
    expect(oauthServer.tokenRequests.length).toBe(tokenRequests);
    expect(await store.info(connected.credential_id)).toMatchObject({ status: 'reconnect_required' });
    expect(vimeo.videoByName('revoked')).toBeUndefined();
  }, 120_000);
});
