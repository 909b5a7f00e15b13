import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DESTINATION_TYPES } from '@upload-fleet/destinations/definitions';
import { startEmbeddedRedis, type EmbeddedRedis } from '@upload-fleet/redis';
import { createMetrics, type FleetMetrics } from '@upload-fleet/runtime/metrics';
import { loadApiConfig } from './config.js';
import { redisReadiness } from './readiness.js';
import { asAlice, startHarness, type Harness } from './test-harness.js';

const METRICS_TOKEN = 'metrics-token-5c1e9a7b3d';

describe('GET /metrics on the API', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  const metricsOf = (h: Pick<Harness, 'producer'>) =>
    createMetrics({ queues: () => [...DESTINATION_TYPES.map((type) => h.producer.queue(type)), h.producer.webhookQueue()], redisUp: () => true, defaultLabels: { service: 'api' } });

  it('is open without METRICS_TOKEN and reports the waiting jobs of every queue', async () => {
    // The registry reads the harness's queues, and the harness builds the API with it.
    const built: { metrics?: FleetMetrics } = {};
    harness = await startHarness('metrics-open', { metrics: { get contentType() { return built.metrics!.contentType; }, render: () => built.metrics!.render() } });
    built.metrics = metricsOf(harness);
    const accepted = await harness.app.inject({
      method: 'POST',
      url: '/v1/deliveries',
      headers: asAlice,
      payload: { source: { path: 'a.mp4' }, upload: { destination: { type: 's3', bucket: 'b', filename: 'a.mp4', aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'secret-example' } } },
    });
    expect(accepted.statusCode).toBe(202);

    const response = await harness.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    // Every job carries a priority (normal by default), so BullMQ keeps a waiting one in its prioritized set.
    expect(response.body).toContain('upload_fleet_jobs{queue="upload-s3",state="prioritized",service="api"} 1');
    expect(response.body).toContain('upload_fleet_redis_up{service="api"} 1');
    expect(response.body).toContain('process_resident_memory_bytes');
  });

  it('needs the bearer token when METRICS_TOKEN is set', async () => {
    harness = await startHarness('metrics-token', { metrics: createMetrics({ defaultMetrics: false }), metricsToken: METRICS_TOKEN });
    expect((await harness.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await harness.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-123456789' } })).statusCode).toBe(401);
    // An API key is not a metrics token.
    expect((await harness.app.inject({ method: 'GET', url: '/metrics', headers: asAlice })).statusCode).toBe(401);
    const allowed = await harness.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.body).toContain('# TYPE upload_fleet_uploads_completed_total counter');
  });

  it('is not served without a metrics registry', async () => {
    harness = await startHarness('metrics-none');
    // Like any unknown route: 401 without a key, 404 with one.
    expect((await harness.app.inject({ method: 'GET', url: '/metrics', headers: asAlice })).statusCode).toBe(404);
  });

  it('reads METRICS_TOKEN from the environment, refusing a short one', () => {
    const env = { API_KEYS: 'alice:alice-key-6f1c2b9e4d7a' };
    expect(loadApiConfig(env).metricsToken).toBeUndefined();
    expect(loadApiConfig({ ...env, METRICS_TOKEN }).metricsToken).toBe(METRICS_TOKEN);
    expect(() => loadApiConfig({ ...env, METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});

describe('API readiness follows Redis', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'upload-fleet-api-readyz-'));
  let redis: EmbeddedRedis | undefined;
  let connection: Redis | undefined;
  afterAll(async () => {
    connection?.disconnect();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is not ready while its dedicated redis-server is stopped, and ready again once it is back', async () => {
    redis = await startEmbeddedRedis({ dataDir, persist: false });
    connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    const harness = await startHarness('readyz', { readiness: redisReadiness(connection, 500) });
    try {
      const readyz = async () => (await harness.app.inject({ method: 'GET', url: '/readyz' })).statusCode;
      await expect.poll(readyz, { timeout: 5_000 }).toBe(200);

      const port = redis.port;
      await redis.stop();
      await expect.poll(readyz, { timeout: 10_000 }).toBe(503);
      const body = (await harness.app.inject({ method: 'GET', url: '/readyz' })).json();
      expect(body).toMatchObject({ ready: false, checks: { redis: expect.any(String) } });

      redis = await startEmbeddedRedis({ dataDir, port, persist: false });
      await expect.poll(readyz, { timeout: 20_000, interval: 200 }).toBe(200);
    } finally {
      await harness.close();
    }
  });
});
