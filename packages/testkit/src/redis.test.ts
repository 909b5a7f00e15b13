import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { deletePrefix, dumpPrefix, testRedisUrl, uniquePrefix } from './redis.js';

describe('test redis', () => {
  it('is a reachable server with maxmemory-policy noeviction, and prefix clean-up touches only that prefix', async () => {
    const url = testRedisUrl();
    const redis = new Redis(url);
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    const mine = uniquePrefix('mine');
    const other = uniquePrefix('other');
    await redis.set(`${mine}:a`, '1');
    await redis.set(`${other}:b`, '2');
    expect([...(await dumpPrefix(url, mine)).keys()]).toEqual([`${mine}:a`]);
    await deletePrefix(url, mine);
    expect(await redis.exists(`${mine}:a`)).toBe(0);
    expect(await redis.get(`${other}:b`)).toBe('2');
    await redis.del(`${other}:b`);
    redis.disconnect();
  });
});
