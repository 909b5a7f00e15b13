import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { deletePrefix, startHttpReceiver, testRedisUrl, uniquePrefix, type HttpReceiver, startWorker, until, type WorkerProcess } from '@upload-fleet/testkit';

const KEY = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
/** Jobs in the run: enough that four processes contend for the queue all the time. */
const JOBS = 3000;
const WORKERS = 4;
const CONCURRENCY = 8;

/**
 * Several worker processes on one Redis take jobs from one queue at once. Every job must
 * complete, its upload must reach the destination exactly once, and no job may be taken
 * twice (which would show as a second request, or as a second attempt in its status).
 */
describe(`${WORKERS} worker processes on one Redis`, () => {
  const redisUrl = testRedisUrl();
  const prefix = uniquePrefix('once');
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-once-'));
  const workers: WorkerProcess[] = [];
  let receiver: HttpReceiver;
  let redis: Redis;
  let producer: Producer;

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    producer = new Producer({ connection: redis, prefix, secretBox: SecretBox.fromConfig(KEY) });
    writeFileSync(join(sourceRoot, 'tiny.bin'), 'exactly once\n');
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await producer.close();
    await deletePrefix(redisUrl, prefix);
    redis.disconnect();
    await receiver.close();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it(`process ${JOBS} jobs: each completes once, with one request to the destination and one attempt`, { timeout: 120_000 }, async () => {
    const t0 = Date.now();
    for (let i = 0; i < WORKERS; i++) {
      workers.push(
        startWorker({
          REDIS_URL: redisUrl,
          REDIS_PREFIX: prefix,
          ENCRYPTION_KEYS: KEY,
          WEBHOOK_SECRET: 'exactly-once-webhook-secret',
          WORKER_POOLS: 'http',
          WORKER_CONCURRENCY: String(CONCURRENCY),
          SOURCE_ROOT: sourceRoot,
          ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
          // Short enough that a lock lost under load would show up as a second run.
          LOCK_DURATION_MS: '10000',
          STALLED_INTERVAL_MS: '5000',
        }),
      );
    }
    const queue = producer.queue('http');
    // All four must be taking jobs before the first one arrives, so they contend for every job.
    await until('every worker to connect', async () => (await queue.getWorkersCount()) >= WORKERS, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
    });
    const t1 = Date.now();

    const tokens: string[] = [];
    for (let start = 0; start < JOBS; start += 200) {
      const batch = Array.from({ length: Math.min(200, JOBS - start) }, (_, k) => start + k);
      const results = await Promise.all(
        batch.map((i) => producer.enqueue({ source: { path: 'tiny.bin' }, upload: { destination: { type: 'http', url: `${receiver.url}/once/${i}`, filename: `${i}.bin`, method: 'PUT' } } })),
      );
      tokens.push(...results.map((r) => r.token));
    }
    const t2 = Date.now();

    await until('every job to end', async () => {
      const counts = await queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0) >= JOBS;
    }, 90_000);
    const t3 = Date.now();
    console.info(`exactly-once: ${WORKERS} workers up in ${t1 - t0} ms, ${JOBS} enqueued in ${t2 - t1} ms, processed ${t3 - t1} ms after the first enqueue`);

    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'prioritized', 'delayed');
    expect(counts).toMatchObject({ completed: JOBS, failed: 0, active: 0, waiting: 0, prioritized: 0, delayed: 0 });

    // The destination's view: one complete request per job, none for a path twice.
    const perPath = new Map<string, number>();
    for (const request of receiver.requests) perPath.set(request.path, (perPath.get(request.path) ?? 0) + 1);
    expect(perPath.size).toBe(JOBS);
    expect([...perPath.values()].filter((n) => n !== 1)).toEqual([]);
    expect(receiver.requests.every((r) => r.complete && r.fileSize === 13)).toBe(true);

    // The delivery record's view: completed in one attempt, each.
    const attempts = new Map<string, number>();
    for (let start = 0; start < tokens.length; start += 250) {
      const statuses = await Promise.all(tokens.slice(start, start + 250).map((t) => producer.get(t)));
      for (const status of statuses) {
        const key = `${status.state}/${status.uploads[0]!.state}/${status.uploads[0]!.attempts}`;
        attempts.set(key, (attempts.get(key) ?? 0) + 1);
      }
    }
    expect(Object.fromEntries(attempts)).toEqual({ 'completed/completed/1': JOBS });

    // The workers' view: every process did part of the work, and together each job once.
    const completedBy = workers.map((w) => w.output().split('\n').filter((line) => line.includes('"upload completed"')).length);
    expect(completedBy.reduce((a, b) => a + b, 0)).toBe(JOBS);
    expect(completedBy.every((n) => n > 0), `jobs per worker: ${completedBy.join(', ')}`).toBe(true);
    expect(workers.map((w) => w.output()).join('\n')).not.toMatch(/stalled|lost the job lock/);
  });
});
