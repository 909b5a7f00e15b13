/**
 * TikTok through the worker fleet, where the fleet's own parts decide: the credential
 * provider (one refresh for everyone when TikTok's 24-hour access token expires, reconnect
 * after a revoked grant) and the retry policy (TikTok's rate limits defer the job without
 * using an attempt). Against the testkit's TikTok OAuth and Content Posting API fakes.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryStatus } from '@upload-fleet/core';
import { CredentialStore } from '@upload-fleet/credentials';
import { defaultDestinationsConfig } from '@upload-fleet/destinations';
import { startTikTokStandIn, type TikTokStandIn } from '@upload-fleet/testkit';
import { startFleetHarness, type FleetHarness } from './fleet-harness.js';

describe('TikTok uploads through the worker fleet', () => {
  let standIn: TikTokStandIn;
  let harness: FleetHarness;
  let redis: Redis;
  let store: CredentialStore;

  beforeAll(async () => {
    standIn = await startTikTokStandIn({ publishAfterMs: 20 });
    const { oauth, api } = standIn;
    harness = await startFleetHarness('tiktok-fleet', {
      pools: [{ type: 'tiktok', concurrency: 2 }],
      maxAttempts: 3,
      destinations: { ...defaultDestinationsConfig(), tiktok: { apiBaseUrl: api.apiBaseUrl, chunkBytes: 8 * 1024 * 1024, publishWaitMs: 2_000, statusPollMs: 25 } },
      oauth: { tiktok: { clientId: oauth.clientId, clientSecret: oauth.clientSecret, authUrl: oauth.authorizeUrl, tokenUrl: oauth.tokenUrl, scopes: [] } },
    });
    redis = new Redis(harness.config.redisUrl);
    store = new CredentialStore({ connection: redis, prefix: harness.config.prefix, secretBox: harness.config.secretBox });
  });
  afterAll(async () => {
    await harness?.dispose();
    redis?.disconnect();
    await standIn?.close();
  });

  const connect = async () => {
    const refreshToken = standIn.oauth.issueRefreshToken({ scope: 'user.info.basic,video.publish' });
    return { refreshToken, ...(await store.create({ provider: 'tiktok', owner: 'test', refreshToken })) };
  };
  const submit = (authSecret: string, title: string, file: string) =>
    harness.fleet.producer.enqueue({ source: { path: file }, upload: { extension: 'mp4', destination: { type: 'tiktok', title, privacy_level: 'SELF_ONLY', auth_secret: authSecret } } });
  const finish = (token: string, onProgress?: (s: DeliveryStatus) => void) => harness.fleet.producer.waitFor(token, { timeoutMs: 30_000, pollIntervalMs: 50, ...(onProgress ? { onProgress } : {}) });

  it('refreshes an expired access token once for the whole fleet, and every upload still completes in one attempt', async () => {
    const { authSecret } = await connect();
    const first = harness.writeSource('first.mp4', 200_000);
    expect((await finish((await submit(authSecret, 'before expiry', first.name)).token)).state).toBe('completed');
    const before = standIn.oauth.refreshCount;

    // TikTok's access tokens last 24 hours: all of them expire at once.
    standIn.oauth.expireAccessTokens();
    const files = [harness.writeSource('a.mp4', 300_000), harness.writeSource('b.mp4', 250_000), harness.writeSource('c.mp4', 150_000)];
    const deliveries = await Promise.all(files.map((f, i) => submit(authSecret, `after expiry ${i}`, f.name)));
    const finals = await Promise.all(deliveries.map((d) => finish(d.token)));
    expect(finals.map((f) => [f.state, f.uploads[0]!.attempts])).toEqual([['completed', 1], ['completed', 1], ['completed', 1]]);
    files.forEach((file, i) => expect(standIn.api.postByTitle(`after expiry ${i}`)).toMatchObject({ stored: file.size, sha256: file.sha256 }));
    expect(standIn.oauth.refreshCount - before).toBe(1);
  });

  it('fails at once asking to reconnect when the user revoked the grant, and posts nothing', async () => {
    const { authSecret, refreshToken } = await connect();
    standIn.oauth.revokeRefreshToken(refreshToken);
    const file = harness.writeSource('revoked.mp4', 50_000);
    const final = await finish((await submit(authSecret, 'revoked', file.name)).token);
    expect(final.state).toBe('failed');
    expect(final.uploads[0]).toMatchObject({ attempts: 1, error: { code: 'UF_RECONNECT_REQUIRED', category: 'auth' } });
    expect(final.uploads[0]!.error!.message).toMatch(/reconnect/i);
    expect(standIn.api.posts.some((p) => p.postInfo.title === 'revoked')).toBe(false);
  });

  it.each([
    ['429 rate_limit_exceeded', { status: 429, code: 'rate_limit_exceeded' }],
    ['403 spam_risk_too_many_posts', { status: 403, code: 'spam_risk_too_many_posts' }],
  ])('defers on %s for the Retry-After time without using an attempt', async (name, fault) => {
    const { authSecret } = await connect();
    const file = harness.writeSource(`limited-${fault.code}.mp4`, 80_000);
    standIn.api.setFaults([{ step: 'init', ...fault, headers: { 'retry-after': '1' } }]);
    let deferred: DeliveryStatus | undefined;
    const final = await finish((await submit(authSecret, `limited ${name}`, file.name)).token, (s) => {
      if (s.uploads[0]?.state === 'deferred') deferred ??= s;
    });
    expect(deferred?.uploads[0]).toMatchObject({ deferred_reason: 'rate_limited', error: { code: 'UF_RATE_LIMITED' } });
    expect(final.state).toBe('completed');
    expect(final.uploads[0]!.attempts).toBe(1);
    expect(standIn.api.postByTitle(`limited ${name}`)).toMatchObject({ stored: file.size, sha256: file.sha256 });
  });
});
