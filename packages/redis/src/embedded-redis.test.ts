import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedRedis } from './embedded-redis.js';

describe('startEmbeddedRedis', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'upload-fleet-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs redis-server with noeviction, and adopts the one a killed parent left running instead of starting a second on the same files', async () => {
    const first = await startEmbeddedRedis({ dataDir, persist: false, adoptRunning: true });
    const connect = (url: string) => {
      const redis = new Redis(url, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
      redis.on('error', () => undefined);
      return redis;
    };
    const client = connect(first.url);
    try {
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      await client.set('marker', 'still here');
      // The parent "dies" without stopping it; the next start finds it.
      const second = await startEmbeddedRedis({ dataDir, persist: false, adoptRunning: true });
      expect(second.url).toBe(first.url);
      const again = connect(second.url);
      expect(await again.get('marker')).toBe('still here');
      again.disconnect();
      await second.stop();
      expect(existsSync(join(dataDir, 'embedded-redis.json'))).toBe(false);
      await expect(client.ping()).rejects.toThrow();
    } finally {
      client.disconnect();
      await first.stop();
    }
  });
});
