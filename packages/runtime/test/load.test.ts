import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { startHttpReceiver, startTestRedis, until, uniquePrefix, type HttpReceiver } from '@upload-fleet/testkit';
import { startWorkerFleet, type WorkerFleet } from '../src/index.js';
import { testConfig } from './fleet-harness.js';

const DELIVERIES = 5_000;
/** Completed jobs kept per queue: far fewer than the deliveries, so retention has to work. */
const KEPT_COMPLETED = 200;
/**
 * What the load may leave in Redis beside the delivery records (kept 30 days): BullMQ's
 * event stream (capped at 10,000 entries) and the retained jobs. Without retention the
 * 5,000 completed jobs (data, return value, logs) alone would take more.
 */
const FIXED_OVERHEAD_BYTES = 4 * 2 ** 20;

/**
 * 5,000 deliveries of a tiny file through the worker fleet, on a redis-server of the test's
 * own (so INFO memory sees only them): each arrives once, and Redis grows only by the
 * delivery records, because finished jobs are removed beyond the retention count.
 */
describe(`a load of ${DELIVERIES} deliveries`, () => {
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-load-'));
  const prefix = uniquePrefix('load');
  let redisServer: Awaited<ReturnType<typeof startTestRedis>>;
  let redis: Redis;
  let receiver: HttpReceiver;
  let fleet: WorkerFleet;
  let producer: Producer;

  beforeAll(async () => {
    redisServer = await startTestRedis();
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    receiver = await startHttpReceiver();
    writeFileSync(join(sourceRoot, 'tiny.bin'), 'x'.repeat(64));
    const config = testConfig(prefix, sourceRoot, { redisUrl: redisServer.url, pools: [{ type: 'http', concurrency: 32 }] });
    fleet = await startWorkerFleet(config, createLogger({ level: 'silent' }));
    producer = new Producer({
      connection: redis,
      prefix,
      secretBox: config.secretBox,
      retention: { completedAgeSeconds: 3600, completedCount: KEPT_COMPLETED, failedAgeSeconds: 3600, failedCount: KEPT_COMPLETED },
    });
  });
  afterAll(async () => {
    await fleet?.close();
    await producer?.close();
    redis?.disconnect();
    await receiver?.close();
    await redisServer?.dispose();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

  it('delivers each exactly once, and Redis memory stays bounded by the delivery records', { timeout: 600_000 }, async () => {
    const started = performance.now();
    const memoryBefore = await usedMemory();
    const tokens: string[] = [];
    for (let batch = 0; batch < DELIVERIES; batch += 100) {
      const accepted = await Promise.all(
        Array.from({ length: Math.min(100, DELIVERIES - batch) }, (_, i) =>
          producer.enqueue({ source: { path: 'tiny.bin' }, upload: { destination: { type: 'http', url: `${receiver.url}/in/${batch + i}`, filename: 'tiny.bin', method: 'PUT' } } }),
        ),
      );
      tokens.push(...accepted.map((a) => a.token));
    }
    const queue = producer.queue('http');
    await until('every job to finish', async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0) || undefined;
    }, 540_000);
    const seconds = (performance.now() - started) / 1000;

    const perPath = new Map<string, number>();
    for (const request of receiver.requests) perPath.set(request.path, (perPath.get(request.path) ?? 0) + 1);
    const doubled = [...perPath.values()].filter((n) => n > 1).length;
    const states = new Map<string, number>();
    for (const token of tokens) {
      const state = (await producer.get(token)).state;
      states.set(state, (states.get(state) ?? 0) + 1);
    }
    const memoryAfter = await usedMemory();
    const perDelivery = (memoryAfter - memoryBefore) / DELIVERIES;
    const recordBytes = Number(await redis.call('MEMORY', 'USAGE', `${prefix}:delivery:${tokens[0]}`));
    // The delivery console's index (two sorted-set entries per delivery, kept as long as the
    // records): part of what one delivery costs, bounded by the same retention.
    const indexBytes =
      Number(await redis.call('MEMORY', 'USAGE', producer.index.allKey())) + Number(await redis.call('MEMORY', 'USAGE', producer.index.ownerKey('default')));
    // BullMQ's event streams are capped (maxLenEvents), whatever the number of jobs: counted as they are.
    const eventStreamBytes = Number((await redis.call('MEMORY', 'USAGE', `${prefix}:upload-http:events`)) ?? 0) + Number((await redis.call('MEMORY', 'USAGE', `${prefix}:webhook:events`)) ?? 0);
    console.info(
      `[load] ${DELIVERIES} deliveries in ${seconds.toFixed(1)} s: ${JSON.stringify(Object.fromEntries(states))}, ${perPath.size} arrived, ${doubled} doubled; ` +
        `Redis used_memory ${(memoryBefore / 2 ** 20).toFixed(1)} -> ${(memoryAfter / 2 ** 20).toFixed(1)} MiB (${perDelivery.toFixed(0)} bytes per delivery; one delivery record: ${recordBytes} bytes; index ${indexBytes} and event streams ${eventStreamBytes} bytes in all)`,
    );

    expect(Object.fromEntries(states)).toEqual({ completed: DELIVERIES });
    expect(perPath.size).toBe(DELIVERIES);
    expect(doubled).toBe(0);
    expect(await queue.getCompletedCount()).toBeLessThanOrEqual(KEPT_COMPLETED);
    expect(memoryAfter - memoryBefore).toBeLessThan(DELIVERIES * recordBytes + indexBytes + eventStreamBytes + FIXED_OVERHEAD_BYTES);
  });
});
