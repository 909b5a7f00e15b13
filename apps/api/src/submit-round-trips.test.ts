import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretBox, createLogger } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { countRoundTrips, deletePrefix, testRedisUrl, uniquePrefix, type RoundTripLog } from '@upload-fleet/testkit';
import { buildApi } from './server.js';
import { ALICE, asAlice } from './test-harness.js';

/**
 * What one POST /v1/deliveries costs in Redis (issue 16, "the submit path"), counted on
 * the producer's own ioredis connection: every command it sends, grouped into round
 * trips (countRoundTrips, in the testkit). The counts are pinned so that a change of
 * the submit path shows here: lower them when the path gets cheaper.
 *
 * On one server this is the minimum: one transaction per delivery, and with an
 * idempotency_key the claim before it (the transaction runs unconditionally, so what it
 * writes cannot depend on whether the claim succeeded; BullMQ's add script cannot be
 * called from a script of ours either). A cluster's count is checked in
 * packages/runtime/test/cluster-layout.test.ts.
 */
const upload = (type: 'http' | 'ftp', filename: string) => ({
  extension: 'mp4',
  destination:
    type === 'http'
      ? { type, url: 'https://uploads.example.com/in', filename, headers: { Authorization: 'Bearer round-trip-token' } }
      : { type, host: 'ftp.example.com', filename: `/in/${filename}`, user: 'u', password: 'round-trip-password' },
});

/** The delivery's one MULTI (DeliveryWriter): the record marked enqueued, one BullMQ add script per upload, the index. */
const deliveryTransaction = (uploads: number) => [
  'multi',
  // DeliveryStore.createIn: meta, total, generation 0 and the enqueued mark; the TTL.
  'hset',
  'expire',
  // BullMQ's addStandardJob script per upload, queued into the same transaction.
  ...Array.from({ length: uploads }, () => 'evalsha'),
  // DeliveryIndex.addIn: the fleet's and the owner's list (trimmed to the TTL by the
  // warm-up's submit, and then once a minute: see the test of that below).
  ...['zadd', 'zadd'],
  'exec',
];

describe('POST /v1/deliveries: Redis round trips', () => {
  const url = testRedisUrl();
  const prefix = uniquePrefix('api-round-trips');
  let connection: Redis;
  let producer: Producer;
  let app: FastifyInstance;
  let log: RoundTripLog;

  const post = async (body: unknown) => {
    log.reset();
    const response = await app.inject({ method: 'POST', url: '/v1/deliveries', headers: asAlice, payload: body as object });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return log.trips;
  };

  beforeAll(async () => {
    connection = new Redis(url, { maxRetriesPerRequest: null });
    await connection.ping();
    log = countRoundTrips(connection);
    producer = new Producer({ connection, prefix, secretBox: new SecretBox([{ id: 'k', key: randomBytes(32) }]) });
    app = buildApi({ producer, apiKeys: [ALICE], logger: createLogger({ level: 'silent' }) });
    await app.ready();
  });
  beforeEach(async () => {
    // The first job a process adds to a queue also costs BullMQ's version check (INFO) and
    // its queue-meta write; submit once per queue so the counts below are the steady state.
    await post({ source: { path: 'warm-up.mp4' }, uploads: [upload('http', 'w.mp4'), upload('ftp', 'w.mp4')] });
  });
  afterAll(async () => {
    await app?.close();
    await producer?.close();
    await deletePrefix(url, prefix);
    connection?.disconnect();
  });

  it('takes 1 round trip for a new delivery, whatever its number of uploads: one MULTI with the record, every job and the index', async () => {
    const trips = await post({ source: { path: 'a.mp4' }, uploads: [upload('http', 'a.mp4'), upload('ftp', 'a.mp4'), upload('http', 'b.mp4')] });
    expect(trips).toEqual([deliveryTransaction(3)]);
  });

  it('sends the deliveries submitted in one turn of the event loop in one socket write, each in its own MULTI', async () => {
    // Separate pipelines written in one tick were already one round trip; what the group
    // saves is the writes (each a wake-up of Redis) and ioredis's making of each MULTI.
    const socket = (connection as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const write = socket.write;
    let writes = 0;
    socket.write = function (this: unknown, ...args: unknown[]) {
      writes += 1;
      return write.apply(this, args);
    };
    try {
      log.reset();
      const submitted = (name: string) => producer.enqueue({ source: { path: `${name}.mp4` }, uploads: [upload('http', `${name}.mp4`)] }, { owner: 'alice' });
      const results = await Promise.all([submitted('g1'), submitted('g2'), submitted('g3')]);
      expect(new Set(results.map((r) => r.token)).size).toBe(3);
      expect(log.trips).toEqual([[...deliveryTransaction(1), ...deliveryTransaction(1), ...deliveryTransaction(1)]]);
      expect(writes).toBe(1);
    } finally {
      socket.write = write;
    }
  });

  it('takes one round trip more with an idempotency_key: the claim (one script: GET, else SET EX) comes first', async () => {
    const trips = await post({ source: { path: 'b.mp4' }, uploads: [upload('http', 'c.mp4')], idempotency_key: `render-${randomBytes(4).toString('hex')}` });
    expect(trips).toEqual([['eval'], deliveryTransaction(1)]);
  });

  it('answers a replay of an idempotency_key from the record and the jobs, adding nothing', async () => {
    const body = { source: { path: 'c.mp4' }, uploads: [upload('http', 'd.mp4'), upload('ftp', 'd.mp4')], idempotency_key: `render-${randomBytes(4).toString('hex')}` };
    await post(body);
    const trips = await post(body);
    expect(trips.slice(0, 3)).toEqual([
      // The claim fails and answers who holds the key.
      ['eval'],
      // The holder's record, enqueued mark included.
      ['hgetall'],
      // The API reports the uploads as they are now (Producer.get): the record first.
      ['hgetall'],
    ]);
    // Then each upload's job and its state, the uploads in parallel: one or two round trips,
    // depending on whether one upload's state read goes out before the other's job answer is in.
    expect(trips.length).toBeLessThanOrEqual(5);
    expect(trips.slice(3).flat().sort()).toEqual(['evalsha', 'evalsha', 'hgetall', 'hgetall']);
    expect(trips.flat()).not.toContain('multi');
  });
});
