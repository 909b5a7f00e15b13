import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, createLogger } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { CLIENT_COMMAND_TIMEOUT_MS, redisConnectionFromConfig, startEmbeddedRedis, type EmbeddedRedis, type RedisConnection } from '@upload-fleet/redis';
import { until } from '@upload-fleet/testkit';
import { redisAvailability } from './readiness.js';
import { buildApi } from './server.js';
import { ALICE, asAlice, s3Request } from './test-harness.js';

/**
 * The API on a redis-server of this test's own, connected the way main.ts connects it,
 * while that server is stopped and started again (AOF on, so what was written survives).
 */
describe('the API while Redis is unreachable', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'upload-fleet-api-outage-'));
  const prefix = 'api-outage';
  let redis: EmbeddedRedis;
  let connection: RedisConnection;
  let producer: Producer;
  let app: FastifyInstance;

  beforeAll(async () => {
    redis = await startEmbeddedRedis({ dataDir, persist: true });
    connection = redisConnectionFromConfig({ url: redis.url }, 'client');
    connection.on('error', () => undefined);
    producer = new Producer({ connection, prefix, secretBox: new SecretBox([{ id: 'test', key: randomBytes(32) }]), onError: () => undefined });
    app = buildApi({ producer, apiKeys: [ALICE], logger: createLogger({ level: 'silent' }), redisAvailable: redisAvailability(connection) });
    await app.ready();
    await until('the API connection to be ready', () => connection.status === 'ready' || undefined, 10_000);
  });
  afterAll(async () => {
    await app?.close();
    await producer?.close().catch(() => undefined);
    connection?.disconnect();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (idempotencyKey: string) =>
    app.inject({ method: 'POST', url: '/v1/deliveries', headers: asAlice, payload: s3Request({ idempotency_key: idempotencyKey }) });
  const timed = async <T>(run: () => Promise<T>) => {
    const started = performance.now();
    const answer = await run();
    return { answer, ms: performance.now() - started, at: Date.now() };
  };
  const deliveryKeys = async () => (await connection.keys(`${prefix}:delivery:*`)).sort();

  it('answers 503 with Retry-After at once to POST and GET, and never enqueues the refused POST', { timeout: 60_000 }, async () => {
    const accepted = await post('before-the-outage');
    expect(accepted.statusCode).toBe(202);
    const { token } = accepted.json() as { token: string };
    const readBefore = await timed(() => app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice }));
    expect(readBefore.answer.statusCode).toBe(200);
    const before = await deliveryKeys();
    expect(before).toHaveLength(1);

    await redis.stop();
    await until('the API connection to notice', () => connection.status !== 'ready' || undefined, 10_000);
    const refusedPost = await timed(() => post('during-the-outage'));
    const refusedGet = await timed(() => app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice }));
    const restartedAt = Date.now();
    // Both answered while Redis was still down (before the restart below), not when it came back.
    for (const { answer, at } of [refusedPost, refusedGet]) {
      expect(answer.statusCode).toBe(503);
      expect(answer.headers['retry-after']).toMatch(/^\d+$/);
      expect(answer.json().error.code).toBe('UF_SERVICE_UNAVAILABLE');
      expect(at).toBeLessThanOrEqual(restartedAt);
    }
    expect(refusedPost.answer.json().error.message).toMatch(/idempotency_key/);
    // A generous bound, the deadline of one command: before the fix they did not answer at all.
    expect(refusedPost.ms).toBeLessThan(CLIENT_COMMAND_TIMEOUT_MS);
    expect(refusedGet.ms).toBeLessThan(CLIENT_COMMAND_TIMEOUT_MS);
    console.info(`[redis outage] POST answered 503 in ${refusedPost.ms.toFixed(1)} ms, GET in ${refusedGet.ms.toFixed(1)} ms (GET with Redis up: ${readBefore.ms.toFixed(1)} ms)`);

    redis = await startEmbeddedRedis({ dataDir, persist: true, port: redis.port });
    await until('the API connection to reconnect', () => connection.status === 'ready' || undefined, 30_000);
    // Give anything still queued somewhere the chance to run, then look: only the first exists.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await deliveryKeys()).toEqual(before);
    expect(await connection.keys(`${prefix}:idempotency:*`)).toHaveLength(1);
    expect(await producer.queue('s3').getJobCounts('prioritized', 'waiting', 'delayed', 'active')).toMatchObject({ prioritized: 1, waiting: 0 });
    // And the API answers again.
    expect((await app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice })).statusCode).toBe(200);
  });
});
