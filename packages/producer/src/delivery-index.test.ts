import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import { DeliveryIndex, INDEX_UPKEEP_INTERVAL_MS } from './delivery-index.js';

/**
 * The index is bounded like the records it lists: entries older than the record TTL are
 * dropped and the sets expire, but a set is trimmed and its expiry renewed at most once per
 * upkeep interval and process, not on every submit.
 */
describe('DeliveryIndex upkeep', () => {
  const url = testRedisUrl();
  const TTL_SECONDS = 3600;
  let redis: Redis;
  const prefixes: string[] = [];
  const indexWith = (upkeepIntervalMs?: number) => {
    const prefix = uniquePrefix('delivery-index');
    prefixes.push(prefix);
    return new DeliveryIndex(redis, prefix, TTL_SECONDS, upkeepIntervalMs);
  };
  /** An entry that points to a record gone by now: created more than a TTL ago. */
  const expiredEntryAt = (now: number) => now - TTL_SECONDS * 1000 - 1;

  beforeAll(() => {
    redis = new Redis(url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deletePrefix(url, prefix);
    redis?.disconnect();
  });

  it("trims both sets on the process's first write, and sets their expiry a TTL and an interval away", async () => {
    const index = indexWith();
    const now = Date.now();
    await redis.zadd(index.allKey(), expiredEntryAt(now), 'dlv_gone');
    await redis.zadd(index.ownerKey('alice'), expiredEntryAt(now), 'dlv_gone');
    await index.add('dlv_new', 'alice', now);
    expect(await redis.zrange(index.allKey(), 0, -1)).toEqual(['dlv_new']);
    expect(await redis.zrange(index.ownerKey('alice'), 0, -1)).toEqual(['dlv_new']);
    for (const key of [index.allKey(), index.ownerKey('alice')]) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(TTL_SECONDS);
      expect(ttl).toBeLessThanOrEqual(TTL_SECONDS + INDEX_UPKEEP_INTERVAL_MS / 1000);
    }
  });

  it('does not trim a set again within the interval, but a set it has not kept yet (a new owner) at once', async () => {
    const index = indexWith();
    const now = Date.now();
    await index.add('dlv_first', 'alice', now);
    await redis.zadd(index.allKey(), expiredEntryAt(now), 'dlv_gone');
    await redis.zadd(index.ownerKey('alice'), expiredEntryAt(now), 'dlv_gone');
    await redis.zadd(index.ownerKey('bob'), expiredEntryAt(now), 'dlv_gone');
    await index.add('dlv_second', 'alice', now + 1);
    await index.add('dlv_third', 'bob', now + 2);
    expect(await redis.zrange(index.allKey(), 0, -1)).toEqual(['dlv_gone', 'dlv_first', 'dlv_second', 'dlv_third']);
    expect(await redis.zrange(index.ownerKey('alice'), 0, -1)).toEqual(['dlv_gone', 'dlv_first', 'dlv_second']);
    expect(await redis.zrange(index.ownerKey('bob'), 0, -1)).toEqual(['dlv_third']);
  });

  it('trims again once the interval has passed', async () => {
    const index = indexWith(0);
    const now = Date.now();
    await index.add('dlv_first', 'alice', now);
    await redis.zadd(index.allKey(), expiredEntryAt(now), 'dlv_gone');
    await redis.expire(index.allKey(), 10);
    await index.add('dlv_second', 'alice', now + 1);
    expect(await redis.zrange(index.allKey(), 0, -1)).toEqual(['dlv_first', 'dlv_second']);
    expect(await redis.ttl(index.allKey())).toBeGreaterThan(TTL_SECONDS - 1);
  });
});
