/**
 * Fleet-wide limits with several worker processes on one Redis: windows are never
 * exceeded, a limited account never slows another one down, a dead worker's concurrency
 * lease lapses, and a platform's 429 pauses only its own account.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { deletePrefix, startHttpReceiver, testRedisUrl, uniquePrefix, type HttpReceiver, started, startWorker, until, type WorkerProcess } from '@upload-fleet/testkit';

const KEY = `k1:${Buffer.alloc(32, 4).toString('base64')}`;
const WINDOW_MS = 2000;
const LIMIT = 5;
const JOBS_PER_CHANNEL = 30;

describe('fleet-wide rate limits across worker processes', () => {
  const redisUrl = testRedisUrl();
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-limits-'));
  const prefixes: string[] = [];
  const workers: WorkerProcess[] = [];
  const receivers: HttpReceiver[] = [];
  let redis: Redis;

  const stopWorkers = async () => {
    for (const w of workers.splice(0)) {
      w.child.kill('SIGKILL');
      await w.exited;
    }
  };
  /** A fresh prefix, a producer on it and `count` worker processes with these settings. */
  const fleet = async (count: number, env: Record<string, string>) => {
    const prefix = uniquePrefix('limits');
    prefixes.push(prefix);
    const producer = new Producer({ connection: redis, prefix, secretBox: SecretBox.fromConfig(KEY) });
    const spawned = Array.from({ length: count }, () =>
      startWorker({
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        ENCRYPTION_KEYS: KEY,
        WEBHOOK_SECRET: 'limits-test-webhook-secret',
        WORKER_POOLS: 'http',
        WORKER_CONCURRENCY: '4',
        SOURCE_ROOT: sourceRoot,
        ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
        ...env,
      }),
    );
    workers.push(...spawned);
    await Promise.all(spawned.map(started));
    return producer;
  };
  const receiver = async () => {
    const r = await startHttpReceiver();
    receivers.push(r);
    return r;
  };
  const keyOf = (r: HttpReceiver) => new URL(r.url).host;
  const submit = (producer: Producer, to: HttpReceiver, path: string) =>
    producer.enqueue({ source: { path: 'clip.mp4' }, upload: { destination: { type: 'http', url: `${to.url}${path}`, filename: 'clip.mp4', method: 'PUT' } } });

  beforeAll(() => {
    writeFileSync(join(sourceRoot, 'clip.mp4'), Buffer.alloc(2048, 1));
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  });
  afterEach(stopWorkers);
  afterAll(async () => {
    for (const prefix of prefixes) await deletePrefix(redisUrl, prefix);
    for (const r of receivers) await r.close();
    redis.disconnect();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it('never lets a channel exceed its window, completes every job, and does not slow an unlimited channel down', async () => {
    const limited = [await receiver(), await receiver(), await receiver()];
    const unlimited = await receiver();
    const producer = await fleet(3, {
      RATE_LIMITS: JSON.stringify({ http: { windows: [`${LIMIT}/${WINDOW_MS}ms`], keys: { [keyOf(unlimited)]: { windows: [] } } } }),
    });

    // The unlimited channel alone, for comparison.
    let t0 = Date.now();
    const alone = await Promise.all(Array.from({ length: JOBS_PER_CHANNEL }, (_, i) => submit(producer, unlimited, `/alone/${i}`)));
    await Promise.all(alone.map((d) => producer.waitFor(d.token, { timeoutMs: 60_000, pollIntervalMs: 100 })));
    const aloneMs = Date.now() - t0;

    // Now the same next to three busy limited channels.
    t0 = Date.now();
    const busy = await Promise.all(limited.flatMap((r) => Array.from({ length: JOBS_PER_CHANNEL }, (_, i) => submit(producer, r, `/job/${i}`))));
    const mixed = await Promise.all(Array.from({ length: JOBS_PER_CHANNEL }, (_, i) => submit(producer, unlimited, `/mixed/${i}`)));
    await Promise.all(mixed.map((d) => producer.waitFor(d.token, { timeoutMs: 60_000, pollIntervalMs: 100 })));
    const mixedMs = Date.now() - t0;
    const finals = await Promise.all(busy.map((d) => producer.waitFor(d.token, { timeoutMs: 120_000, pollIntervalMs: 200 })));

    expect(finals.every((f) => f.state === 'completed')).toBe(true);
    for (const r of limited) {
      const starts = r.requests.map((q) => q.receivedAt).sort((a, b) => a - b);
      expect(starts).toHaveLength(JOBS_PER_CHANNEL);
      // Any LIMIT+1 consecutive starts span at least the window. Arrival times at the
      // server lag the decision (source opened, connection made), differently each time and
      // by more on a loaded machine: allow 20 % of the window. Without the limit, six
      // starts would arrive within milliseconds of each other.
      const tightest = Math.min(...starts.slice(LIMIT).map((t, i) => t - starts[i]!));
      expect(tightest).toBeGreaterThanOrEqual(WINDOW_MS * 0.8);
    }
    // 30 jobs at 5 per 2 s cannot take less than 5 windows: the limit really held them back.
    expect(Math.max(...limited.flatMap((r) => r.requests.map((q) => q.receivedAt))) - t0).toBeGreaterThanOrEqual(((JOBS_PER_CHANNEL - LIMIT) / LIMIT) * WINDOW_MS - 500);
    // The unlimited channel is not held up by the limited ones (timings are noisy: a wide ratio).
    expect(mixedMs).toBeLessThan(Math.max(aloneMs * 4, aloneMs + 3000));
    // A deferred upload says so, with its key and when it may run.
    void producer.close();
  }, 180_000);

  it('does not let a worker killed while holding a concurrency lease block the key longer than the lease', async () => {
    const slow = await receiver();
    const producer = await fleet(2, {
      RATE_LIMITS: JSON.stringify({ http: { concurrency: 1 } }),
      KEY_LEASE_TTL_MS: '3000',
      // A long job lock: the killed job stays "active" far longer than the lease, so only the
      // lease lapsing can let the next upload start.
      LOCK_DURATION_MS: '60000',
    });
    // The receiver holds the holder's 2 KiB upload for 8 s: long enough for the second to be
    // picked up and deferred on a loaded machine (at 64 KiB/s it ended after about 30 ms, and
    // the second sometimes found the lease free and ran at once).
    slow.setThrottle(256);
    const first = await submit(producer, slow, '/holder');
    await until('the first upload to start', () => slow.requests.find((r) => r.path === '/holder'));
    const second = await submit(producer, slow, '/waiter');
    // While the lease is held, the second job waits as deferred, with its key.
    const waiting = await until('the second upload to be deferred', async () => {
      const status = await producer.get(second.token);
      return status.uploads[0]?.state === 'deferred' ? status.uploads[0] : undefined;
    });
    expect(waiting).toMatchObject({ deferred_reason: 'rate_limited', limit_key: keyOf(slow) });
    expect(waiting.run_at).toBeDefined();
    // The dashboard shows job logs: the reason and the key are there too.
    const { logs } = await producer.queue('http').getJobLogs(second.uploads[0]!.job_id);
    expect(logs.some((line) => line.includes('deferred (concurrency)') && line.includes(keyOf(slow)))).toBe(true);

    // Kill the worker that holds the lease.
    const holder = workers.find((w) => w.output().includes(first.uploads[0]!.job_id) && w.output().includes('upload started'));
    expect(holder).toBeDefined();
    const killedAt = Date.now();
    holder!.child.kill('SIGKILL');
    slow.setThrottle(0);
    const waiterStart = await until('the second upload to start', () => slow.requests.find((r) => r.path === '/waiter'), 30_000);
    const blockedMs = waiterStart.receivedAt - killedAt;
    expect(blockedMs).toBeLessThan(3000 + 5000);
    expect((await producer.waitFor(second.token, { timeoutMs: 30_000 })).state).toBe('completed');
    void producer.close();
  }, 120_000);

  it('pauses only the key whose platform answered 429, for its Retry-After, across the fleet', async () => {
    const limitedByPlatform = await receiver();
    const other = await receiver();
    const producer = await fleet(2, { RATE_LIMITS: '{}' });
    limitedByPlatform.setFaults([{ status: 429, retryAfter: '3' }]);
    const firstJob = await submit(producer, limitedByPlatform, '/first');
    const refused = await until('the 429', () => limitedByPlatform.requests.find((r) => r.complete && r.path === '/first'));
    const pausedAt = refused.receivedAt;
    const more = await Promise.all(Array.from({ length: 4 }, (_, i) => submit(producer, limitedByPlatform, `/later/${i}`)));
    const others = await Promise.all(Array.from({ length: 8 }, (_, i) => submit(producer, other, `/other/${i}`)));
    const otherFinals = await Promise.all(others.map((d) => producer.waitFor(d.token, { timeoutMs: 30_000, pollIntervalMs: 50 })));
    expect(otherFinals.every((f) => f.state === 'completed')).toBe(true);
    // The other key ran at full speed during the pause.
    expect(Math.max(...other.requests.map((r) => r.receivedAt)) - pausedAt).toBeLessThan(3000);

    const finals = await Promise.all([firstJob, ...more].map((d) => producer.waitFor(d.token, { timeoutMs: 30_000, pollIntervalMs: 100 })));
    expect(finals.every((f) => f.state === 'completed')).toBe(true);
    const later = limitedByPlatform.requests.filter((r) => r.path !== '/first' || r.receivedAt > pausedAt);
    // Nothing reached the paused platform before its Retry-After ran out.
    expect(Math.min(...later.map((r) => r.receivedAt)) - pausedAt).toBeGreaterThanOrEqual(3000 * 0.9);
    // The deferral used no attempt.
    expect(finals[0]!.uploads[0]!.attempts).toBe(1);
    void producer.close();
  }, 120_000);
});
