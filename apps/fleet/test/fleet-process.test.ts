import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, type DeliveryStatus } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { startEmbeddedRedis } from '@upload-fleet/redis';
import { repoRoot, startHttpReceiver, startInPty, freePort, until, type HttpReceiver, type PtyProcess } from '@upload-fleet/testkit';

const API_KEY = 'fleet-process-test-key-0123456789';

/**
 * The command `pnpm start` runs after its install step, read from package.json so the test
 * runs what users run (under tsx's relay process, Ctrl-C would not drain). Run without the
 * `sh -c` pnpm puts around it: dash answers a Ctrl-C with status 130 whatever its child did.
 */
function startCommand(): string[] {
  const script = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  return script.split('&&').at(-1)!.trim().split(/\s+/);
}

/** True while a process with this pid exists. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pnpm start (the all-in-one fleet) in a terminal', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'upload-fleet-fleet-'));
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-fleet-src-'));
  const fleets: PtyProcess[] = [];
  let receiver: HttpReceiver;
  let env: Record<string, string | undefined>;

  const startFleet = (extra: Record<string, string> = {}) => {
    const fleet = startInPty(startCommand(), { cwd: repoRoot, env: { ...env, ...extra } });
    fleets.push(fleet);
    return fleet;
  };
  const running = (fleet: PtyProcess) => until('the fleet to start', () => fleet.output().includes('upload-fleet is running') || fleet.child.exitCode !== null);
  const api = async <T>(port: string, path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' } });
    return (await response.json()) as T;
  };
  const redisPidOf = () => (JSON.parse(readFileSync(join(dataDir, 'redis', 'embedded-redis.json'), 'utf8')) as { pid: number }).pid;

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    env = { ...process.env, FLEET_DATA_DIR: dataDir, SOURCE_ROOT: sourceRoot, API_KEYS: `test:${API_KEY}`, WORKER_POOLS: 'http', ALLOWED_PRIVATE_HOSTS: '127.0.0.1' };
    // The fleet starts its own Redis: nothing of the test run's leaks in.
    delete env.REDIS_URL;
    delete env.TEST_REDIS_URL;
    Object.assign(env, { HOST: '127.0.0.1', DASHBOARD_HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '500', LOCK_DURATION_MS: '2000' });
  });
  afterAll(async () => {
    for (const fleet of fleets) fleet.child.kill('SIGKILL');
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it('drains on Ctrl-C like on SIGTERM: the active upload is handed back without using an attempt, Redis stops last, and the upload resumes after a restart', async () => {
    writeFileSync(join(sourceRoot, 'ctrl-c.bin'), randomBytes(8 * 1024 * 1024));
    receiver.setThrottle(1024 * 1024);
    const port = String(await freePort());
    const ports = { PORT: port, DASHBOARD_PORT: String(await freePort()) };
    const first = startFleet(ports);
    await running(first);
    const redisPid = redisPidOf();
    const accepted = await api<{ token: string; uploads: { job_id: string }[] }>(port, '/v1/deliveries', {
      method: 'POST',
      body: JSON.stringify({ source: { path: 'ctrl-c.bin' }, upload: { destination: { type: 'http', url: `${receiver.url}/ctrl-c`, method: 'PUT', filename: 'ctrl-c.bin' } } }),
    });
    await until('the upload to start', () => receiver.requests.find((r) => r.path === '/ctrl-c' && r.bodyBytes > 256 * 1024));

    first.interrupt();
    expect(await first.exited, first.output()).toBe(0);
    expect(first.output()).toContain('handed back to the queue');
    // The terminal's SIGINT did not reach redis-server; the fleet stopped it after the drain.
    expect(isRunning(redisPid)).toBe(false);

    // Between the runs: the job waits in the queue with no attempt used.
    const inspect = await startEmbeddedRedis({ dataDir: join(dataDir, 'redis') });
    const connection = new Redis(inspect.url, { maxRetriesPerRequest: null });
    const producer = new Producer({ connection, prefix: 'upload-fleet', secretBox: SecretBox.fromConfig(readFileSync(join(dataDir, 'encryption-keys'), 'utf8').trim()) });
    try {
      const job = await producer.queue('http').getJob(accepted.uploads[0]!.job_id);
      expect(['waiting', 'delayed', 'prioritized']).toContain(await job!.getState());
      expect(job!.attemptsMade).toBe(0);
    } finally {
      await producer.close();
      connection.disconnect();
      await inspect.stop();
    }

    receiver.setThrottle(0);
    const second = startFleet(ports);
    await running(second);
    const final = await until('the delivery to end', async () => {
      const status = await api<DeliveryStatus>(port, `/v1/deliveries/${accepted.token}`);
      return ['completed', 'failed'].includes(status.state) ? status : undefined;
    });
    expect(final.uploads[0]).toMatchObject({ state: 'completed', attempts: 1 });
    expect(receiver.requests.filter((r) => r.path === '/ctrl-c' && r.complete)).toHaveLength(1);
    const secondRedisPid = redisPidOf();
    second.interrupt();
    expect(await second.exited, second.output()).toBe(0);
    expect(isRunning(secondRedisPid)).toBe(false);
  }, 120_000);

  describe('with a port taken', () => {
    let busy: Server;
    let busyPort: number;
    beforeAll(async () => {
      busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      busyPort = (busy.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

    it.each(['PORT', 'DASHBOARD_PORT'])('refuses to start when %s is in use, naming it, before any queued job starts, and leaves no redis-server', async (setting) => {
      // A delivery queued while the fleet was down, in the Redis the fleet finds on its data folder.
      const keys = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
      const redis = await startEmbeddedRedis({ dataDir: join(dataDir, 'redis'), adoptRunning: true });
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
      const producer = new Producer({ connection, prefix: 'upload-fleet', secretBox: SecretBox.fromConfig(keys) });
      const { uploads } = await producer.enqueue({ source: { path: 'queued.bin' }, upload: { destination: { type: 'http', url: `${receiver.url}/queued`, method: 'PUT', filename: 'queued.bin' } } });
      writeFileSync(join(sourceRoot, 'queued.bin'), randomBytes(1024 * 1024));
      await producer.close();
      connection.disconnect();
      const redisPid = redisPidOf();

      const free = String(await freePort());
      const fleet = startFleet({ ENCRYPTION_KEYS: keys, PORT: free, DASHBOARD_PORT: free, [setting]: String(busyPort), ...(setting === 'PORT' ? { DASHBOARD_PORT: String(await freePort()) } : {}) });
      expect(await fleet.exited, fleet.output()).toBe(1);
      expect(fleet.output()).toContain(`${setting}=${busyPort} is in use: set ${setting} to a free port`);
      expect(fleet.output()).not.toContain('EADDRINUSE');
      expect(isRunning(redisPid)).toBe(false);

      // The queued job never started: no attempt, nothing sent.
      const again = await startEmbeddedRedis({ dataDir: join(dataDir, 'redis') });
      const check = new Redis(again.url, { maxRetriesPerRequest: null });
      const reader = new Producer({ connection: check, prefix: 'upload-fleet', secretBox: SecretBox.fromConfig(keys) });
      try {
        const job = await reader.queue('http').getJob(uploads[0]!.job_id);
        expect(await job!.getState()).toBe('prioritized');
        expect(job!.attemptsStarted).toBe(0);
        expect(receiver.requests.filter((r) => r.path === '/queued')).toHaveLength(0);
        await job!.remove();
      } finally {
        await reader.close();
        check.disconnect();
        await again.stop();
      }
    });
  });
});
