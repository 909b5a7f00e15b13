/**
 * Redis Cluster benchmark: the same load on a local cluster of 1 and of 3 masters.
 *  - keys per master under a mixed load of every registered destination type (enqueued,
 *    not run: the share each master holds of the spread key layout);
 *  - jobs/s end to end (enqueue, an in-process worker fleet uploading to local HTTP
 *    receivers, completion) and Redis CPU per delivery (used_cpu_user + used_cpu_sys of
 *    every master, INFO cpu, before and after);
 *  - three runs: 1 master; 3 masters with the http pool in one queue (one master serves
 *    it all); 3 masters with the http pool split into 3 shards (POOL_SHARDS=http:3, each
 *    receiver one account, placed on a shard by its host). With this prefix the three
 *    shards' hash tags fall on three different masters.
 * Prints a markdown table and, last, one JSON line with every figure.
 *
 *   pnpm bench:cluster                (BENCH_QUICK=1: fewer deliveries)
 *
 * The masters, the fleet and the load generator share this machine's cores: on a small
 * or busy machine three masters cannot run faster than one; the figure that carries over
 * to real hardware is the spread of the keys and of the CPU, not the jobs/s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import { createLogger, SecretBox } from '@upload-fleet/core';
import { defaultDestinationsConfig } from '@upload-fleet/destinations';
import { DEFINITIONS, DESTINATION_TYPES } from '@upload-fleet/destinations/definitions';
import { masterNodes } from '@upload-fleet/redis';
import { startWorkerFleet } from '@upload-fleet/runtime';
import { startHttpReceiver, startTestRedisCluster } from '@upload-fleet/testkit';
import { writeBenchSection } from './lib/sections.js';

const QUICK = process.env.BENCH_QUICK === '1';
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? (QUICK ? 300 : 3000));
const MIXED = QUICK ? 240 : 2400;
// Accounts (receivers): each is placed on one shard by its host:port, so enough of them to fill three.
const HOSTS = 24;
const PREFIX = 'bench-cluster';
const secretBox = new SecretBox([{ id: 'bench', key: Buffer.alloc(32, 1) }]);

interface Row {
  masters: number;
  http_shards: number;
  /** Throughput jobs completed from each shard's queue. */
  jobs_per_shard: number[];
  keys_per_master: number[];
  min_key_share: number;
  deliveries: number;
  jobs_per_s: number;
  redis_cpu_ms_per_delivery: number;
  cpu_ms_per_master: number[];
  /** Redis commands per delivery (every master, INFO commandstats; a script counts once, and so does each command it calls). */
  commands_per_delivery: number;
  /** The commands that took the most Redis time: calls per delivery and share of the time. */
  top_commands: { command: string; calls_per_delivery: number; usec_share: number }[];
}

async function cpuMsOf(nodes: Redis[]): Promise<number[]> {
  return Promise.all(
    nodes.map(async (node) => {
      const info = await node.info('cpu');
      const value = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
      return (value('used_cpu_user') + value('used_cpu_sys')) * 1000;
    }),
  );
}

/** Calls and usec per command (INFO commandstats), summed over the masters. */
async function commandStatsOf(nodes: Redis[]): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const node of nodes) {
    for (const match of (await node.info('commandstats')).matchAll(/cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/g)) {
      const entry = stats.get(match[1]!) ?? { calls: 0, usec: 0 };
      entry.calls += Number(match[2]);
      entry.usec += Number(match[3]);
      stats.set(match[1]!, entry);
    }
  }
  return stats;
}

