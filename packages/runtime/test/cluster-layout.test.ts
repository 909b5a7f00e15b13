import { randomBytes, randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, keyLayout } from '@upload-fleet/core';
import { DEFINITIONS, DESTINATION_TYPES } from '@upload-fleet/destinations/definitions';
import { Producer } from '@upload-fleet/producer';
import { masterNodes } from '@upload-fleet/redis';
import { countRoundTrips, deletePrefix, startClusterForTests, type RoundTripLog } from '@upload-fleet/testkit';

/**
 * The spread key layout on a three-master Redis Cluster (@upload-fleet/core KeyLayout):
 * under a mixed load of every registered destination type, every master holds a share of
 * the keys; and what one submit costs there in round trips.
 */
const { cluster, unavailable } = await startClusterForTests('packages/runtime/test/cluster-layout.test.ts');

/** A delivery of one upload to a type's documented example, its account varied where the example names one. */
function deliveryTo(type: (typeof DESTINATION_TYPES)[number], n: number) {
  const example = DEFINITIONS.find((d) => d.type === type)!.example;
  return { source: { path: `render-${n}.mp4` }, upload: { extension: 'mp4', destination: { ...example } } };
}

describe.skipIf(!cluster)(`the spread key layout on a three-master Redis Cluster${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const prefix = `uft-layout-${randomUUID().slice(0, 8)}`;
  let connection: Cluster;
  let producer: Producer;
  let log: RoundTripLog;

  beforeAll(async () => {
    connection = cluster!.connect();
    log = countRoundTrips(connection);
    producer = new Producer({ connection, prefix, secretBox: new SecretBox([{ id: 'k', key: randomBytes(32) }]) });
  });
  afterAll(async () => {
    await producer?.close();
    if (cluster) await deletePrefix(cluster.config, prefix);
    connection?.disconnect();
    await cluster?.dispose();
  });

  it('spreads the keys of a mixed load of every destination type over all three masters (each holds at least 15 %)', async () => {
    expect(DESTINATION_TYPES.length).toBeGreaterThan(3);
    // Every registered type, round robin, a third of the deliveries with an idempotency key.
    const deliveries = Array.from({ length: 12 * DESTINATION_TYPES.length }, (_, n) => ({
      ...deliveryTo(DESTINATION_TYPES[n % DESTINATION_TYPES.length]!, n),
      ...(n % 3 === 0 ? { idempotency_key: `render-${n}` } : {}),
    }));
    for (let i = 0; i < deliveries.length; i += 20) await Promise.all(deliveries.slice(i, i + 20).map((d) => producer.enqueue(d)));

    const layout = keyLayout(prefix, { cluster: true });
    const perMaster = await Promise.all(
      (await masterNodes(connection)).map(async (node) => {
        let count = 0;
        for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
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
    const total = perMaster.reduce((a, b) => a + b, 0);
    const shares = perMaster.map((n) => n / total);
    console.info(`keys per master under ${deliveries.length} deliveries of ${DESTINATION_TYPES.length} types: ${perMaster.join(', ')} (${shares.map((s) => `${(s * 100).toFixed(1)} %`).join(', ')})`);
    // Each delivery wrote a record, a job (its hash in its queue's slot) and some an idempotency key.
    expect(total).toBeGreaterThan(deliveries.length * 2);
    for (const share of shares) expect(share).toBeGreaterThanOrEqual(0.15);
    // And each type's queue sits where its own tag says: the queues are on more than one master.
    const slotOwners = await Promise.all(DESTINATION_TYPES.map(async (type) => Number(await connection.call('CLUSTER', 'KEYSLOT', layout.queueKeyBase(type)))));
    expect(new Set(slotOwners).size).toBeGreaterThan(1);
  });

  it('submits a new delivery in 3 round trips on a cluster (record, jobs, mark with the index), 4 with an idempotency_key', async () => {
    const body = (n: number) => ({ source: { path: 'a.mp4' }, uploads: [deliveryTo('http', n).upload, deliveryTo('ftp', n).upload] });
    await producer.enqueue(body(0));
    log.reset();
    await producer.enqueue(body(1));
    // Keys of different slots can be neither in one MULTI nor in one script: the record
    // (its token's slot) must exist before a worker can finish a job (it writes the outcome
    // there), and the enqueued mark must follow the last job; the index is sent with the mark.
    expect(log.trips).toEqual([
      ['multi', 'hset', 'expire', 'exec'],
      ['evalsha', 'evalsha'],
      // The index sets were trimmed by the first submit; the next upkeep is a minute away.
      ['hset', 'zadd', 'zadd'],
    ]);
    log.reset();
    await producer.enqueue({ ...body(2), idempotency_key: `render-rt-${randomUUID()}` });
    expect(log.trips.map((t) => t[0])).toEqual(['eval', 'multi', 'evalsha', 'hset']);
  });
});
