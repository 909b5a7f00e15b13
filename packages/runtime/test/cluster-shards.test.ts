import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, keyLayout, SecretBox, shardFor, type PoolShards } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { redisConnectionFromConfig, redisEnvSchema, type RedisConnection } from '@upload-fleet/redis';
import { deletePrefix, dumpPrefix, startHttpReceiver, startClusterForTests, type HttpReceiver } from '@upload-fleet/testkit';
import { startWorkerFleet, workerConfig, type WorkerFleet } from '../src/index.js';
import { testConfig } from './fleet-harness.js';

/**
 * A pool split into shards (POOL_SHARDS=http:3) on a three-master Redis Cluster: the
 * producer (as the API) places each upload on the shard of its destination account (the
 * http limit key: the receiver's host and port), the workers of the pool consume all three
 * shards, and cancel and status find a job on its shard. Each receiver is one account.
 */
const { cluster, unavailable } = await startClusterForTests('packages/runtime/test/cluster-shards.test.ts');

const SHARDS = 3;
const poolShards: PoolShards = { http: SHARDS };

describe.skipIf(!cluster)(`a pool split into shards on a three-master Redis Cluster${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const sourceRoot = cluster ? mkdtempSync(join(tmpdir(), 'upload-fleet-shards-')) : '';
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let prefix = '';
  let connection: RedisConnection;
  let producer: Producer;
  let fleet: WorkerFleet | undefined;
  /** Receivers by shard: each is one destination account (its host:port is the limit key). */
  const accounts: HttpReceiver[][] = Array.from({ length: SHARDS }, () => []);
  const receivers: HttpReceiver[] = [];

  beforeAll(async () => {
    connection = redisConnectionFromConfig({ ...cluster!.config, prefix: 'probe' });
    // The shards' hash tags are hashed to slots like any key: with three shards on three
    // masters they may share one. The test picks a prefix whose shards land on three masters,
    // to prove what placement does there (with more shards than masters they spread by chance).
    for (let attempt = 0; !prefix; attempt++) {
      const candidate = `uft-shards-${randomUUID().slice(0, 8)}`;
      const layout = keyLayout(candidate, { cluster: true });
      const masters = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => masterOf(connection, layout.queueKeyBase('http', shard))));
      if (new Set(masters).size === SHARDS || attempt > 50) prefix = candidate;
    }
    // Accounts until each shard has two (a receiver's port decides its shard).
    while (accounts.some((a) => a.length < 2) && receivers.length < 40) {
      const receiver = await startHttpReceiver();
      receivers.push(receiver);
      accounts[shardFor(poolShards, 'http', new URL(receiver.url).host)]!.push(receiver);
    }
    writeFileSync(join(sourceRoot, 'clip.bin'), Buffer.alloc(8 * 1024, 5));
    producer = new Producer({ connection, prefix, secretBox: testConfig(prefix, sourceRoot).secretBox, poolShards });
  });

  afterAll(async () => {
    await fleet?.close();
    await producer?.close();
    if (cluster && prefix) {
      await deletePrefix(cluster.config, prefix);
      expect((await dumpPrefix(cluster.config, prefix)).size).toBe(0);
    }
    connection?.disconnect();
    await Promise.all(receivers.map((r) => r.close()));
    rmSync(sourceRoot, { recursive: true, force: true });
    await cluster?.dispose();
  });

  it('reads POOL_SHARDS in every process alike, and names a wrong entry and the setting', () => {
    const base = { REDIS_URL: 'redis://127.0.0.1:1', ENCRYPTION_KEYS: `k1:${SecretBox.generateKey()}`, WEBHOOK_SECRET: 'a-webhook-secret-of-length', WORKER_POOLS: 'http' };
    const worker = workerConfig().safeLoad({ ...base, POOL_SHARDS: 'http:3,s3:2' });
    expect(worker.ok && worker.config.poolShards).toEqual({ http: 3, s3: 2 });
    const wrong = workerConfig().safeLoad({ ...base, POOL_SHARDS: 'http:0,htp:2,s3' });
    expect(wrong.ok).toBe(false);
    const messages = wrong.ok ? '' : wrong.problems.map((p) => `${p.setting}: ${p.message}`).join('\n');
    expect(messages).toMatch(/POOL_SHARDS.*"http:0" is not <type>:<shards>/);
    expect(messages).toMatch(/POOL_SHARDS.*"s3" is not <type>:<shards>/);
    const unknown = workerConfig().safeLoad({ ...base, POOL_SHARDS: 'htp:2' });
    expect(unknown.ok ? '' : unknown.problems.map((p) => `${p.setting}: ${p.message}`).join('\n')).toMatch(/^POOL_SHARDS: .*"htp", which is no destination type/);
    expect(redisEnvSchema.safeParse({ REDIS_URL: 'redis://127.0.0.1:1', POOL_SHARDS: 'http:65' }).success).toBe(false);
  });

  it('puts the shards of the pool on different masters', async () => {
    const layout = keyLayout(prefix, { cluster: true });
    const masters = await Promise.all(Array.from({ length: SHARDS }, (_, shard) => masterOf(connection, layout.queueKeyBase('http', shard))));
    expect(new Set(masters).size).toBe(SHARDS);
  });

  it('finds a job on its shard to cancel it', async () => {
    const account = accounts[SHARDS - 1]![0]!;
    const { token } = await producer.enqueue(httpDelivery(account, 'cancelled'));
    const record = await producer.deliveries.read(token);
    expect(record?.meta.uploads[0]).toMatchObject({ shard: SHARDS - 1, queue: `upload-http-${SHARDS - 1}` });
    expect(await producer.shardQueues('http')[SHARDS - 1]!.getJob(record!.meta.uploads[0]!.job_id)).toBeDefined();
    expect(await producer.cancel(token)).toEqual({ cancelled: [0], not_cancelled: [] });
    expect((await producer.get(token)).state).toBe('cancelled');
    expect(await producer.shardQueues('http')[SHARDS - 1]!.getJob(record!.meta.uploads[0]!.job_id)).toBeUndefined();
  });

  it('keeps each account on one shard, spreads the jobs over every master, and completes every job exactly once', async () => {
    const perAccount = 6;
    const tokens: { token: string; receiver: HttpReceiver; shard: number }[] = [];
    for (const [shard, receiversOfShard] of accounts.entries()) {
      for (const receiver of receiversOfShard) {
        for (let i = 0; i < perAccount; i++) tokens.push({ token: (await producer.enqueue(httpDelivery(receiver, `${i}`))).token, receiver, shard });
      }
    }
    // Before any worker runs: each account's uploads wait in one shard's queue, and every shard holds some.
    for (const { token, shard } of tokens) expect((await producer.deliveries.read(token))?.meta.uploads[0]?.shard ?? 0).toBe(shard);
    const waiting = await Promise.all(producer.shardQueues('http').map((q) => q.getJobCountByTypes('prioritized', 'wait')));
    expect(waiting).toEqual(accounts.map((a) => a.length * perAccount));

    fleet = await startWorkerFleet({ ...testConfig(prefix, sourceRoot, { pools: [{ type: 'http', concurrency: 2 }] }), redisUrl: undefined, redis: cluster!.config, poolShards }, logger);
    expect(fleet.pools[0]!.workers).toHaveLength(SHARDS);
    const deadline = Date.now() + 30_000;
    let states: string[] = [];
    while (Date.now() < deadline) {
      states = await Promise.all(tokens.map(async ({ token }) => (await producer.get(token)).state));
      if (states.every((s) => s === 'completed')) break;
      await sleep(200);
    }
    expect(states.filter((s) => s !== 'completed')).toEqual([]);
    for (const receiver of receivers.filter((r) => accounts.flat().includes(r))) {
      const paths = receiver.requests.filter((r) => r.complete).map((r) => r.path);
      expect(paths.filter((p) => p !== '/f/cancelled').sort()).toEqual(Array.from({ length: perAccount }, (_, i) => `/f/${i}`).sort());
    }
    // Each shard's jobs ran from its own queue.
    const completed = await Promise.all(producer.shardQueues('http').map((q) => q.getJobCountByTypes('completed')));
    expect(completed).toEqual(accounts.map((a) => a.length * perAccount));
  }, 60_000);
});

function httpDelivery(receiver: HttpReceiver, name: string) {
  return { source: { path: 'clip.bin' }, upload: { destination: { type: 'http', url: `${receiver.url}/f/${name}`, filename: `${name}.bin`, method: 'PUT' } } };
}

/** The port of the master that serves a key's slot. */
async function masterOf(connection: RedisConnection, key: string): Promise<number> {
  const slot = Number(await connection.call('CLUSTER', 'KEYSLOT', key));
  const ranges = (await connection.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
}
