import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedRedis, type EmbeddedRedis } from '@upload-fleet/redis-server';

/**
 * The Redis the tests use: REDIS_URL when set (a server someone else runs; we only ever
 * touch keys under our own prefixes), otherwise a fresh `redis-server` on a free port.
 * vitest's globalSetup starts one per run and passes its URL in TEST_REDIS_URL.
 */
export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: run the tests with `pnpm test` (vitest.config.ts starts Redis).');
  return url;
}

export async function startTestRedis(): Promise<EmbeddedRedis & { dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'upload-fleet-redis-'));
  const redis = await startEmbeddedRedis({ dataDir, persist: false });
  return {
    ...redis,
    async dispose() {
      await redis.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A queue prefix no other test uses; `deletePrefix` removes exactly its keys afterwards. */
export function uniquePrefix(name = 'test'): string {
  return `uft-${name}-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under a prefix (and only those), with SCAN, never FLUSHDB. */
export async function deletePrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Every key under a prefix with its value(s) as text: for "no plaintext secret at rest" checks. */
export async function dumpPrefix(redisUrl: string, prefix: string): Promise<Map<string, string>> {
  const redis = new Redis(redisUrl);
  const out = new Map<string, string>();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        let text = '';
        if (type === 'string') text = (await redis.get(key)) ?? '';
        else if (type === 'hash') text = JSON.stringify(await redis.hgetall(key));
        else if (type === 'list') text = JSON.stringify(await redis.lrange(key, 0, -1));
        else if (type === 'set') text = JSON.stringify(await redis.smembers(key));
        else if (type === 'zset') text = JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'));
        else if (type === 'stream') text = JSON.stringify(await redis.xrange(key, '-', '+'));
        out.set(key, text);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return out;
}
