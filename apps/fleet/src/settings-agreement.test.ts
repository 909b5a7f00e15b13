/**
 * Every setting that more than one process reads gives the same value, or the same error,
 * in each of them: the same env values (unset, empty, blank, malformed, out of range, valid)
 * go through each process's own config loader, and what each loader makes of the setting
 * is compared.
 */
import { describe, expect, it } from 'vitest';
import { apiServiceConfig } from '@upload-fleet/api';
import { cliConfig } from '@upload-fleet/cli';
import { SecretBox, type AnySetting, type ConfigDefinition, type Env, type LoadResult, type SettingGroup } from '@upload-fleet/core';
import { OAUTH_PROVIDERS, traitsOf } from '@upload-fleet/credentials';
import { dashboardConfig } from '@upload-fleet/dashboard';
import { workerConfig } from '@upload-fleet/runtime';
import { fleetConfig } from './config.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyConfig = any;
type Process = 'api' | 'worker' | 'dashboard' | 'pnpm start' | 'cli';

const processes: Record<Process, ConfigDefinition<SettingGroup, AnyConfig>> = {
  api: apiServiceConfig,
  // As apps/worker/src/main.ts loads it.
  worker: workerConfig({ requireRedis: true }),
  dashboard: dashboardConfig,
  'pnpm start': fleetConfig,
  cli: cliConfig,
};

const KEY_1 = SecretBox.generateKey();
const KEY_2 = SecretBox.generateKey();

/** Valid for every process, so a problem can only come from the setting under test. */
const base: Env = {
  API_KEYS: 'ci:a-key-of-sixteen-chars',
  ENCRYPTION_KEYS: `k1:${KEY_1}`,
  WEBHOOK_SECRET: 'a-webhook-secret-of-length',
  REDIS_URL: 'redis://127.0.0.1:6379',
  DASHBOARD_USERS: 'ops:correct-horse-battery',
};

const redis = (c: AnyConfig) => c.redis;
const oauth = (c: AnyConfig) => c.oauth;
const currentKeyId = (box: SecretBox) => box.encrypt('probe').kid;

/**
 * What each process's config holds for a shared setting. A setting that becomes shared
 * must be added here, or the test below fails.
 */
const projections: Record<string, Partial<Record<Process, (config: AnyConfig) => unknown>>> = {
  ...Object.fromEntries(
    ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS', 'REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD', 'REDIS_TLS', 'REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_PREFIX'].map((name) => [
      name,
      { api: redis, worker: redis, dashboard: redis, 'pnpm start': redis },
    ]),
  ),
  ENCRYPTION_KEYS: { api: (c) => currentKeyId(SecretBox.fromConfig(c.encryptionKeys)), worker: (c) => currentKeyId(c.secretBox) },
  UPLOAD_MAX_ATTEMPTS: { api: (c) => c.maxAttempts, worker: (c) => c.maxAttempts },
  LOG_LEVEL: { api: (c) => c.logLevel, worker: (c) => c.logLevel, dashboard: (c) => c.logLevel, 'pnpm start': (c) => c.logLevel },
  FLEET_DATA_DIR: { 'pnpm start': (c) => c.dataDir, cli: (c) => c.FLEET_DATA_DIR },
  ...Object.fromEntries(
    OAUTH_PROVIDERS.map((p) => traitsOf(p).env)
      .flatMap((prefix) => ['CLIENT_ID', 'CLIENT_SECRET', 'AUTH_URL', 'TOKEN_URL', 'SCOPES'].map((s) => `${prefix}_${s}`))
      .map((name) => [name, { api: oauth, worker: oauth }]),
  ),
  POOL_SHARDS: { api: (c) => c.poolShards, worker: (c) => c.poolShards, dashboard: (c) => c.poolShards, 'pnpm start': (c) => c.poolShards },
  ALLOWED_PRIVATE_HOSTS: { api: (c) => c.allowedPrivateHosts, worker: (c) => c.allowedPrivateHosts },
  PUBLIC_BASE_URL: { api: (c) => c.oauth.publicBaseUrl, 'pnpm start': (c) => c.publicBaseUrl },
};

/** The values every setting of a kind is tried with, beyond unset, empty and blank. */
const valuesByKind: Record<AnySetting['kind'], string[]> = {
  integer: ['1e1', 'abc', '10.5', ' 5 ', '-1', '0', '7', '100', '200', '99999999999999999999'],
  duration: ['1e1', '10.5', '0', '1500'],
  port: ['1e1', '80.0', '65536', '0', '6380'],
  boolean: ['yes', 'TRUE', ' true', 'true', 'false', '1', '0'],
  enum: ['loud', ' info', 'INFO', 'debug', 'silent'],
  url: ['localhost:6379', ' redis://h', 'redis://127.0.0.1:6390/2', 'rediss://u:p@h:6380', 'ftp://x', 'https://auth.example/o/oauth2', 'https://x.example/a/?q=1'],
  string: [' padded ', 'text', '{uf}', 'short'],
  list: ['a:1,b', ' , ', '10.0.0.1:7000, [::1]:7001', 'scope.a scope.b'],
  custom: ['nocolon', `k1:${SecretBox.generateKey().slice(0, 20)}`, `k2:${KEY_2}`, `k2:${KEY_2},k1:${KEY_1}`, '127.0.0.1:9000,[::1]:99999', 'localhost'],
};

