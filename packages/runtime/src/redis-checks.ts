import type { Redis } from 'ioredis';
import { masterNodes, type RedisConnection } from '@upload-fleet/redis';

/**
 * BullMQ loses jobs silently when Redis evicts keys under memory pressure, so the worker
 * refuses to start unless Redis is configured with `maxmemory-policy noeviction`. On a
 * cluster every master is checked: CONFIG GET on a Cluster object reaches one node only.
 */
export async function assertNoEviction(redis: RedisConnection): Promise<void> {
  for (const node of await masterNodes(redis)) await assertNodeNoEviction(node);
}

async function assertNodeNoEviction(redis: Redis): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch {
    // Managed Redis services often disable CONFIG; fall back to INFO.
    const info = await redis.info('memory');
    policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  }
  if (policy !== 'noeviction') {
    const where = redis.options.host ? ` (${redis.options.host}:${redis.options.port})` : '';
    throw new Error(
      `Redis${where} is configured with maxmemory-policy "${policy ?? 'unknown'}", which can evict queued jobs. ` +
        'Set it to "noeviction" (redis.conf: maxmemory-policy noeviction, or CONFIG SET maxmemory-policy noeviction) and start again.',
    );
  }
}
