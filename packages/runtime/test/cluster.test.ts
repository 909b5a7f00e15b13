import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type DeliveryStatus } from '@upload-fleet/core';
import { IdempotencyConflictError, type Producer } from '@upload-fleet/producer';
import { clusterPrefixProblem, masterNodes, RedisConfigError, redisConnectionFromConfig, redisEnvSchema, type RedisConnection } from '@upload-fleet/redis';
import { deletePrefix, dumpPrefix, startHttpReceiver, startClusterForTests, type HttpReceiver } from '@upload-fleet/testkit';
import { assertNoEviction, FleetLimiter, SIGNATURE_HEADER, startWorkerFleet, type LimitRules, type WorkerFleet } from '../src/index.js';
import { testConfig, WEBHOOK_SECRET } from './fleet-harness.js';

/**
 * The fleet on a local three-master Redis Cluster with a plain prefix (the spread layout,
 * @upload-fleet/core KeyLayout): enqueue, process, retry, rate limits, idempotency, results
 * and webhooks, plus the cluster-specific checks (each queue in one slot, every other key
 * tagged by what it belongs to, per-master checks). The fleet is the real one
 * (startWorkerFleet) given the cluster's seed nodes.
 */
const { cluster, unavailable } = await startClusterForTests('packages/runtime/test/cluster.test.ts');