type Outcome = { problems: string[] } | { value: unknown } | undefined;

/**
 * What one process makes of one setting: its problems, or its value. Only problems about
 * settings that every compared process reads count: a rule about a setting of one process
 * alone (the API needs PUBLIC_BASE_URL with an OAuth client, for its redirect URIs) is that
 * process's own; failing only by such a rule leaves nothing to compare (undefined).
 */
function outcome(process: Process, name: string, env: Env, common: (setting: string) => boolean): Outcome {
  const result: LoadResult<AnyConfig> = processes[process].safeLoad(env);
  if (result.ok) return { value: projections[name]![process]!(result.config) };
  const problems = result.problems.filter((p) => common(p.setting)).map((p) => `${p.setting}: ${p.message}`);
  return problems.length > 0 ? { problems } : undefined;
}

const readers = (name: string) => (Object.keys(processes) as Process[]).filter((p) => name in processes[p].settings);
const sharedNames = [...new Set(Object.values(processes).flatMap((d) => Object.keys(d.settings)))].filter((name) => readers(name).length > 1).sort();

describe('settings shared by several processes', () => {
  it('are exactly the ones this test compares, and each process reads them through the same definition', () => {
    expect(sharedNames).toEqual(Object.keys(projections).sort());
    for (const name of sharedNames) {
      const [first, ...others] = readers(name).map((p) => processes[p].settings[name]);
      for (const other of others) expect(other, name).toBe(first);
    }
  });

  for (const name of Object.keys(projections).sort()) {
    it(`${name} means the same in ${readers(name).join(', ')}`, () => {
      const setting = processes[readers(name)[0]!].settings[name]!;
      for (const raw of [undefined, '', '   ', ...valuesByKind[setting.kind]]) {
        const env = { ...base, [name]: raw };
        // With no Redis named at all, `pnpm start` starts its own: the one intended difference.
        const noRedis = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].every((n) => (env[n] ?? '').trim() === '');
        const compared = readers(name).filter((p) => !(noRedis && p === 'pnpm start'));
        const common = (setting: string) => compared.every((p) => setting in processes[p].settings);
        const outcomes = Object.fromEntries(compared.map((p) => [p, outcome(p, name, env, common)]).filter(([, o]) => o !== undefined));
        const [first, ...rest] = Object.values(outcomes);
        for (const other of rest) expect(other, `${name}=${JSON.stringify(raw)} in ${Object.keys(outcomes).join(', ')}`).toEqual(first);
      }
    });
  }

  it('fixes what issue 9 found: the API and the worker agree on UPLOAD_MAX_ATTEMPTS and REDIS_PREFIX, and read HEALTH_PORT as a setting', () => {
    const api = (env: Env) => apiServiceConfig.safeLoad({ ...base, ...env });
    const worker = (env: Env) => processes.worker.safeLoad({ ...base, ...env });
    for (const load of [api, worker]) {
      expect(load({ UPLOAD_MAX_ATTEMPTS: '200' })).toMatchObject({ ok: false, problems: [{ setting: 'UPLOAD_MAX_ATTEMPTS', message: expect.stringMatching(/at most 100 attempts \(allowed: from 1 to 100/) }] });
      expect(load({ UPLOAD_MAX_ATTEMPTS: '' })).toMatchObject({ ok: true, config: { maxAttempts: 5 } });
      expect(load({ UPLOAD_MAX_ATTEMPTS: '1e1' })).toMatchObject({ ok: false, problems: [{ message: expect.stringMatching(/^UPLOAD_MAX_ATTEMPTS must be a whole number/) }] });
    }
    expect(api({ REDIS_PREFIX: '' })).toMatchObject({ ok: true, config: { redisPrefix: 'upload-fleet' } });
    expect(worker({ REDIS_PREFIX: '' })).toMatchObject({ ok: true, config: { prefix: 'upload-fleet' } });
    expect(worker({ HEALTH_PORT: '' })).toMatchObject({ ok: true, config: { health: { port: 8081, host: '0.0.0.0' } } });
    expect(worker({ HEALTH_PORT: '80a' })).toMatchObject({ ok: false, problems: [{ setting: 'HEALTH_PORT' }] });
  });

  it('report every problem of a process at once', () => {
    const result = processes.worker.safeLoad({ UPLOAD_MAX_ATTEMPTS: 'many', HEALTH_PORT: '-1', REDIS_PREFIX: ' x ', LOG_LEVEL: 'loud' });
    expect(result.ok ? [] : result.problems.map((p) => p.setting).sort()).toEqual(['ENCRYPTION_KEYS', 'HEALTH_PORT', 'LOG_LEVEL', 'REDIS_PREFIX', 'REDIS_URL', 'UPLOAD_MAX_ATTEMPTS', 'WEBHOOK_SECRET']);
  });
});
