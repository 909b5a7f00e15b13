import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, createLogger } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { redisConnectionFromConfig, type RedisConnection } from '@upload-fleet/redis';
import { startHttpReceiver, startTestRedisSentinel, startWorker, started, until, type HttpReceiver, type TestRedisSentinel, type WorkerProcess } from '@upload-fleet/testkit';
import { redisAvailability, redisReadiness } from './readiness.js';
import { buildApi } from './server.js';
import { ALICE, asAlice } from './test-harness.js';

const ENCRYPTION_KEY = `k1:${Buffer.alloc(32, 9).toString('base64')}`;
const SUBMITTED = 60;

/**
 * Redis Sentinel (issue 13, item 11): a master, a replica and three sentinels of the test's
 * own; the API (in this process, connected as main.ts connects it) and two worker processes
 * find the master through the sentinels. Under a stream of deliveries the master is failed
 * over; API and workers must find the new one by themselves, every accepted delivery is
 * uploaded exactly once, and /readyz says the truth meanwhile.
 */
describe('a Sentinel failover under load', () => {
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-sentinel-sources-'));
  const prefix = 'sentinel-failover';
  const workers: WorkerProcess[] = [];
  let sentinel: TestRedisSentinel;
  let receiver: HttpReceiver;
  let connection: RedisConnection;
  let producer: Producer;
  let app: FastifyInstance;

  beforeAll(async () => {
    sentinel = await startTestRedisSentinel();
    receiver = await startHttpReceiver();
    writeFileSync(join(sourceRoot, 'v.bin'), randomBytes(4096));
    connection = redisConnectionFromConfig(sentinel.config, 'client');
    connection.on('error', () => undefined);
    producer = new Producer({ connection, prefix, secretBox: SecretBox.fromConfig(ENCRYPTION_KEY), onError: () => undefined });
    app = buildApi({ producer, apiKeys: [ALICE], logger: createLogger({ level: 'silent' }), readiness: redisReadiness(connection), redisAvailable: redisAvailability(connection) });
    await app.ready();
    for (let i = 0; i < 2; i++) {
      workers.push(
        startWorker({
          REDIS_SENTINELS: sentinel.sentinels.join(','),
          REDIS_SENTINEL_NAME: sentinel.name,
          REDIS_PREFIX: prefix,
          ENCRYPTION_KEYS: ENCRYPTION_KEY,
          WEBHOOK_SECRET: 'sentinel-failover-webhook-secret',
          WORKER_POOLS: 'http',
          SOURCE_ROOT: sourceRoot,
          ALLOWED_PRIVATE_HOSTS: `127.0.0.1:${new URL(receiver.url).port}`,
          LOCK_DURATION_MS: '5000',
          STALLED_INTERVAL_MS: '2000',
        }),
      );
    }
    await Promise.all(workers.map(started));
    await until('the API connection to be ready', () => connection.status === 'ready' || undefined, 10_000);
  }, 90_000);
  afterAll(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await app?.close();
    await producer?.close().catch(() => undefined);
    connection?.disconnect();
    await receiver?.close();
    await sentinel?.dispose();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  /** A client as the README tells it to be: on 503 it waits Retry-After and sends the same idempotency_key again. */
  const submit = async (n: string): Promise<{ token: string; refusals: number }> => {
    let refusals = 0;
    for (;;) {
      const answer = await app.inject({
        method: 'POST',
        url: '/v1/deliveries',
        headers: asAlice,
        payload: { source: { path: 'v.bin' }, idempotency_key: `load-${n}`, upload: { destination: { type: 'http', url: `${receiver.url}/in/${n}`, filename: 'v.bin', method: 'PUT' } } },
      });
      if (answer.statusCode === 202 || answer.statusCode === 200) return { token: answer.json<{ token: string }>().token, refusals };
      expect(answer.statusCode, answer.body).toBe(503);
      refusals += 1;
      await sleep(100);
    }
  };

  /**
   * Submits SUBMITTED deliveries, 50 ms apart, and fails the master over a third of the way
   * in; answers when every accepted delivery has ended, with what /readyz said meanwhile.
   */
  const underLoad = async (phase: string, mode: 'command' | 'kill') => {
    const oldMaster = await sentinel.masterPort();
    const readiness: { at: number; ready: boolean }[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const answer = await app.inject({ method: 'GET', url: '/readyz' });
        readiness.push({ at: Date.now(), ready: answer.statusCode === 200 });
        await sleep(10);
      }
    })();
    const submissions: Promise<{ token: string; refusals: number }>[] = [];
    let failedOverAt = 0;
    let switchedAt = 0;
    for (let n = 0; n < SUBMITTED; n++) {
      submissions.push(submit(`${phase}-${n}`));
      if (n === SUBMITTED / 3) {
        failedOverAt = Date.now();
        void sentinel.failover(mode).then(() => (switchedAt = Date.now()));
      }
      await sleep(50);
    }
    const accepted = await Promise.all(submissions);
    await until('the sentinels to name the new master', () => switchedAt || undefined, 30_000);
    expect(await sentinel.masterPort()).not.toBe(oldMaster);
    const finals = [];
    for (const { token } of accepted) finals.push(await producer.waitFor(token, { timeoutMs: 60_000, pollIntervalMs: 200 }));
    watching = false;
    await watch;

    const perPath = new Map<string, number>();
    for (const request of receiver.requests.filter((r) => r.path.startsWith(`/in/${phase}-`))) perPath.set(request.path, (perPath.get(request.path) ?? 0) + 1);
    const during = readiness.filter((r) => r.at >= failedOverAt && r.at <= switchedAt + 1_000);
    const notReady = during.filter((r) => !r.ready);
    const report = {
      lost: finals.filter((f) => f.state !== 'completed').length + (SUBMITTED - perPath.size),
      doubled: [...perPath.values()].filter((count) => count > 1).length,
      refusals: accepted.reduce((sum, a) => sum + a.refusals, 0),
      notReadyMs: notReady.length ? notReady.at(-1)!.at - notReady[0]!.at : 0,
      switchMs: switchedAt - failedOverAt,
      readyAtEnd: readiness.at(-1)?.ready,
      states: finals.map((f) => f.state),
    };
    console.info(`[sentinel failover] ${mode}: ${SUBMITTED} deliveries, ${report.lost} lost, ${report.doubled} doubled; ${report.refusals} POSTs answered 503 and were sent again; /readyz false for ${report.notReadyMs} ms; the sentinels switched in ${report.switchMs} ms`);
    return report;
  };

  it('SENTINEL FAILOVER (maintenance): API and workers follow by themselves, nothing lost, nothing twice', { timeout: 120_000 }, async () => {
    const report = await underLoad('command', 'command');
    expect(report.states.every((state) => state === 'completed'), JSON.stringify(report.states)).toBe(true);
    expect(report).toMatchObject({ lost: 0, doubled: 0, readyAtEnd: true });
  });

  it('the master SIGKILLed: /readyz is false until the sentinels promote the replica, then all goes on; nothing lost, nothing twice', { timeout: 120_000 }, async () => {
    const report = await underLoad('kill', 'kill');
    expect(report.states.every((state) => state === 'completed'), JSON.stringify(report.states)).toBe(true);
    expect(report).toMatchObject({ lost: 0, doubled: 0, readyAtEnd: true });
    // The master was unreachable for the sentinels' down-after time (1 s) and the election.
    expect(report.notReadyMs).toBeGreaterThan(0);
    expect(report.refusals).toBeGreaterThan(0);
  });
});