async function keysPerMaster(nodes: Redis[]): Promise<number[]> {
  return Promise.all(
    nodes.map(async (node) => {
      let count = 0;
      for (const pattern of [`${PREFIX}*`, `{${PREFIX}*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          count += keys.length;
        } while (cursor !== '0');
      }
      return count;
    }),
  );
}

async function run(masters: number, shards: number, sourceRoot: string): Promise<Row> {
  const cluster = await startTestRedisCluster({ masters });
  const receivers = await Promise.all(Array.from({ length: HOSTS }, () => startHttpReceiver()));
  const logger = createLogger({ level: 'silent' });
  const fleet = await startWorkerFleet(
    {
      redisUrl: undefined,
      redis: cluster.config,
      prefix: PREFIX,
      poolShards: { http: shards },
      secretBox,
      webhookSecret: 'bench-cluster-webhook-secret',
      pools: [{ type: 'http', concurrency: 32 }],
      sourceRoot,
      allowedPrivateHosts: ['127.0.0.1'],
      maxAttempts: 3,
      uploadTimeoutMs: 60_000,
      shutdownGraceMs: 2_000,
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
      maxStalledCount: 1,
      backoff: { baseDelayMs: 500, maxDelayMs: 5_000 },
      defaultRateLimitDelayMs: 1_000,
      webhookTimeoutMs: 5_000,
      webhookMaxAttempts: 1,
      webhookBackoffMs: 1_000,
      checkpointTtlSeconds: 3_600,
      destinations: defaultDestinationsConfig(),
      limitRules: {},
      leaseTtlMs: 30_000,
    },
    logger,
  );
  const connection = cluster.connect() as Cluster;
  try {
    const nodes = await masterNodes(connection);
    // Keys: a mixed load of every registered type, enqueued only (most types need a platform).
    for (let i = 0; i < MIXED; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, MIXED - i) }, (_, k) => {
          const n = i + k;
          const example = DEFINITIONS.find((d) => d.type === DESTINATION_TYPES[n % DESTINATION_TYPES.length])!.example;
          return fleet.producer.enqueue({ source: { path: 'clip.bin' }, upload: { destination: { ...example } }, ...(n % 3 === 0 ? { idempotency_key: `mixed-${n}` } : {}) });
        }),
      );
    }
    const perMaster = await keysPerMaster(nodes);
    const total = perMaster.reduce((a, b) => a + b, 0);

    // Throughput: http deliveries run end to end.
    const cpuBefore = await cpuMsOf(nodes);
    const statsBefore = await commandStatsOf(nodes);
    const started = Date.now();
    const tokens: string[] = [];
    for (let i = 0; i < DELIVERIES; i += 50) {
      const batch = await fleet.producer.submitBatch(
        Array.from({ length: Math.min(50, DELIVERIES - i) }, (_, k) => ({
          source: { path: 'clip.bin' },
          upload: { destination: { type: 'http', url: `${receivers[(i + k) % HOSTS]!.url}/in/${i + k}`, filename: `${i + k}.bin`, method: 'PUT' } },
        })),
      );
      for (const outcome of batch) if (outcome.ok) tokens.push(outcome.result.token);
    }
    // Every throughput delivery completed (the mixed load's http examples never do: their host does not resolve).
    const perShardOf = () => Promise.all(fleet.producer.shardQueues('http').map(async (q) => (await q.getJobCounts('completed')).completed ?? 0));
    const completedOf = async () => (await perShardOf()).reduce((a, b) => a + b, 0);
    while ((await completedOf()) < tokens.length) await sleep(50);
    const seconds = (Date.now() - started) / 1000;
    const cpuAfter = await cpuMsOf(nodes);
    const statsAfter = await commandStatsOf(nodes);
    const delta = [...statsAfter].map(([command, after]) => ({ command, calls: after.calls - (statsBefore.get(command)?.calls ?? 0), usec: after.usec - (statsBefore.get(command)?.usec ?? 0) }));
    const totalUsec = delta.reduce((a, d) => a + d.usec, 0);
    const cpuPerMaster = cpuAfter.map((after, i) => after - cpuBefore[i]!);
    return {
      masters,
      http_shards: shards,
      jobs_per_shard: await perShardOf(),
      keys_per_master: perMaster,
      min_key_share: Math.min(...perMaster.map((n) => n / total)),
      deliveries: tokens.length,
      jobs_per_s: tokens.length / seconds,
      redis_cpu_ms_per_delivery: cpuPerMaster.reduce((a, b) => a + b, 0) / tokens.length,
      cpu_ms_per_master: cpuPerMaster,
      commands_per_delivery: delta.reduce((a, d) => a + d.calls, 0) / tokens.length,
      top_commands: delta
        .sort((a, b) => b.usec - a.usec)
        .slice(0, 6)
        .map((d) => ({ command: d.command, calls_per_delivery: d.calls / tokens.length, usec_share: d.usec / totalUsec })),
    };
  } finally {
    await fleet.close();
    connection.disconnect();
    await Promise.all(receivers.map((r) => r.close()));
    await cluster.dispose();
  }
}

const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-bench-cluster-'));
try {
  writeFileSync(join(sourceRoot, 'clip.bin'), Buffer.alloc(4 * 1024, 7));
  const rows: Row[] = [];
  for (const [masters, shards] of [[1, 1], [3, 1], [3, 3]] as const) rows.push(await run(masters, shards, sourceRoot));
  const pct = (n: number) => `${(n * 100).toFixed(1)} %`;
  const one = rows.find((r) => r.masters === 1)!;
  const unsharded = rows.find((r) => r.masters === 3 && r.http_shards === 1)!;
  const sharded = rows.find((r) => r.masters === 3 && r.http_shards === 3)!;
  const busiestShare = (r: Row) => Math.max(...r.cpu_ms_per_master) / r.cpu_ms_per_master.reduce((x, y) => x + y, 0);
  const lines = [
    '## Redis Cluster, 1 vs 3 masters (`bench/cluster.ts`)',
    '',
    `A local cluster (redis-server in cluster mode) on the same 2 cores as the API, the workers and the load; keys from ${MIXED} mixed deliveries of ${DESTINATION_TYPES.length} types, throughput from http deliveries to local sinks, Redis CPU from each node's INFO cpu (${QUICK ? 'quick' : 'full'} mode). Written ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} after.`,
    '',
    '| masters | http shards (jobs each) | keys per master | smallest share | deliveries | jobs/s | Redis CPU ms per delivery | CPU ms per master |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.masters} | ${r.http_shards} (${r.jobs_per_shard.join(' / ')}) | ${r.keys_per_master.join(' / ')} | ${pct(r.min_key_share)} | ${r.deliveries} | ${r.jobs_per_s.toFixed(0)} | ${r.redis_cpu_ms_per_delivery.toFixed(3)} | ${r.cpu_ms_per_master.map((c) => c.toFixed(0)).join(' / ')} |`,
    ),
    '',
    '| masters | http shards | Redis commands per delivery | most Redis time (calls per delivery, share of time) |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.masters} | ${r.http_shards} | ${r.commands_per_delivery.toFixed(1)} | ${r.top_commands.map((c) => `${c.command} ${c.calls_per_delivery.toFixed(1)} (${pct(c.usec_share)})`).join(', ')} |`),
    '',
    '| what | figure | target | met |',
    '|---|---|---|---|',
    `| Cluster: smallest share of keys on a master (3 masters, mixed load) | ${pct(sharded.min_key_share)} | ≥ 15 % | ${sharded.min_key_share >= 0.15 ? 'yes' : '**no**'} |`,
    `| Cluster: jobs/s, 3 masters (http pool in 3 shards) / 1 master | ${(sharded.jobs_per_s / one.jobs_per_s).toFixed(2)} | grows with masters | ${sharded.jobs_per_s > one.jobs_per_s ? 'yes' : '**no**'} (2 shared cores: see the Redis CPU) |`,
    `| Cluster: busiest master's share of Redis CPU, 3 masters, unsharded vs 3 shards | ${pct(busiestShare(unsharded))} vs ${pct(busiestShare(sharded))} | the load spreads | ${busiestShare(sharded) < busiestShare(unsharded) ? 'yes' : '**no**'} |`,
    `| Cluster: Redis CPU ms per delivery, 3 masters (3 shards) / 1 master | ${(sharded.redis_cpu_ms_per_delivery / one.redis_cpu_ms_per_delivery).toFixed(2)} | reported | - |`,
    '',
  ];
  console.log(`\n${lines.join('\n')}`);
  const summary = { bench: 'cluster', quick: QUICK, rows };
  console.log(`\n${JSON.stringify(summary)}`);
  writeBenchSection('cluster', lines, summary);
} finally {
  rmSync(sourceRoot, { recursive: true, force: true });
}
