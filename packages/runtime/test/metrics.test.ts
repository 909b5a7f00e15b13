import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, WEBHOOK_QUEUE } from '@upload-fleet/core';
import { startEmbeddedRedis, type EmbeddedRedis } from '@upload-fleet/redis';
import { startHttpReceiver, uniquePrefix, type HttpReceiver } from '@upload-fleet/testkit';
import { startHealthServer, startWorkerFleet, type WorkerFleet } from '../src/index.js';
import { startFleetHarness, testConfig, type FleetHarness } from './fleet-harness.js';

const MiB = 1024 * 1024;

/** One sample of the Prometheus text format: `name{a="x",b="y"} 3`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels (among others), or 0 when absent. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

async function startHealth(fleet: WorkerFleet): Promise<{ url: string; server: Server }> {
  const server = await startHealthServer(0, '127.0.0.1', fleet.isReady, fleet.metrics);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const closeServer = (server: Server | undefined) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

describe('Prometheus metrics of a worker fleet', () => {
  let harness: FleetHarness;
  let receiver: HttpReceiver;
  let health: { url: string; server: Server };

  beforeAll(async () => {
    // One HTTP upload per host at a time, with a short lease, so the deferral test is quick.
    harness = await startFleetHarness('metrics', { limitRules: { http: { windows: [], concurrency: 1, keys: {} } }, leaseTtlMs: 1_500 });
    receiver = await startHttpReceiver();
    health = await startHealth(harness.fleet);
  });
  afterAll(async () => {
    await closeServer(health?.server);
    await harness?.dispose();
    await receiver?.close();
  });

  const scrape = async () => {
    const response = await fetch(`${health.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return parseMetrics(await response.text());
  };
  const submit = (source: string, path: string, extra: Record<string, unknown> = {}) =>
    harness.fleet.producer.enqueue({ source: { path: source }, upload: { extension: 'mp4', destination: { type: 'http', url: `${receiver.url}${path}`, filename: source, method: 'PUT' } }, ...extra });
  const waitFor = (token: string) => harness.fleet.producer.waitFor(token, { pollIntervalMs: 100, timeoutMs: 30_000 });

  it('counts a completed upload with its bytes and duration, and the webhook it sent', async () => {
    const file = harness.writeSource('done.mp4', 2 * MiB + 5);
    const { token } = await submit(file.name, '/done', { callback_url: `${receiver.url}/hook` });
    expect((await waitFor(token)).state).toBe('completed');
    await expect.poll(async () => valueOf(await scrape(), 'upload_fleet_webhooks_total', { outcome: 'delivered' }), { timeout: 10_000 }).toBe(1);

    const samples = await scrape();
    expect(valueOf(samples, 'upload_fleet_uploads_completed_total', { destination: 'http' })).toBe(1);
    expect(valueOf(samples, 'upload_fleet_uploaded_bytes_total', { destination: 'http' })).toBe(file.size);
    expect(valueOf(samples, 'upload_fleet_upload_duration_seconds_count', { destination: 'http', outcome: 'completed' })).toBe(1);
    expect(valueOf(samples, 'upload_fleet_upload_duration_seconds_sum', { destination: 'http', outcome: 'completed' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'upload_fleet_redis_up')).toBe(1);
    // prom-client's process metrics are there too.
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    // Series carry bounded labels only: never a job id or a delivery token.
    expect(JSON.stringify(samples)).not.toContain(token);
  });

  it('counts a retried attempt by code, then a permanent failure by code', async () => {
    const retried = harness.writeSource('retried.mp4', 1000);
    receiver.setFaults([{ status: 503 }]);
    const first = await submit(retried.name, '/retried');
    expect((await waitFor(first.token)).state).toBe('completed');

    const failed = harness.writeSource('failed.mp4', 1000);
    receiver.setFaults([{ status: 400, body: 'bad field' }]);
    const second = await submit(failed.name, '/failed');
    const final = await waitFor(second.token);
    expect(final.uploads[0]).toMatchObject({ state: 'failed', error: { code: 'UF_DESTINATION_REJECTED' } });

    const samples = await scrape();
    expect(valueOf(samples, 'upload_fleet_upload_retries_total', { destination: 'http', code: 'UF_DESTINATION_UNAVAILABLE' })).toBe(1);
    expect(valueOf(samples, 'upload_fleet_upload_duration_seconds_count', { destination: 'http', outcome: 'retried' })).toBe(1);
    expect(valueOf(samples, 'upload_fleet_uploads_failed_total', { destination: 'http', code: 'UF_DESTINATION_REJECTED' })).toBe(1);
    expect(valueOf(samples, 'upload_fleet_upload_duration_seconds_count', { destination: 'http', outcome: 'failed' })).toBe(1);
    expect(valueOf(samples, 'upload_fleet_uploads_completed_total', { destination: 'http' })).toBe(2);
    expect(valueOf(samples, 'upload_fleet_uploaded_bytes_total', { destination: 'http' })).toBe(2 * MiB + 5 + retried.size);
  });

  it('reports queued jobs per queue and state, read from BullMQ at scrape time', async () => {
    // Paused for the whole fleet, so no worker takes the jobs while the test counts them.
    const queue = harness.fleet.producer.queue('http');
    await queue.pause();
    try {
      const file = harness.writeSource('waiting.mp4', 1000);
      const tokens = [(await submit(file.name, '/w1')).token, (await submit(file.name, '/w2')).token];
      const samples = await scrape();
      // Every upload job has a priority (the delivery's, normal by default): BullMQ counts them as prioritized.
      expect(valueOf(samples, 'upload_fleet_jobs', { queue: 'upload-http', state: 'prioritized' })).toBe(2);
      expect(valueOf(samples, 'upload_fleet_jobs', { queue: 'upload-http', state: 'failed' })).toBe(1);
      // The webhook queue is reported too.
      expect(samples.some((s) => s.name === 'upload_fleet_jobs' && s.labels.queue === WEBHOOK_QUEUE)).toBe(true);
      await queue.resume();
      for (const token of tokens) expect((await waitFor(token)).state).toBe('completed');
      expect(valueOf(await scrape(), 'upload_fleet_jobs', { queue: 'upload-http', state: 'prioritized' })).toBe(0);
    } finally {
      await queue.resume();
    }
  });

  it('counts deferrals by reason: a fleet-wide concurrency cap, and the platform saying 429', async () => {
    const before = await scrape();
    const concurrencyBefore = valueOf(before, 'upload_fleet_rate_limit_deferrals_total', { destination: 'http', reason: 'concurrency' });
    receiver.setThrottle(MiB); // the first upload holds the host's one slot for about 1.5 s
    const big = harness.writeSource('slow.mp4', 1.5 * MiB);
    const small = harness.writeSource('queued-behind.mp4', 1000);
    const a = await submit(big.name, '/slow');
    await sleep(200);
    const b = await submit(small.name, '/behind');
    for (const token of [a.token, b.token]) expect((await waitFor(token)).state).toBe('completed');
    receiver.setThrottle(0);

    receiver.setFaults([{ status: 429, retryAfter: '1' }]);
    const c = await submit(small.name, '/too-many');
    expect((await waitFor(c.token)).state).toBe('completed');

    const samples = await scrape();
    expect(valueOf(samples, 'upload_fleet_rate_limit_deferrals_total', { destination: 'http', reason: 'concurrency' })).toBeGreaterThan(concurrencyBefore);
    expect(valueOf(samples, 'upload_fleet_rate_limit_deferrals_total', { destination: 'http', reason: 'platform' })).toBe(1);
  });
});

describe('worker readiness follows Redis', () => {
  let redis: EmbeddedRedis | undefined;
  let fleet: WorkerFleet | undefined;
  let health: { url: string; server: Server } | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'upload-fleet-readyz-'));
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-readyz-src-'));

  beforeAll(async () => {
    // A redis-server of its own: this test stops it, which the shared one must never see.
    redis = await startEmbeddedRedis({ dataDir, persist: false });
    const config = { ...testConfig(uniquePrefix('readyz'), sourceRoot), redisUrl: redis.url };
    fleet = await startWorkerFleet(config, createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
    health = await startHealth(fleet);
  });
  afterAll(async () => {
    await closeServer(health?.server);
    await fleet?.close();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  const readyz = async () => (await fetch(`${health!.url}/readyz`)).status;
  const redisUp = async () => valueOf(parseMetrics(await (await fetch(`${health!.url}/metrics`)).text()), 'upload_fleet_redis_up');

  it('answers 503 while Redis is down, 200 once it is back, and 503 while draining', async () => {
    expect(await readyz()).toBe(200);
    const port = redis!.port;
    await redis!.stop();
    await expect.poll(readyz, { timeout: 10_000 }).toBe(503);
    expect(await redisUp()).toBe(0);
    // A scrape while Redis is down still answers (without job counts).
    expect((await fetch(`${health!.url}/metrics`)).status).toBe(200);

    redis = await startEmbeddedRedis({ dataDir, port, persist: false });
    await expect.poll(readyz, { timeout: 20_000, interval: 200 }).toBe(200);
    expect(await redisUp()).toBe(1);

    const closing = fleet!.close();
    expect(await readyz()).toBe(503);
    await closing;
  });
});
