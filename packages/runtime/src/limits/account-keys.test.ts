import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetworkGuard } from '@upload-fleet/core';
import { destinationSchemas, type DestinationAdapter } from '@upload-fleet/destinations';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import { AccountKeys } from './account-keys.js';

describe('AccountKeys', () => {
  const url = testRedisUrl();
  const prefix = uniquePrefix('accounts');
  let redis: Redis;
  beforeAll(() => void (redis = new Redis(url)));
  afterAll(async () => {
    await deletePrefix(url, prefix);
    redis.disconnect();
  });

  const destination = (token: string) =>
    destinationSchemas.youtube.parse({ type: 'youtube', title: 't', description: 'd', category: '22', oauth_access_token: token });
  const context = { signal: new AbortController().signal, network: createNetworkGuard({ allowedPrivateHosts: [] }), credentials: { accessToken: async () => 'x' } };

  it('asks the adapter once per credential, and two tokens of one channel share its key', async () => {
    let calls = 0;
    const adapter = {
      type: 'youtube',
      upload: async () => ({ url: null, bytes: 0 }),
      accountOf: async () => {
        calls++;
        return 'channel:UC123';
      },
    } as unknown as DestinationAdapter;
    const keys = new AccountKeys(redis, prefix, 60);
    expect(await keys.keyOf(adapter, destination('token-a-0123'), context)).toBe('channel:UC123');
    expect(await keys.keyOf(adapter, destination('token-a-0123'), context)).toBe('channel:UC123');
    expect(await keys.keyOf(adapter, destination('token-b-4567'), context)).toBe('channel:UC123');
    expect(calls).toBe(2);
  });

  it('falls back to the credential hash when the lookup fails, without the secret in the key', async () => {
    const adapter = { type: 'youtube', upload: async () => ({ url: null, bytes: 0 }), accountOf: async () => Promise.reject(new Error('offline')) } as unknown as DestinationAdapter;
    const key = await new AccountKeys(redis, prefix, 60).keyOf(adapter, destination('token-c-secret'), context);
    expect(key).toMatch(/^credential:[0-9a-f]{16}$/);
    expect(key).not.toContain('token-c-secret');
  });
});
