/**
 * Rate-limit benchmark.
 *  1. The cost of one limit decision: microseconds and Redis round trips per job.
 *  2. 10,000 jobs over 100 keys through an in-process worker fleet to a local HTTP
 *     receiver, with limits off and with limits on (generous windows and a concurrency
 *     cap, so the numbers show the limiter's overhead, not deferrals).
 *
 *   pnpm bench:limits            (BENCH_JOBS=2000 for a quicker run)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createLogger, SecretBox } from '@upload-fleet/core';
import { defaultDestinationsConfig } from '@upload-fleet/destinations';
import { startEmbeddedRedis } from '@upload-fleet/redis';
import { FleetLimiter, parseLimitRules, startWorkerFleet, type LimitRules } from '@upload-fleet/runtime';
import { startHttpReceiver } from '@upload-fleet/testkit';

const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const KEYS = 100;
const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-bench-limits-'));
const redisServer = await startEmbeddedRedis({ dataDir: join(dir, 'redis'), persist: false });
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });

try {
  // 1. Decision cost.
  // Round trips are the client's top-level calls (EVAL for a decision, ZREM for a
  // release); "commands" also counts what the script runs inside Redis.
  const stats = async () => {
    const info = await redis.info('commandstats');
    const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
    const total = Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? 0);
    return { roundTrips: calls('eval') + calls('zrem'), total };
  };
  const limiter = new FleetLimiter({ connection: redis, prefix: 'bench', leaseTtlMs: 60_000, rules: parseLimitRules(JSON.stringify({ youtube: { windows: ['50/1h', '400/24h'] }, dropbox: { concurrency: 1000, windows: ['100000/1h'] } }), {}) });
  for (const [label, type] of [['two windows (YouTube)', 'youtube'], ['window + lease (Dropbox)', 'dropbox']] as const) {
    const n = 5000;
    const started = process.hrtime.bigint();
    const before = await stats();
    for (let i = 0; i < n; i++) {
      const decision = await limiter.acquire(type, `key-${i % KEYS}`, `m-${i}`);
      if (decision.allowed && type === 'dropbox') await decision.permit.release();
    }
    const micros = Number(process.hrtime.bigint() - started) / 1000 / n;
    const after = await stats();
    // INFO itself counts as commands: 2 calls between the two readings.
    console.log(
      `decision, ${label}: ${micros.toFixed(0)} µs per job (sequential, one connection), ` +
        `${((after.roundTrips - before.roundTrips) / n).toFixed(2)} round trips per job${type === 'dropbox' ? ' (acquire + release)' : ''}, ` +
        `${((after.total - before.total - 2) / n).toFixed(1)} Redis commands inside`,
    );
  }

  // 2. Throughput with limits off and on.
  writeFileSync(join(dir, 'clip.mp4'), Buffer.alloc(1024, 7));
  // One receiver per key: the limit key of an HTTP destination is its host:port.
  const receivers = await Promise.all(Array.from({ length: KEYS }, () => startHttpReceiver()));
  const rows: string[] = ['| limits | jobs | keys | seconds | jobs/s |', '|---|---|---|---|---|'];
  for (const [label, rules] of [
    ['off', {}],
    ['on: 1000/1m per key, 8 at once per key', parseLimitRules(JSON.stringify({ http: { windows: ['1000/1m'], concurrency: 8 } }), {})],
  ] as [string, LimitRules][]) {
    const prefix = `bench-${label.slice(0, 3).trim()}`;
    const fleet = await startWorkerFleet(
      {
        redisUrl: redisServer.url,
        prefix,
        secretBox: new SecretBox([{ id: 'b', key: Buffer.alloc(32, 1) }]),
        webhookSecret: 'bench-webhook-secret-0123',
        pools: [{ type: 'http', concurrency: 32 }],
        sourceRoot: dir,
        allowedPrivateHosts: ['127.0.0.1'],
        maxAttempts: 3,
        uploadTimeoutMs: 60_000,
        shutdownGraceMs: 5_000,
        lockDurationMs: 30_000,
        stalledIntervalMs: 30_000,
        maxStalledCount: 3,
        backoff: { baseDelayMs: 1000, maxDelayMs: 10_000 },
        defaultRateLimitDelayMs: 1000,
        webhookTimeoutMs: 5_000,
        webhookMaxAttempts: 1,
        webhookBackoffMs: 1000,
        checkpointTtlSeconds: 3600,
        limitRules: rules,
        leaseTtlMs: 60_000,
        destinations: defaultDestinationsConfig(),
      },
      createLogger({ level: 'silent' }),
    );
    const started = Date.now();
    const tokens: string[] = [];
    for (let batch = 0; batch < JOBS; batch += 100) {
      const enqueued = await Promise.all(
        Array.from({ length: Math.min(100, JOBS - batch) }, (_, j) => {
          const i = batch + j;
          return fleet.producer.enqueue({ source: { path: 'clip.mp4' }, upload: { destination: { type: 'http', url: `${receivers[i % KEYS]!.url}/${i}`, filename: 'clip.mp4', method: 'PUT' } } });
        }),
      );
      tokens.push(...enqueued.map((e) => e.token));
    }
    for (const token of tokens) await fleet.producer.waitFor(token, { timeoutMs: 600_000, pollIntervalMs: 50 });
    const seconds = (Date.now() - started) / 1000;
    rows.push(`| ${label} | ${JOBS} | ${KEYS} | ${seconds.toFixed(1)} | ${(JOBS / seconds).toFixed(0)} |`);
    console.warn(rows.at(-1));
    await fleet.close();
  }
  for (const r of receivers) await r.close();
  console.log(rows.join('\n'));
} finally {
  redis.disconnect();
  await redisServer.stop();
  rmSync(dir, { recursive: true, force: true });
}