describe.skipIf(!cluster)(`the fleet on a three-master Redis Cluster${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const prefix = `uft-cluster-${randomUUID().slice(0, 8)}`;
  // Only when the suite runs: a skipped suite has no afterAll to remove it.
  const sourceRoot = cluster ? mkdtempSync(join(tmpdir(), 'upload-fleet-cluster-sources-')) : '';
  const limitRules: LimitRules = { ftp: { windows: [{ limit: 2, windowMs: 60_000 }], concurrency: 1, keys: {} } };
  const config = { ...testConfig(prefix, sourceRoot, { pools: [{ type: 'http', concurrency: 4 }], limitRules }), redisUrl: undefined, redis: cluster?.config };
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let connection: RedisConnection;
  let fleet: WorkerFleet;
  let producer: Producer;
  let limiter: FleetLimiter;
  let receiver: HttpReceiver;
  /** Writes a source file of random bytes; answers its name, size and sha256. */
  const write = (name: string, size = 4096) => {
    const bytes = randomBytes(size);
    writeFileSync(join(sourceRoot, name), bytes);
    return { name, size, sha256: createHash('sha256').update(bytes).digest('hex') };
  };

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    connection = redisConnectionFromConfig({ ...cluster!.config, prefix });
    connection.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis connection error'));
    fleet = await startWorkerFleet(config, logger);
    producer = fleet.producer;
    // A limiter of its own on the same keys, to ask for decisions directly.
    limiter = new FleetLimiter({ connection, prefix, rules: limitRules, leaseTtlMs: config.leaseTtlMs });
  });

  afterAll(async () => {
    await fleet?.close();
    if (cluster) {
      await deletePrefix(cluster.config, prefix);
      // SCAN on every master: nothing of this run is left anywhere in the cluster.
      expect((await dumpPrefix(cluster.config, prefix)).size).toBe(0);
    }
    connection?.disconnect();
    await receiver?.close();
    rmSync(sourceRoot, { recursive: true, force: true });
    await cluster?.dispose();
  });

  it('takes a plain prefix (the default included) or a hash-tagged one, and refuses braces that make no hash tag', () => {
    expect(redisEnvSchema.parse({ REDIS_CLUSTER_NODES: cluster!.nodes.join(','), REDIS_PREFIX: prefix })).toEqual({ cluster: cluster!.nodes, prefix });
    expect(redisEnvSchema.safeParse({ REDIS_CLUSTER_NODES: cluster!.nodes.join(',') }).success).toBe(true);
    expect(redisEnvSchema.safeParse({ REDIS_CLUSTER_NODES: cluster!.nodes.join(','), REDIS_PREFIX: '{upload-fleet}' }).success).toBe(true);
    const parsed = redisEnvSchema.safeParse({ REDIS_CLUSTER_NODES: cluster!.nodes.join(','), REDIS_PREFIX: 'upload{fleet' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message).join('\n')).toMatch(/braces that make no hash tag.*REDIS_PREFIX=uploadfleet/);
    expect(() => redisConnectionFromConfig({ ...cluster!.config, prefix: 'a{}b' })).toThrow(RedisConfigError);
    expect(clusterPrefixProblem('a{}b')).toBeDefined();
  });

  it('will not start a worker fleet on the cluster with a prefix whose braces make no hash tag', async () => {
    await expect(startWorkerFleet({ ...config, prefix: 'upload}{fleet' }, logger)).rejects.toThrow(/braces that make no hash tag/);
  });

  it('checks maxmemory-policy on every master (CONFIG GET per node, not on one picked at random)', async () => {
    const masters = await masterNodes(connection);
    expect(masters).toHaveLength(3);
    await assertNoEviction(connection);
    // One evicting master is enough to refuse.
    await masters[2]!.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      await expect(assertNoEviction(connection)).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${masters[2]!.options.port}\\) is configured with maxmemory-policy "allkeys-lru"`));
    } finally {
      await masters[2]!.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('enqueues a delivery of several uploads and delivers each one once, with results and status', async () => {
    const files = [write('a.bin', 10_000), write('b.bin', 20_000), write('c.bin', 30_000)];
    const { token, uploads } = await producer.enqueue({
      source: { path: 'a.bin' },
      uploads: files.map((f) => ({ destination: { type: 'http', url: `${receiver.url}/multi/${f.name}`, filename: f.name, method: 'PUT' } })),
    });
    expect(uploads).toHaveLength(3);
    const final = await producer.waitFor(token, { pollIntervalMs: 100, timeoutMs: 30_000 });
    expect(final.state).toBe('completed');
    expect(final.uploads.map((u) => [u.state, u.attempts])).toEqual([['completed', 1], ['completed', 1], ['completed', 1]]);
    for (const f of files) {
      const arrived = receiver.requests.filter((r) => r.path === `/multi/${f.name}`);
      expect(arrived).toHaveLength(1);
      // Every upload sends the delivery's one source file.
      expect(arrived[0]).toMatchObject({ complete: true, fileSize: files[0]!.size, sha256: files[0]!.sha256 });
    }
    expect(final.uploads[1]).toMatchObject({ upload: `${receiver.url}/multi/b.bin`, result: { status: 200, bytes: files[0]!.size } });
  });

  it('retries a transient failure with backoff and then completes', async () => {
    const file = write('flaky.bin');
    receiver.setFaults([{ status: 503 }]);
    const { token } = await producer.enqueue({ source: { path: file.name }, upload: { destination: { type: 'http', url: `${receiver.url}/flaky`, filename: file.name, method: 'PUT' } } });
    const states: string[] = [];
    const final = await producer.waitFor(token, { onProgress: (s) => states.push(s.uploads[0]!.state), pollIntervalMs: 50, timeoutMs: 30_000 });
    expect(final.uploads[0]).toMatchObject({ state: 'completed', attempts: 2 });
    expect(states).toContain('deferred');
    expect(receiver.requests.filter((r) => r.path === '/flaky').map((r) => r.complete)).toEqual([true, true]);
  });

  it('decides fleet-wide limits on the cluster: windows, concurrency, pauses', async () => {
    const key = `ftp.example.com-${randomUUID().slice(0, 6)}`;
    const first = await limiter.acquire('ftp', key, 'job-1:1');
    expect(first.allowed).toBe(true);
    // Concurrency 1: a second upload of the key waits for the lease.
    expect(await limiter.acquire('ftp', key, 'job-2:1')).toMatchObject({ allowed: false, reason: 'concurrency' });
    if (first.allowed) await first.permit.release();
    const second = await limiter.acquire('ftp', key, 'job-2:1');
    expect(second.allowed).toBe(true);
    if (second.allowed) await second.permit.release();
    // Window 2 per minute: the third start waits for the window.
    expect(await limiter.acquire('ftp', key, 'job-3:1')).toMatchObject({ allowed: false, reason: 'window' });
    // Asking again for an attempt already counted is not counted twice.
    expect((await limiter.acquire('ftp', key, 'job-1:1')).allowed).toBe(true);
    const other = `other-${key}`;
    await limiter.pause('ftp', other, 5_000);
    const paused = await limiter.acquire('ftp', other, 'job-4:1');
    expect(paused).toMatchObject({ allowed: false, reason: 'paused' });
    expect(paused.allowed === false && paused.waitMs).toBeGreaterThan(4_000);
    await limiter.pauseDestination('youtube', 2_000);
    expect(await limiter.acquire('youtube', 'channel:x', 'job-5:1')).toMatchObject({ allowed: false, reason: 'paused' });
  });

  it('answers the same delivery for a repeated idempotency_key, and refuses a different request with it', async () => {
    const file = write('idem.bin');
    const request = { source: { path: file.name }, upload: { destination: { type: 'http', url: `${receiver.url}/idem`, filename: file.name, method: 'PUT' } }, idempotency_key: `render-${randomUUID()}` };
    const [a, b] = await Promise.all([producer.enqueue(request), producer.enqueue(request)]);
    expect(b.token).toBe(a.token);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    await expect(producer.enqueue({ ...request, upload: { destination: { ...request.upload.destination, url: `${receiver.url}/other` } } })).rejects.toBeInstanceOf(IdempotencyConflictError);
    await producer.waitFor(a.token, { pollIntervalMs: 100, timeoutMs: 30_000 });
    expect(receiver.requests.filter((r) => r.path === '/idem')).toHaveLength(1);
  });

  it('sends the signed webhook when the delivery finishes', async () => {
    const calls: { headers: IncomingMessage['headers']; body: string }[] = [];
    const hook: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        calls.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    try {
      const file = write('hooked.bin');
      const { token } = await producer.enqueue({
        source: { path: file.name },
        upload: { destination: { type: 'http', url: `${receiver.url}/hooked`, filename: file.name, method: 'PUT' } },
        callback_url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
      });
      await producer.waitFor(token, { pollIntervalMs: 50, timeoutMs: 30_000 });
      let status: DeliveryStatus = await producer.get(token);
      for (const deadline = Date.now() + 15_000; status.webhook?.state !== 'delivered' && Date.now() < deadline; status = await producer.get(token)) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status.webhook).toMatchObject({ state: 'delivered', attempts: 1, last_status: 204 });
      expect(calls).toHaveLength(1);
      const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(calls[0]!.headers[SIGNATURE_HEADER]));
      expect(match?.[2]).toBe(createHmac('sha256', WEBHOOK_SECRET).update(`${match?.[1]}.${calls[0]!.body}`).digest('hex'));
      expect(JSON.parse(calls[0]!.body)).toMatchObject({ event: 'delivery.finished', delivery: { token, state: 'completed' } });
    } finally {
      hook.close();
    }
  });

  it('keeps each queue in the slot of its own hash tag, and tags records, idempotency and limit keys by what they belong to', async () => {
    const keys = [...(await dumpPrefix(cluster!.config, prefix)).keys()];
    const [any] = await masterNodes(connection);
    const slotOf = async (key: string) => Number(await any!.call('CLUSTER', 'KEYSLOT', key));
    const slotsOf = async (of: string[]) => new Set(await Promise.all(of.map(slotOf)));
    const httpQueue = keys.filter((k) => k.startsWith(`{${prefix}:http}:upload-http:`));
    const webhookQueue = keys.filter((k) => k.startsWith(`{${prefix}:webhook}:webhook:`));
    expect(httpQueue.length).toBeGreaterThan(5);
    expect(webhookQueue.length).toBeGreaterThan(0);
    // BullMQ's scripts touch several keys of one queue: each queue's keys share one slot.
    expect([...(await slotsOf(httpQueue))]).toEqual([await slotOf(`{${prefix}:http}`)]);
    expect([...(await slotsOf(webhookQueue))]).toEqual([await slotOf(`{${prefix}:webhook}`)]);
    // Every record in the slot of its token; the records of this run spread over several slots.
    const records = keys.filter((k) => k.startsWith(`${prefix}:delivery:{`));
    expect(records.length).toBeGreaterThan(3);
    for (const record of records) expect(await slotOf(record)).toBe(await slotOf(/\{(.+)\}$/.exec(record)![1]!));
    expect((await slotsOf(records)).size).toBe(records.length);
    expect(keys.filter((k) => k.startsWith(`${prefix}:idempotency:{`))).toHaveLength(1);
    expect(keys.some((k) => k.startsWith(`${prefix}:limit:{ftp:`))).toBe(true);
    // Nothing outside the layout: every key is a queue's, or under the prefix with a tag of
    // its own, or one of the two delivery lists.
    for (const key of keys) {
      expect(key.startsWith('{') || /^[^{]+:\{[^}]+\}/.test(key) || key.startsWith(`${prefix}:deliveries`), key).toBe(true);
    }
  });
});
