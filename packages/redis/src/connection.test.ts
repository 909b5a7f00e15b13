import { describe, expect, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import { CLIENT_COMMAND_TIMEOUT_MS, clusterPrefixProblem, describeRedis, hasHashTag, parseHostPort, RedisConfigError, redisConnectionFromConfig, redisMode } from './connection.js';
import { redisEnvSchema } from './settings.js';

const issues = (env: Record<string, string>) => {
  const parsed = redisEnvSchema.safeParse(env);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('the Redis environment', () => {
  it('reads a single server, a cluster and Sentinel', () => {
    expect(redisEnvSchema.parse({})).toBeUndefined();
    expect(redisEnvSchema.parse({ REDIS_URL: 'rediss://u:p@h:6380/2' })).toEqual({ url: 'rediss://u:p@h:6380/2' });
    expect(redisEnvSchema.parse({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, [::1]:7001', REDIS_PREFIX: '{uf}', REDIS_TLS: 'true', REDIS_USERNAME: 'fleet', REDIS_PASSWORD: 'pw' })).toEqual({
      cluster: ['10.0.0.1:7000', '[::1]:7001'],
      prefix: '{uf}',
      tls: true,
      username: 'fleet',
      password: 'pw',
    });
    expect(redisEnvSchema.parse({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'sp', REDIS_URL: '' })).toEqual({
      sentinels: ['s1:26379', 's2:26379'],
      sentinelName: 'mymaster',
      sentinelPassword: 'sp',
    });
  });

  it('takes a plain prefix on a cluster (the default included) or a hash-tagged one, and refuses braces that make no tag', () => {
    expect(issues({ REDIS_CLUSTER_NODES: 'a:1', REDIS_PREFIX: 'upload-fleet' })).toEqual([]);
    expect(issues({ REDIS_CLUSTER_NODES: 'a:1' })).toEqual([]);
    expect(issues({ REDIS_CLUSTER_NODES: 'a:1', REDIS_PREFIX: 'uf-{fleet}' })).toEqual([]);
    expect(issues({ REDIS_CLUSTER_NODES: 'a:1', REDIS_PREFIX: '{upload-fleet' })).toEqual([
      expect.stringMatching(/^REDIS_PREFIX: .*braces that make no hash tag.*REDIS_PREFIX=upload-fleet .*REDIS_PREFIX=\{upload-fleet\}/),
    ]);
  });

  it('lists every problem at once', () => {
    expect(issues({ REDIS_URL: 'localhost:6379' })).toEqual(['REDIS_URL: REDIS_URL must be a redis:// or rediss:// URL']);
    expect(issues({ REDIS_URL: 'redis://a', REDIS_SENTINELS: 's:1' })).toEqual([
      'REDIS_URL: set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS (found REDIS_URL, REDIS_SENTINELS)',
      expect.stringMatching(/^REDIS_SENTINEL_NAME: .*required/),
    ]);
    expect(issues({ REDIS_CLUSTER_NODES: 'a:1,b', REDIS_PREFIX: '{x}', REDIS_TLS: 'yes' })).toEqual([
      expect.stringMatching(/^REDIS_CLUSTER_NODES: "b" is not host:port/),
      'REDIS_TLS: REDIS_TLS must be true or false',
    ]);
  });
});

describe('hash tags', () => {
  it('follow Redis: the first "{" and the next "}", with something between', () => {
    expect(hasHashTag('{upload-fleet}')).toBe(true);
    expect(hasHashTag('uf-{a}:x')).toBe(true);
    expect(hasHashTag('a}{b}')).toBe(true);
    expect(hasHashTag('a{}b')).toBe(false);
    expect(hasHashTag('upload-fleet')).toBe(false);
    expect(hasHashTag('{open')).toBe(false);
    expect(clusterPrefixProblem('{x}')).toBeUndefined();
    expect(clusterPrefixProblem('x')).toBeUndefined();
    expect(clusterPrefixProblem('a{}b')).toMatch(/no hash tag/);
  });
});

describe('redisConnectionFromConfig', () => {
  it('sets maxRetriesPerRequest: null on every form, and refuses a cluster prefix whose braces make no hash tag', () => {
    const single = redisConnectionFromConfig({ url: 'redis://127.0.0.1:1', prefix: 'no-tag-is-fine-here' });
    const sentinel = redisConnectionFromConfig({ sentinels: ['127.0.0.1:1'], sentinelName: 'm' });
    const cluster = redisConnectionFromConfig({ cluster: ['127.0.0.1:1'], prefix: '{uf}' });
    try {
      expect((single as Redis).options.maxRetriesPerRequest).toBeNull();
      expect((sentinel as Redis).options).toMatchObject({ maxRetriesPerRequest: null, name: 'm' });
      expect(cluster.isCluster).toBe(true);
      expect((cluster as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
    } finally {
      for (const c of [single, sentinel, cluster]) c.disconnect();
    }
    expect(() => redisConnectionFromConfig({ cluster: ['127.0.0.1:1'], prefix: 'uf{' })).toThrow(RedisConfigError);
    expect(() => redisConnectionFromConfig({ sentinels: ['127.0.0.1:1'] })).toThrow(/REDIS_SENTINEL_NAME/);
    expect(() => redisMode({})).toThrow(/No Redis is configured/);
  });

  it('fails fast for a client (the API) on every form: no offline queue, no resend, a deadline per command', () => {
    const forms = [
      redisConnectionFromConfig({ url: 'redis://127.0.0.1:1' }, 'client'),
      redisConnectionFromConfig({ sentinels: ['127.0.0.1:1'], sentinelName: 'm' }, 'client'),
    ];
    const cluster = redisConnectionFromConfig({ cluster: ['127.0.0.1:1'], prefix: '{uf}' }, 'client') as Cluster;
    try {
      for (const c of forms) {
        expect((c as Redis).options).toMatchObject({ maxRetriesPerRequest: 0, enableOfflineQueue: false, autoResendUnfulfilledCommands: false, commandTimeout: CLIENT_COMMAND_TIMEOUT_MS });
      }
      expect(cluster.options.enableOfflineQueue).toBe(false);
      expect(cluster.options.redisOptions).toMatchObject({ maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout: CLIENT_COMMAND_TIMEOUT_MS });
    } finally {
      for (const c of [...forms, cluster]) c.disconnect();
    }
  });

  it('parses host:port and never shows a password', () => {
    expect(parseHostPort('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
    expect(() => parseHostPort('h:70000')).toThrow(/host:port/);
    expect(describeRedis({ url: 'redis://u:secret@h:1/2' })).toBe('redis://u:***@h:1/2');
    expect(describeRedis({ cluster: ['a:1', 'b:2'] })).toBe('Redis Cluster a:1,b:2');
  });
});
