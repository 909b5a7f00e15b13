import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type Command } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { startHttpReceiver, startTestRedis, uniquePrefix, until, type HttpReceiver } from '@upload-fleet/testkit';
import { startWorkerFleet, type WorkerFleet } from '../src/index.js';
import { testConfig } from './fleet-harness.js';

/**
 * What one tiny delivery costs the worker in Redis, on a redis-server of this test alone: its
 * round trips, and every command Redis runs for it, its Lua scripts' inner commands included
 * (INFO commandstats, as total_commands_processed counts them, which is what `pnpm bench`
 * reports). The producer's submit is left out (apps/api/src/submit-round-trips.test.ts pins it).
 * Counts are deterministic where times are not: the limits below are the figures measured
 * when the per-job path was trimmed (docs/architecture.md, "The per-job path in Redis"), so a
 * change that adds a round trip to every upload fails here and says which commands it added.
 */
describe('the Redis commands of one tiny delivery', () => {
  let redis: Awaited<ReturnType<typeof startTestRedis>>;
  let receiver: HttpReceiver;
  let fleet: WorkerFleet;
  let producer: Producer;
  /** The submitting side's connection: its commands (and its scripts') are not the worker's. */
  let producerConnection: Redis;
  let sourceRoot: string;

  beforeAll(async () => {
    redis = await startTestRedis();
    receiver = await startHttpReceiver();
    sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-tiny-'));
    writeFileSync(join(sourceRoot, 'tiny.mp4'), Buffer.alloc(1024, 7));
    // The stalled-job check runs once at start and then every stalledInterval: far apart here,
    // so that it does not fall into the counted window.
    const config = { ...testConfig(uniquePrefix('tiny'), sourceRoot, { pools: [{ type: 'http', concurrency: 1 }], stalledIntervalMs: 10 * 60_000, lockDurationMs: 60_000 }), redisUrl: redis.url };
    fleet = await startWorkerFleet(config, createLogger({ level: 'silent' }));
    producerConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
    trips = roundTripsOfAllBut(producerConnection);
    producer = new Producer({ connection: producerConnection, prefix: config.prefix, secretBox: config.secretBox, maxAttempts: 3 });
  });
  afterAll(async () => {
    trips?.stop();
    await fleet?.close();
    await producer?.close();
    await receiver?.close();
    await redis?.dispose();
    if (sourceRoot) rmSync(sourceRoot, { recursive: true, force: true });
  });

  /**
   * Submits `count` deliveries while the pool is paused, then lets it run them one after
   * the other (concurrency 1, so each job after the first is fetched by the finish of the one
   * before, as under load) and answers the commands Redis ran meanwhile, by name. Completion
   * is polled with ZCOUNT, a command the worker never sends, so the polls are not counted.
   */
  async function commandsOf(count: number): Promise<{ spent: Map<string, number>; trips: string[][] }> {
    const worker = fleet.pools[0]!.workers[0]!;
    await worker.pause();
    const queue = producer.queue('http');
    const completedKey = `${queue.opts.prefix}:${queue.name}:completed`;
    const doneBefore = await producerConnection.zcount(completedKey, '-inf', '+inf');
    for (let i = 0; i < count; i += 1) {
      await producer.enqueue({ source: { path: 'tiny.mp4' }, upload: { destination: { type: 'http', url: `${receiver.url}/t/${sent++}`, filename: 'tiny.mp4', method: 'PUT' } } });
    }
    const before = await commandStats(producerConnection);
    trips.reset();
    worker.resume();
    await until('the deliveries to complete', async () => ((await producerConnection.zcount(completedKey, '-inf', '+inf')) >= doneBefore + count ? true : undefined), 20_000);
    // Let the last job's finish reach Redis and the worker go back to waiting.
    await sleep(300);
    const after = await commandStats(producerConnection);
    const spent = new Map<string, number>();
    for (const [name, calls] of after) {
      const delta = calls - (before.get(name) ?? 0);
      if (delta > 0 && name !== 'zcount' && name !== 'info') spent.set(name, delta);
    }
    return { spent, trips: trips.trips };
  }
  let sent = 0;
  /** The round trips of the worker's connections (the producer's are not counted). */
  let trips: RoundTripLog;

  it('costs three round trips of the worker and no more commands than measured', async () => {
    await commandsOf(2); // warm: scripts loaded, connections open
    const deliveries = 10;
    const { spent, trips: roundTrips } = await commandsOf(deliveries);
    const total = [...spent.values()].reduce((a, b) => a + b, 0);
    const breakdown = [...spent.entries()].sort((a, b) => b[1] - a[1]).map(([name, calls]) => `${name} ${calls}`).join(', ');

    // Per upload, on the worker's connection: the pauses of the type and the account (sent
    // together), the final record written (with the callback_url read back), and BullMQ's
    // finish that fetches the next job. No read of the final record (the at-least-once check:
    // a job's first run cannot find its own outcome there), no progress write (a tiny file
    // ends within its first second), no deferral or checkpoint to clear on a first run, no
    // lease without a concurrency cap. Before this was trimmed: 11 (hget | pttl | pttl | hdel |
    // progress | progress | del | eval | hgetall | zrem | BullMQ's finish). The final record's
    // script goes by its SHA (defineCommand), as BullMQ's do.
    const perJob = ['pttl,pttl', 'evalsha', 'evalsha'];
    const names = roundTrips.map((t) => t.join(','));
    const first = names.indexOf('pttl,pttl');
    expect(names.slice(first, first + perJob.length * deliveries), names.join(' | ')).toEqual(Array.from({ length: deliveries }, () => perJob).flat());
    // Before them, the fetch of the first job; after them, nothing but BullMQ's wait for the next.
    expect(names.length - perJob.length * deliveries, names.join(' | ')).toBeLessThanOrEqual(3);

    // Every command Redis ran for the worker, its scripts' inner commands included (what
    // `pnpm bench` counts). Measured: 41.3 per delivery (42.3 with the final record read on
    // every run, 57.3 before the trim); about 33 are BullMQ's own (fetch, lock, events,
    // metrics, retention), 8 the fleet's.
    expect(total / deliveries, breakdown).toBeLessThanOrEqual(41.5);
  });
});

