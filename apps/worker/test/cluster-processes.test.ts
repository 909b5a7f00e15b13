import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyLayout, shardFor } from '@upload-fleet/core';
import { freePort, redisConnectionFromConfig } from '@upload-fleet/redis';
import { deletePrefix, startApp, startHttpReceiver, startClusterForTests, started, startWorker, until, type HttpReceiver, type WorkerProcess } from '@upload-fleet/testkit';

/**
 * Exactly once across processes on a three-master Redis Cluster with a plain prefix (the
 * spread layout): the API and three workers, each its own OS process as in a deployment,
 * deliveries submitted over HTTP; every upload reaches its destination once. The http pool
 * is split into three shards (POOL_SHARDS, read by the API and every worker from the
 * environment), and the receivers are accounts spread over all three.
 */
const { cluster, unavailable } = await startClusterForTests('apps/worker/test/cluster-processes.test.ts');

const KEY = `k1:${Buffer.alloc(32, 5).toString('base64')}`;
const API_KEY = 'render-farm-key-5d2c8a';

describe.skipIf(!cluster)(`the API and three worker processes on a Redis Cluster${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const prefix = `uft-procs-${randomUUID().slice(0, 8)}`;
  const sourceRoot = cluster ? mkdtempSync(join(tmpdir(), 'upload-fleet-cluster-procs-')) : '';
  const processes: WorkerProcess[] = [];
  const poolShards = { http: 3 };
  /** Each receiver is one destination account (the http limit key is its host:port); every shard has some. */
  const receivers: HttpReceiver[] = [];
  let api = '';

  beforeAll(async () => {
    const shardsHit = new Set<number>();
    while ((shardsHit.size < 3 || receivers.length < 6) && receivers.length < 40) {
      const receiver = await startHttpReceiver();
      receivers.push(receiver);
      shardsHit.add(shardFor(poolShards, 'http', new URL(receiver.url).host));
    }
    writeFileSync(join(sourceRoot, 'clip.bin'), Buffer.alloc(32 * 1024, 3));
    const common = { REDIS_CLUSTER_NODES: cluster!.nodes.join(','), REDIS_PREFIX: prefix, ENCRYPTION_KEYS: KEY, ALLOWED_PRIVATE_HOSTS: '127.0.0.1', LOG_LEVEL: 'warn', POOL_SHARDS: 'http:3' };
    const port = await freePort();
    processes.push(startApp('api', { ...common, API_KEYS: `farm:${API_KEY}`, PORT: String(port), HOST: '127.0.0.1' }));
    api = `http://127.0.0.1:${port}`;
    const workers = [1, 2, 3].map(() =>
      startWorker({ ...common, LOG_LEVEL: 'info', WEBHOOK_SECRET: 'cluster-processes-webhook-secret', WORKER_POOLS: 'http', WORKER_CONCURRENCY: '4', SOURCE_ROOT: sourceRoot }),
    );
    processes.push(...workers);
    await Promise.all(workers.map(started));
    // Ready, not only alive: until its cluster connection is up the API answers 503 to a submit.
    await until('the API to be ready', () => fetch(`${api}/readyz`).then((r) => r.ok, () => false));
  }, 60_000);

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    await Promise.all(receivers.map((r) => r.close()));
    if (cluster) await deletePrefix(cluster.config, prefix);
    rmSync(sourceRoot, { recursive: true, force: true });
    await cluster?.dispose();
  });

  it('delivers every upload of deliveries submitted over HTTP exactly once', async () => {
    const count = 60;
    const post = async (i: number) => {
      const response = await fetch(`${api}/v1/deliveries`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          source: { path: 'clip.bin' },
          uploads: ['a', 'b'].map((part) => ({ destination: { type: 'http', url: `${receivers[i % receivers.length]!.url}/p/${i}/${part}`, filename: `${i}-${part}.bin`, method: 'PUT' } })),
        }),
      });
      expect(response.status, await response.clone().text()).toBe(202);
      return ((await response.json()) as { token: string }).token;
    };
    const tokens: string[] = [];
    for (let i = 0; i < count; i += 10) tokens.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => post(i + k)))));

    const pending = new Set(tokens);
    const deadline = Date.now() + 45_000;
    while (pending.size > 0 && Date.now() < deadline) {
      for (const token of [...pending]) {
        const status = (await (await fetch(`${api}/v1/deliveries/${token}`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { state: string };
        if (status.state === 'completed') pending.delete(token);
        else expect(status.state).not.toBe('failed');
      }
      await sleep(200);
    }
    expect(pending.size).toBe(0);
    const arrived = receivers.flatMap((r) => r.requests.filter((request) => request.complete));
    for (let i = 0; i < count; i++) {
      for (const part of ['a', 'b']) expect(arrived.filter((r) => r.path === `/p/${i}/${part}`), `${i}/${part}`).toHaveLength(1);
    }
    expect(arrived).toHaveLength(2 * count);
    // Each shard's queue completed the uploads of its accounts.
    const expected = [0, 1, 2].map((shard) => 2 * Array.from({ length: count }, (_, i) => i).filter((i) => shardFor(poolShards, 'http', new URL(receivers[i % receivers.length]!.url).host) === shard).length);
    const connection = redisConnectionFromConfig({ ...cluster!.config, prefix });
    try {
      const layout = keyLayout(prefix, { cluster: true });
      expect(await Promise.all([0, 1, 2].map((shard) => connection.zcard(`${layout.queueKeyBase('http', shard)}:completed`)))).toEqual(expected);
    } finally {
      connection.disconnect();
    }
    // Every process is still up: nothing above was done by a survivor alone.
    for (const p of processes) expect(p.child.exitCode).toBeNull();
  }, 60_000);
});
