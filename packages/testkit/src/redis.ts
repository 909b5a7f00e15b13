import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { masterNodes, redisConnectionFromConfig, startEmbeddedRedis, type EmbeddedRedis, type RedisConnection, type RedisConnectionConfig } from '@upload-fleet/redis';

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

/** A Redis to clean up or inspect: a URL, or a configuration (a cluster's seed nodes). */
export type RedisTarget = string | RedisConnectionConfig;

/**
 * Runs `fn` on every master of the target. SCAN walks one server's keyspace, so on a
 * cluster it must run on each master (a Cluster object would send it to one random node).
 */
async function onEveryMaster(target: RedisTarget, fn: (node: Redis, connection: RedisConnection) => Promise<void>): Promise<void> {
  const connection = typeof target === 'string' ? new Redis(target) : redisConnectionFromConfig({ ...target, prefix: undefined });
  connection.on('error', () => undefined);
  try {
    for (const node of await masterNodes(connection)) await fn(node, connection);
  } finally {
    connection.disconnect();
  }
}

/** The keys of a prefix: `<prefix>:...`, and on a cluster's spread layout the queues' `{<prefix>:<type>}:...` (KeyLayout). */
async function* scanPrefix(node: Redis, prefix: string): AsyncGenerator<string[]> {
  for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) yield keys;
    } while (cursor !== '0');
  }
}

/** Deletes every key under a prefix (and only those), with SCAN on every master, never FLUSHDB. */
export async function deletePrefix(target: RedisTarget, prefix: string): Promise<void> {
  await onEveryMaster(target, async (node) => {
    // The node that holds a key deletes it, so keys of different slots never meet in one DEL.
    for await (const keys of scanPrefix(node, prefix)) {
      const pipeline = node.pipeline();
      for (const key of keys) pipeline.unlink(key);
      await pipeline.exec();
    }
  });
}

/** Every key under a prefix with its value(s) as text: for "no plaintext secret at rest" checks. */
export async function dumpPrefix(target: RedisTarget, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await onEveryMaster(target, async (node) => {
    for await (const keys of scanPrefix(node, prefix)) {
      for (const key of keys) {
        const type = await node.type(key);
        let text = '';
        if (type === 'string') text = (await node.get(key)) ?? '';
        else if (type === 'hash') text = JSON.stringify(await node.hgetall(key));
        else if (type === 'list') text = JSON.stringify(await node.lrange(key, 0, -1));
        else if (type === 'set') text = JSON.stringify(await node.smembers(key));
        else if (type === 'zset') text = JSON.stringify(await node.zrange(key, 0, -1, 'WITHSCORES'));
        else if (type === 'stream') text = JSON.stringify(await node.xrange(key, '-', '+'));
        out.set(key, text);
      }
    }
  });
  return out;
}
