import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@upload-fleet/core';
import { startEmbeddedRedis, type EmbeddedRedis } from '@upload-fleet/redis';
import { startHttpReceiver, until, type HttpReceiver } from '@upload-fleet/testkit';
import { startWorkerFleet, type WorkerFleet } from '../src/index.js';
import { testConfig } from './fleet-harness.js';

const LOCK_MS = 2_000;
/**
 * Shorter than the lock (locks survive) and three locks long (every lock held when Redis
 * dies has expired when it comes back).
 */
const OUTAGES_MS = [LOCK_MS / 2, 3 * LOCK_MS];
const DELIVERIES = 24;
const FILE_BYTES = 256 * 1024;

/**
 * A redis-server of this test's own (AOF, fsync on every write, so the kill loses nothing
 * Redis acknowledged) is killed with SIGKILL while uploads run, and restarted from its AOF
 * after longer than the job lock. Uploads that finished during the outage reach the
 * delivery record when Redis is back, but their locks are gone: BullMQ runs those jobs
 * again. Each file must still arrive exactly once.
 */
describe('Redis SIGKILLed and restarted from its AOF, for less and for longer than the job lock', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'upload-fleet-redis-restart-'));
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-redis-restart-src-'));
  let redis: EmbeddedRedis;
  let receiver: HttpReceiver;
  let fleet: WorkerFleet;

  beforeAll(async () => {
    redis = await startEmbeddedRedis({ dataDir, persist: true });
    const admin = new Redis(redis.url);
    await admin.config('SET', 'appendfsync', 'always');
    admin.disconnect();
    receiver = await startHttpReceiver();
    writeFileSync(join(sourceRoot, 'video.bin'), randomBytes(FILE_BYTES));
    const config = testConfig('redis-restart', sourceRoot, {
      redisUrl: redis.url,
      pools: [{ type: 'http', concurrency: 8 }],
      lockDurationMs: LOCK_MS,
      stalledIntervalMs: 1_000,
      maxAttempts: 5,
      backoff: { baseDelayMs: 200, maxDelayMs: 1_000 },
    });
    fleet = await startWorkerFleet(config, createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }));
  });
  afterAll(async () => {
    await fleet?.close();
    await receiver?.close();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it.each(OUTAGES_MS)('loses no delivery and uploads none twice over an outage of %i ms', { timeout: 120_000 }, async (OUTAGE_MS) => {
    // About 1.5 s per upload, eight at a time: uploads are running and finishing all through the outage.
    receiver.setThrottle(FILE_BYTES / 1.5);
    const { producer } = fleet;
    const tokens: string[] = [];
    for (let i = 0; i < DELIVERIES; i++) {
      const { token } = await producer.enqueue({ source: { path: 'video.bin' }, upload: { destination: { type: 'http', url: `${receiver.url}/d${OUTAGE_MS}/${i}`, filename: `${i}.bin`, method: 'PUT' } } });
      tokens.push(token);
    }
    const ofThisRun = () => receiver.requests.filter((r) => r.path.startsWith(`/d${OUTAGE_MS}/`));
    await until('uploads to be running', () => (ofThisRun().filter((r) => r.bodyBytes > 0).length >= 8 ? true : undefined), 30_000);

    const admin = new Redis(redis.url);
    const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))![1]);
    admin.disconnect();
    process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    const completedDuringOutage = ofThisRun().filter((r) => r.complete).length;
    redis = await startEmbeddedRedis({ dataDir, persist: true, port: redis.port });

    const finals = await Promise.all(tokens.map((token) => producer.waitFor(token, { timeoutMs: 90_000, pollIntervalMs: 200 })));
    expect(finals.map((f) => f.state)).toEqual(tokens.map(() => 'completed'));
    const arrivals = tokens.map((_, i) => receiver.requests.filter((r) => r.path === `/d${OUTAGE_MS}/${i}` && r.complete).length);
    expect(arrivals).toEqual(tokens.map(() => 1));

    const queue = producer.queue('http');
    const jobIds = finals.map((f) => f.uploads[0]!.job_id);
    const skipped = (await Promise.all(jobIds.map((id) => queue.getJobLogs(id)))).filter(({ logs }) => logs.some((l) => l.includes('nothing sent again'))).length;
    console.info(`[redis restart] ${OUTAGE_MS} ms outage (lock ${LOCK_MS} ms): ${DELIVERIES} deliveries, 0 lost, 0 doubled; ${completedDuringOutage} uploads had arrived by the restart, ${skipped} re-run jobs completed from the delivery record without sending`);
  });
});
