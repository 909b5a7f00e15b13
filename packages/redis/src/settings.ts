import {
  booleanSetting,
  customSetting,
  defineConfig,
  isUnset,
  listSetting,
  settingGroup,
  stringSetting,
  urlSetting,
  type ConfigProblem,
  type Env,
  type ValuesOf,
} from '@upload-fleet/core/settings';
import { DEFAULT_PREFIX, parsePoolShards, type PoolShards } from '@upload-fleet/core';
import { clusterPrefixProblem, parseHostPort, type RedisConnectionConfig } from './connection.js';

/**
 * The Redis settings every process reads (API, workers, dashboard, `pnpm start`), defined
 * once so they mean the same thing everywhere:
 *
 * | variable | meaning |
 * |---|---|
 * | `REDIS_URL` | one server: `redis://[user:password@]host:port[/db]`, `rediss://` for TLS |
 * | `REDIS_CLUSTER_NODES` | Redis Cluster seed nodes, `host:port,host:port` |
 * | `REDIS_SENTINELS`, `REDIS_SENTINEL_NAME` | Sentinel: `host:port,...` and the master group name |
 * | `REDIS_SENTINEL_PASSWORD` | password of the sentinels themselves, if any |
 * | `REDIS_TLS` | `true`: TLS to the cluster or Sentinel servers (a `rediss://` URL needs nothing) |
 * | `REDIS_USERNAME`, `REDIS_PASSWORD` | ACL credentials for the cluster and Sentinel forms |
 * | `REDIS_PREFIX` | key prefix of every queue and record; on a cluster without braces (the fleet tags keys itself), `{...}` keeps the single-slot layout of earlier versions |
 * | `POOL_SHARDS` | pools split into shards, `type:count,...` (like `s3:4,http:2`): the API places each upload on a shard by its destination account, the workers of a pool consume every shard, the dashboard and metrics count them all; the same value in every process |
 *
 * A process spreads `redisEnvSettings` into its settings group, adds `redisProblems` to its
 * checks and builds its connection with `redisConfigOf`.
 */

const hostPortEntry = (entry: string): string | undefined => {
  try {
    parseHostPort(entry);
    return undefined;
  } catch (error) {
    return `${(error as Error).message}; separate entries with commas`;
  }
};

export const redisEnvSettings = settingGroup(
  // Secret: a URL may carry the password.
  urlSetting('REDIS_URL', { protocols: ['redis', 'rediss'], secret: true }),
  listSetting('REDIS_CLUSTER_NODES', { checkEntry: hostPortEntry }),
  listSetting('REDIS_SENTINELS', { checkEntry: hostPortEntry }),
  stringSetting('REDIS_SENTINEL_NAME', {}),
  stringSetting('REDIS_SENTINEL_PASSWORD', { secret: true }),
  booleanSetting('REDIS_TLS', { default: false }),
  stringSetting('REDIS_USERNAME', {}),
  stringSetting('REDIS_PASSWORD', { secret: true }),
  stringSetting('REDIS_PREFIX', { default: DEFAULT_PREFIX }),
  // Part of the key layout, so every process reads it here: a producer that placed jobs on
  // shards the workers do not consume would leave them waiting for ever.
  customSetting('POOL_SHARDS', {
    default: {} as PoolShards,
    defaultText: '',
    parse: (text) => {
      const { shards, problems } = parsePoolShards(text);
      return problems.length > 0 ? { ok: false, problems: problems.map((p) => `POOL_SHARDS: ${p}`) } : { ok: true, value: shards };
    },
  }),
);

export type RedisEnv = Partial<ValuesOf<typeof redisEnvSettings>>;

/**
 * The checks across variables: one kind of Redis at most (exactly one with `required`),
 * a Sentinel name with sentinels, and no stray braces in the prefix on a cluster. `raw` is the
 * environment itself, so a REDIS_URL that is set but malformed is not also reported missing.
 */
export function redisProblems(env: RedisEnv, raw: Env, options: { required?: boolean; destinationTypes?: readonly string[] } = {}): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (options.destinationTypes && env.POOL_SHARDS) {
    for (const type of Object.keys(env.POOL_SHARDS).filter((t) => !options.destinationTypes!.includes(t))) {
      problems.push({ setting: 'POOL_SHARDS', message: `POOL_SHARDS names "${type}", which is no destination type (known: ${options.destinationTypes.join(', ')})` });
    }
  }
  const named = [env.REDIS_URL && 'REDIS_URL', env.REDIS_CLUSTER_NODES?.length && 'REDIS_CLUSTER_NODES', env.REDIS_SENTINELS?.length && 'REDIS_SENTINELS'].filter(Boolean);
  if (named.length > 1) problems.push({ setting: 'REDIS_URL', message: `set only one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS (found ${named.join(', ')})` });
  const anySet = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].some((name) => !isUnset(raw[name]));
  if (!anySet && options.required) {
    problems.push({ setting: 'REDIS_URL', message: 'REDIS_URL is required, like "redis://127.0.0.1:6379" (or REDIS_CLUSTER_NODES for a cluster, REDIS_SENTINELS with REDIS_SENTINEL_NAME for Sentinel)' });
  }
  if (env.REDIS_SENTINELS?.length && !env.REDIS_SENTINEL_NAME) {
    problems.push({ setting: 'REDIS_SENTINEL_NAME', message: 'REDIS_SENTINEL_NAME is required with REDIS_SENTINELS: the name of the master group the sentinels monitor' });
  }
  if (env.REDIS_CLUSTER_NODES?.length) {
    const problem = clusterPrefixProblem(env.REDIS_PREFIX ?? DEFAULT_PREFIX);
    if (problem) problems.push({ setting: 'REDIS_PREFIX', message: `on Redis Cluster (REDIS_CLUSTER_NODES) ${problem}` });
  }
  return problems;
}

/** The connection configuration read values describe; undefined when none of the three is set. */
export function redisConfigOf(env: RedisEnv): RedisConnectionConfig | undefined {
  const common: RedisConnectionConfig = {
    ...(env.REDIS_TLS ? { tls: true } : {}),
    ...(env.REDIS_USERNAME ? { username: env.REDIS_USERNAME } : {}),
    ...(env.REDIS_PASSWORD ? { password: env.REDIS_PASSWORD } : {}),
    ...(env.REDIS_PREFIX ? { prefix: env.REDIS_PREFIX } : {}),
  };
  if (env.REDIS_URL) return { ...common, url: env.REDIS_URL };
  if (env.REDIS_CLUSTER_NODES?.length) return { ...common, cluster: env.REDIS_CLUSTER_NODES };
  if (env.REDIS_SENTINELS?.length) {
    return {
      ...common,
      sentinels: env.REDIS_SENTINELS,
      sentinelName: env.REDIS_SENTINEL_NAME ?? '',
      ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
    };
  }
  return undefined;
}

/**
 * The Redis settings on their own. None of the three set gives `undefined`: whether that is
 * allowed (the all-in-one `pnpm start` starts its own Redis) is the caller's call. The
 * prefix is in the result only when REDIS_PREFIX is set (the prefix check sees the default).
 */
export const redisEnvConfig = defineConfig({
  label: 'Redis',
  settings: redisEnvSettings,
  check: (values, raw) => redisProblems(values, raw),
  build: (values, env) => redisConfigOf({ ...values, REDIS_PREFIX: isUnset(env.REDIS_PREFIX) ? undefined : values.REDIS_PREFIX }),
});

/** `redisEnvConfig` as a zod schema: `.safeParse(env)`, issues under each variable. */
export const redisEnvSchema = redisEnvConfig.schema;
