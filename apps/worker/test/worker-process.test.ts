import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { startEmbeddedRedis } from '@upload-fleet/redis';
import { deletePrefix, startHttpReceiver, testRedisUrl, uniquePrefix, type HttpReceiver, started, startWorker, until, type WorkerProcess } from '@upload-fleet/testkit';

const KEY = `k1:${Buffer.alloc(32, 9).toString('base64')}`;

describe('worker processes', () => {
  const redisUrl = testRedisUrl();
  const prefix = uniquePrefix('proc');
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-proc-'));
  const workers: WorkerProcess[] = [];
  let receiver: HttpReceiver;
  let redis: Redis;
  let producer: Producer;

  const workerEnv = () => ({
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    ENCRYPTION_KEYS: KEY,
    WEBHOOK_SECRET: 'process-test-webhook-secret',
    WORKER_POOLS: 'http',
    SOURCE_ROOT: sourceRoot,
    ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
    LOCK_DURATION_MS: '2000',
    STALLED_INTERVAL_MS: '1000',
    SHUTDOWN_GRACE_MS: '500',
  });
  /** Each test starts from no running worker, so the one it starts is the one that takes its job. */
  const stopAllWorkers = async () => {
    for (const w of workers.splice(0)) {
      w.child.kill('SIGKILL');
      await w.exited;
    }
  };
  const spawnWorker = (extra: Record<string, string> = {}) => {
    const worker = startWorker({ ...workerEnv(), ...extra });
    workers.push(worker);
    return worker;
  };
  const writeSource = (name: string, size: number) => {
    const bytes = randomBytes(size);
    writeFileSync(join(sourceRoot, name), bytes);
    return { name, size, sha256: createHash('sha256').update(bytes).digest('hex') };
  };
  const submit = (file: string, path: string) =>
    producer.enqueue({ source: { path: file }, upload: { destination: { type: 'http', url: `${receiver.url}${path}`, filename: file, method: 'PUT' } } });

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    producer = new Producer({ connection: redis, prefix, secretBox: SecretBox.fromConfig(KEY) });
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await producer.close();
    await deletePrefix(redisUrl, prefix);
    redis.disconnect();
    await receiver.close();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it('hands a job whose worker was killed with SIGKILL mid-upload to another worker, which delivers it whole', async () => {
    await stopAllWorkers();
    const file = writeSource('killed.bin', 8 * 1024 * 1024);
    receiver.setThrottle(1024 * 1024);
    const first = spawnWorker();
    const { token } = await submit(file.name, '/killed');
    const inFlight = await until('the upload to start', () => receiver.requests.find((r) => r.path === '/killed' && r.bodyBytes > 512 * 1024));
    first.child.kill('SIGKILL');
    await first.exited;
    expect(inFlight.complete).toBe(false);
    receiver.setThrottle(0);

    spawnWorker();
    const final = await producer.waitFor(token, { timeoutMs: 45_000, pollIntervalMs: 100 });
    expect(final.state).toBe('completed');
    const complete = receiver.requests.filter((r) => r.path === '/killed' && r.complete);
    expect(complete).toHaveLength(1);
    expect(complete[0]).toMatchObject({ fileSize: file.size, sha256: file.sha256 });
  });

  it('on SIGTERM stops taking jobs, hands the active upload back without using an attempt, and exits 0', async () => {
    await stopAllWorkers();
    const file = writeSource('drained.bin', 8 * 1024 * 1024);
    receiver.setThrottle(1024 * 1024);
    const worker = spawnWorker();
    await started(worker);
    const { token, uploads } = await submit(file.name, '/drained');
    await until('the upload to start', () => receiver.requests.find((r) => r.path === '/drained' && r.bodyBytes > 256 * 1024));
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output(), worker.output()).toContain('grace period over');

    const job = await producer.queue('http').getJob(uploads[0]!.job_id);
    expect(['waiting', 'delayed', 'prioritized']).toContain(await job!.getState());
    expect(job!.attemptsMade).toBe(0);

    // The resumed run is still attempt 1: in the status and in the worker's log alike.
    const second = spawnWorker();
    const resumed = await until('the upload to run again', async () => {
      const status = await producer.get(token);
      return status.uploads[0]?.state === 'active' ? status.uploads[0] : undefined;
    });
    expect(resumed.attempts).toBe(1);
    await until('the upload to start again', () => second.output().includes('upload started'));
    expect(second.output()).toMatch(/"attempt":"1 of \d+".*upload started/);
    receiver.setThrottle(0);
    const final = await producer.waitFor(token, { timeoutMs: 45_000, pollIntervalMs: 100 });
    expect(final.uploads[0]).toMatchObject({ state: 'completed', attempts: 1 });
    expect(receiver.requests.filter((r) => r.path === '/drained' && r.complete)[0]).toMatchObject({ sha256: file.sha256 });
  });

  it('exits on SIGTERM even when its Redis is gone, instead of waiting for it for ever', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'upload-fleet-vanishing-'));
    const vanishing = await startEmbeddedRedis({ dataDir, persist: false });
    try {
      const worker = spawnWorker({ REDIS_URL: vanishing.url });
      await started(worker);
      await vanishing.stop();
      worker.child.kill('SIGTERM');
      // SHUTDOWN_GRACE_MS is 500 here; the process gives Redis 5 s more, then exits anyway.
      expect([0, 1]).toContain(await worker.exited);
    } finally {
      await vanishing.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start, saying why, when Redis may evict keys', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'upload-fleet-evicting-'));
    const evicting = await startEmbeddedRedis({ dataDir, persist: false });
    const admin = new Redis(evicting.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const worker = spawnWorker({ REDIS_URL: evicting.url });
      expect(await worker.exited).toBe(1);
      expect(worker.output()).toMatch(/maxmemory-policy "allkeys-lru".*Set it to "noeviction"/);
    } finally {
      admin.disconnect();
      await evicting.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start when HEALTH_PORT is in use, naming the setting, before its pools take a job', async () => {
    await stopAllWorkers();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as AddressInfo).port;
    try {
      const file = writeSource('not-taken.bin', 64 * 1024);
      const { uploads } = await submit(file.name, '/not-taken');
      const worker = spawnWorker({ HEALTH_PORT: String(busyPort) });
      expect(await worker.exited).toBe(1);
      expect(worker.output()).toContain(`HEALTH_PORT=${busyPort} is in use: set HEALTH_PORT to a free port`);
      const job = await producer.queue('http').getJob(uploads[0]!.job_id);
      expect(job!.attemptsStarted).toBe(0);
      await job!.remove();
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  it('refuses to start with an invalid configuration, listing every problem', async () => {
    const worker = spawnWorker({ WORKER_POOLS: 'http,gopher', ENCRYPTION_KEYS: 'nonsense', UPLOAD_MAX_ATTEMPTS: '-1' });
    expect(await worker.exited).toBe(1);
    const out = worker.output();
    expect(out).toContain('ENCRYPTION_KEYS');
    expect(out).toContain('UPLOAD_MAX_ATTEMPTS');
  });
});
