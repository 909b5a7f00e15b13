/**
 * auth_secret end to end: a credential the fleet holds (a refresh token from the connect
 * flow) drives real uploads through the worker fleet, the expired access token is
 * refreshed once, and a revoked grant fails the upload permanently with "reconnect". The
 * same for every platform that connects through Google's OAuth (YouTube, Google Drive).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStore } from '@upload-fleet/credentials';
import { defaultDestinationsConfig, type DestinationsConfig } from '@upload-fleet/destinations';
import { startFakeOAuthServer, startGoogleDriveFake, startYouTubeFake, type FakeOAuthServer } from '@upload-fleet/testkit';
import { startFleetHarness, type FleetHarness } from './fleet-harness.js';

/** A platform behind Google's OAuth: its fake (checking tokens with the OAuth fake), and how to find an upload in it. */
interface GooglePlatform {
  type: 'youtube' | 'googledrive';
  start(oauth: FakeOAuthServer): Promise<{ destinations: Partial<DestinationsConfig>; uploaded(name: string): { size: number; sha256: string } | undefined; close(): Promise<void> }>;
  destination(name: string, authSecret: string): Record<string, unknown>;
}

const PLATFORMS: GooglePlatform[] = [
  {
    type: 'youtube',
    async start(oauth) {
      const youtube = await startYouTubeFake({ validateToken: (token) => oauth.isValidAccessToken(token), channelOf: (token) => `UC${oauth.accountOf(token) ?? 'unknown'}` });
      return {
        destinations: { youtube: { ...defaultDestinationsConfig().youtube, apiBaseUrl: youtube.apiBaseUrl, uploadBaseUrl: youtube.uploadBaseUrl } },
        uploaded: (name) => youtube.videos.find((v) => v.title === name),
        close: () => youtube.close(),
      };
    },
    destination: (title, authSecret) => ({ type: 'youtube', title, description: 'via auth_secret', category: '22', status: 'unlisted', auth_secret: authSecret }),
  },
  {
    type: 'googledrive',
    async start(oauth) {
      const drive = await startGoogleDriveFake({ validateToken: (token) => oauth.isValidAccessToken(token), userOf: (token) => oauth.accountOf(token) ?? 'unknown' });
      return {
        destinations: { googledrive: { apiBaseUrl: drive.apiBaseUrl, uploadBaseUrl: drive.uploadBaseUrl } },
        uploaded: (name) => drive.fileNamed(name),
        close: () => drive.close(),
      };
    },
    destination: (filename, authSecret) => ({ type: 'googledrive', filename, auth_secret: authSecret }),
  },
];

describe.each(PLATFORMS)('a $type upload with auth_secret through the worker fleet', (platform) => {
  let oauth: FakeOAuthServer;
  let fake: Awaited<ReturnType<GooglePlatform['start']>>;
  let harness: FleetHarness;
  let redis: Redis;
  let store: CredentialStore;

  beforeAll(async () => {
    oauth = await startFakeOAuthServer({ flavor: 'google', accessTokenTtlSeconds: 3600 });
    fake = await platform.start(oauth);
    harness = await startFleetHarness(`auth-secret-${platform.type}`, {
      pools: [{ type: platform.type, concurrency: 2 }],
      maxAttempts: 3,
      destinations: { ...defaultDestinationsConfig(), ...fake.destinations },
      oauth: { google: { clientId: oauth.clientId, clientSecret: oauth.clientSecret, authUrl: oauth.authorizeUrl, tokenUrl: oauth.tokenUrl, scopes: [] } },
    });
    redis = new Redis(harness.config.redisUrl);
    store = new CredentialStore({ connection: redis, prefix: harness.config.prefix, secretBox: harness.config.secretBox });
  });
  afterAll(async () => {
    await harness?.dispose();
    redis?.disconnect();
    await fake?.close();
    await oauth?.close();
  });

  const submit = (authSecret: string, name: string, file: string) =>
    harness.fleet.producer.enqueue({ source: { path: file }, upload: { extension: 'mp4', destination: platform.destination(name, authSecret) } });

  it('uploads with a token exchanged from the stored refresh token, refreshing once for the fleet', async () => {
    const { authSecret } = await store.create({ provider: 'google', owner: 'test', refreshToken: oauth.issueRefreshToken({ accountId: 'alice' }) });
    const files = [harness.writeSource('one.mp4', 300_000), harness.writeSource('two.mp4', 200_000)];
    const before = oauth.refreshCount;
    const deliveries = await Promise.all(files.map((f, i) => submit(authSecret, `auth secret ${i}`, f.name)));
    const finals = await Promise.all(deliveries.map((d) => harness.fleet.producer.waitFor(d.token, { timeoutMs: 30_000, pollIntervalMs: 100 })));
    expect(finals.map((f) => f.state)).toEqual(['completed', 'completed']);
    files.forEach((file, i) => expect(fake.uploaded(`auth secret ${i}`)).toMatchObject({ size: file.size, sha256: file.sha256 }));
    // Two uploads (and the account lookup for limits) needed one refresh between them.
    expect(oauth.refreshCount - before).toBe(1);

    // The access token expires: the platform's 401 makes the fleet refresh once more, and the upload still succeeds.
    oauth.expireAccessTokens();
    const third = harness.writeSource('three.mp4', 100_000);
    const final = await harness.fleet.producer.waitFor((await submit(authSecret, 'after expiry', third.name)).token, { timeoutMs: 30_000, pollIntervalMs: 100 });
    expect(final.uploads[0]).toMatchObject({ state: 'completed', attempts: 1 });
    expect(oauth.refreshCount - before).toBe(2);
  });

  it('fails at once with "reconnect" when the user revoked the grant', async () => {
    const refreshToken = oauth.issueRefreshToken({ accountId: 'bob' });
    const { authSecret } = await store.create({ provider: 'google', owner: 'test', refreshToken });
    oauth.revokeRefreshToken(refreshToken);
    const file = harness.writeSource('revoked.mp4', 50_000);
    const final = await harness.fleet.producer.waitFor((await submit(authSecret, 'revoked', file.name)).token, { timeoutMs: 30_000, pollIntervalMs: 100 });
    expect(final.state).toBe('failed');
    expect(final.uploads[0]).toMatchObject({ attempts: 1, error: { code: 'UF_RECONNECT_REQUIRED', category: 'auth' } });
    expect(final.uploads[0]!.error!.message).toMatch(/reconnect/i);
    expect(fake.uploaded('revoked')).toBeUndefined();
  });
});
