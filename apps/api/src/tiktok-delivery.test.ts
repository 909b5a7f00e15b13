/**
 * A TikTok account connected and a delivery to it, end to end: the connect flow through the
 * API (TikTok's consent with client_key and comma-separated scopes, the code exchanged with
 * client_key and client_secret in the body), then a delivery submitted through the HTTP API
 * with the auth_secret it showed, run by a real worker process (apps/worker,
 * WORKER_POOLS=tiktok) against the testkit's TikTok fakes. Every parameter reaches TikTok,
 * the file arrives byte for byte, the status shows the publish id, post id and URL, and no
 * secret appears in what the API answers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, createLogger, type DeliveryStatus } from '@upload-fleet/core';
import { CredentialStore } from '@upload-fleet/credentials';
import { startTikTokStandIn, startWorker, until, type TikTokStandIn, type WorkerProcess } from '@upload-fleet/testkit';
import { buildApi } from './server.js';
import type { DeliveryAccepted } from './server.js';
import { ALICE, BOB, asAlice, postDelivery, startHarness, type Harness } from './test-harness.js';

const ENCRYPTION_KEYS = `k1:${Buffer.alloc(32, 9).toString('base64')}`;
const PUBLIC_BASE_URL = 'https://uploads.example.test/fleet';
const SCOPES = ['user.info.basic', 'video.publish'];

let h: Harness;
let standIn: TikTokStandIn;
let app: FastifyInstance;
let worker: WorkerProcess | undefined;
let dir: string;

beforeAll(async () => {
  const secretBox = SecretBox.fromConfig(ENCRYPTION_KEYS);
  h = await startHarness('api-tiktok', {}, { secretBox });
  standIn = await startTikTokStandIn({ publishAfterMs: 20 });
  const { oauth } = standIn;
  app = buildApi({
    producer: h.producer,
    apiKeys: [ALICE, BOB],
    logger: createLogger({ level: 'silent' }),
    connect: {
      store: new CredentialStore({ connection: h.redis, prefix: h.prefix, secretBox }),
      oauth: { publicBaseUrl: PUBLIC_BASE_URL, tiktok: { clientId: oauth.clientId, clientSecret: oauth.clientSecret, authUrl: oauth.authorizeUrl, tokenUrl: oauth.tokenUrl, scopes: SCOPES } },
    },
  });
  await app.ready();
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-api-tiktok-'));
});
afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await app?.close();
  await h?.close();
  await standIn?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a TikTok account connected through the API, and a delivery to it', () => {
  it('connects with client_key and comma-separated scopes, then posts every parameter and the file byte for byte', async () => {
    const { oauth, api } = standIn;
    const started = await app.inject({ method: 'POST', url: '/v1/connect/tiktok', headers: asAlice });
    expect(started.statusCode, started.body).toBe(200);
    const consent = await fetch(started.json().authorize_url as string, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const asked = oauth.authorizeRequests.at(-1)!;
    expect(asked).toMatchObject({ outcome: 'code', query: { client_key: oauth.clientId, response_type: 'code', scope: 'user.info.basic,video.publish', redirect_uri: `${PUBLIC_BASE_URL}/v1/connect/tiktok/callback` } });
    expect(asked.query.client_id).toBeUndefined();
    const callback = (consent.headers.get('location') ?? '').slice(PUBLIC_BASE_URL.length);
    const connected = await app.inject({ method: 'GET', url: callback, headers: { accept: 'application/json' } });
    expect(connected.statusCode, connected.body).toBe(200);
    expect(oauth.tokenRequests.at(-1)).toMatchObject({ grantType: 'authorization_code', clientAuth: 'body', status: 200 });
    const { auth_secret: authSecret, platform } = connected.json();
    expect(platform).toBe('tiktok');
    // TikTok names the account open_id: the credential records it as the account.
    expect(connected.json().account_id).toMatch(/^-000fake-open-id-\d+$/);
    expect(authSecret).toMatch(/^ufc_/);

    const bytes = randomBytes(7 * 1024 * 1024 + 333);
    writeFileSync(join(dir, 'welcome.mp4'), bytes);
    const title = 'Welcome to the team 🎉 #onboarding @acme';
    const res = await postDelivery(h, {
      source: { path: 'welcome.mp4' },
      upload: {
        extension: 'mp4',
        destination: { type: 'tiktok', title, privacy_level: 'MUTUAL_FOLLOW_FRIENDS', disable_duet: true, disable_stitch: true, disable_comment: false, video_cover_timestamp_ms: 2500, auth_secret: authSecret },
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.body).not.toContain(authSecret);
    const { token } = res.json<DeliveryAccepted>();

    worker = startWorker({
      REDIS_URL: h.redisUrl,
      REDIS_PREFIX: h.prefix,
      ENCRYPTION_KEYS,
      WEBHOOK_SECRET: 'api-tiktok-webhook-secret',
      WORKER_POOLS: 'tiktok',
      SOURCE_ROOT: dir,
      ALLOWED_PRIVATE_HOSTS: '127.0.0.1,localhost',
      TIKTOK_API_BASE_URL: api.apiBaseUrl,
      TIKTOK_CHUNK_BYTES: String(5 * 1024 * 1024),
      TIKTOK_STATUS_POLL_MS: '50',
      TIKTOK_OAUTH_CLIENT_ID: oauth.clientId,
      TIKTOK_OAUTH_CLIENT_SECRET: oauth.clientSecret,
      TIKTOK_OAUTH_AUTH_URL: oauth.authorizeUrl,
      TIKTOK_OAUTH_TOKEN_URL: oauth.tokenUrl,
    });
    const status = await until('the delivery to complete', async () => {
      const answer = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice });
      const body = answer.json<DeliveryStatus>();
      return body.state === 'completed' || body.state === 'failed' ? { body, text: answer.body } : undefined;
    }, 60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; the worker said: ${worker?.output().slice(-3000)}`);
    });

    expect(status.body.state, status.text).toBe('completed');
    expect(status.text).not.toContain(authSecret);
    expect(status.text).not.toContain('upload_token');
    expect(api.initBodies).toEqual([
      {
        post_info: { title, privacy_level: 'MUTUAL_FOLLOW_FRIENDS', disable_duet: true, disable_stitch: true, disable_comment: false, video_cover_timestamp_ms: 2500 },
        source_info: { source: 'FILE_UPLOAD', video_size: bytes.length, chunk_size: 5 * 1024 * 1024, total_chunk_count: 1 },
      },
    ]);
    const post = api.postByTitle(title)!;
    expect({ size: post.stored, sha256: post.sha256 }).toEqual({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(post.contentRanges).toEqual([`bytes 0-${bytes.length - 1}/${bytes.length}`]);
    expect(status.body).toMatchObject({
      upload: `https://www.tiktok.com/@${post.creator}/video/${post.postId}`,
      result: { bytes: bytes.length, publish_id: post.publishId, post_id: post.postId, publish_status: 'PUBLISH_COMPLETE' },
    });
  }, 90_000);
});