interface RoundTripLog {
  trips: string[][];
  reset(): void;
  /** Puts ioredis' own sendCommand back. */
  stop(): void;
}

/**
 * The round trips of every ioredis connection of this process but one (the worker connects
 * inside startWorkerFleet, out of this test's reach): per connection, a round trip starts
 * when a command is sent while none is outstanding, as testkit's countRoundTrips counts them.
 * BullMQ's blocking wait for the next job (BZPOPMIN, on a connection of its own) is left out:
 * how often it returns depends on timing.
 */
function roundTripsOfAllBut(excluded: Redis): RoundTripLog {
  const prototype = Redis.prototype as unknown as { sendCommand(this: Redis, command: Command, ...rest: unknown[]): unknown };
  const send = prototype.sendCommand;
  const log: RoundTripLog = { trips: [], reset: () => (log.trips = []), stop: () => (prototype.sendCommand = send) };
  /** Per connection: the round trip its outstanding commands travel in, and how many are outstanding. */
  const inFlight = new WeakMap<Redis, { trip: string[]; outstanding: number }>();
  prototype.sendCommand = function (this: Redis, command: Command, ...rest: unknown[]) {
    if (this !== excluded && command.name !== 'bzpopmin' && this.status === 'ready') {
      let current = inFlight.get(this);
      if (!current) {
        current = { trip: [], outstanding: 0 };
        inFlight.set(this, current);
        log.trips.push(current.trip);
      }
      current.trip.push(command.name);
      current.outstanding += 1;
      const answered = () => {
        current.outstanding -= 1;
        if (current.outstanding === 0) inFlight.delete(this);
      };
      command.promise.then(answered, answered);
    }
    return send.call(this, command, ...rest);
  };
  return log;
}

/** Calls per command name so far (INFO commandstats: scripts' inner commands included). */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const stats = new Map<string, number>();
  for (const [, name, calls] of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats.set(name!, Number(calls));
  return stats;
}
