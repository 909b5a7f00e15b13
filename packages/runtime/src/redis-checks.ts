import type { Redis } from 'ioredis';

/**
 * BullMQ loses jobs silently when Redis evicts keys under memory pressure, so the worker
 * refuses to start unless Redis is configured with `maxmemory-policy noeviction`.
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
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
    throw new Error(
      `Redis is configured with maxmemory-policy "${policy ?? 'unknown'}", which can evict queued jobs. ` +
        'Set it to "noeviction" (redis.conf: maxmemory-policy noeviction, or CONFIG SET maxmemory-policy noeviction) and start again.',
    );
  }
}
