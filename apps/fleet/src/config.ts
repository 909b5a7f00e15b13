import { apiConfig, type ApiConfig } from '@upload-fleet/api';
import { ConfigError, defineConfig, FLEET_DATA_DIR, LOG_LEVEL, portSetting, settingGroup, type ConfigProblem, type Env, type LogLevel, type PoolShards } from '@upload-fleet/core';
import { dashboardConfig, type DashboardConfig } from '@upload-fleet/dashboard';
import { workerConfig, type WorkerProcessConfig } from '@upload-fleet/runtime';
import { PUBLIC_BASE_URL } from '@upload-fleet/credentials';
import { redisConfigOf, redisEnvSettings, redisProblems, type RedisConnectionConfig } from '@upload-fleet/redis';

/**
 * `pnpm start`'s own settings. The API, the pools and the dashboard read theirs through
 * their own loaders from the same environment, after the generated keys and the embedded
 * Redis' URL have been added to it.
 */
export const fleetSettings = {
  ...redisEnvSettings,
  ...settingGroup(
    FLEET_DATA_DIR,
    // Unset: a free port.
    portSetting('REDIS_PORT', { min: 1, example: 6379 }),
    LOG_LEVEL,
  ),
  // Unset: http://localhost:<PORT>, the API this process runs.
  PUBLIC_BASE_URL,
};

export interface FleetConfig {
  /** Where generated keys and the embedded Redis' data live (relative to the working folder). */
  dataDir: string;
  /** The Redis named by REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS; undefined: start the embedded one. */
  redis: RedisConnectionConfig | undefined;
  /** The embedded Redis' port; undefined: a free one. */
  embeddedRedisPort: number | undefined;
  logLevel: LogLevel;
  /** PUBLIC_BASE_URL, when set. */
  publicBaseUrl: string | undefined;
  /** POOL_SHARDS; the API, worker and dashboard parts read the same value from the same environment. */
  poolShards: PoolShards;
}

export const fleetConfig = defineConfig({
  label: 'upload-fleet',
  settings: fleetSettings,
  check: (env, raw) => redisProblems(env, raw),
  build: (env): FleetConfig => ({ dataDir: env.FLEET_DATA_DIR, redis: redisConfigOf(env), embeddedRedisPort: env.REDIS_PORT, logLevel: env.LOG_LEVEL, publicBaseUrl: env.PUBLIC_BASE_URL, poolShards: env.POOL_SHARDS }),
});

/** Parses the environment; throws one ConfigError that lists every problem. For the entrypoint only. */
export function loadFleetConfig(env: Env): FleetConfig {
  return fleetConfig.load(env);
}

/**
 * The configurations of the parts `pnpm start` runs, from the environment it completed
 * (generated keys, the embedded Redis' URL). Throws one ConfigError with the problems of
 * all three, each listed once.
 */
export function loadFleetParts(env: Env): { api: ApiConfig; worker: WorkerProcessConfig; dashboard: DashboardConfig } {
  const api = apiConfig.safeLoad(env);
  const worker = workerConfig().safeLoad(env);
  const dashboard = dashboardConfig.safeLoad(env);
  if (api.ok && worker.ok && dashboard.ok) return { api: api.config, worker: worker.config, dashboard: dashboard.config };
  const problems: ConfigProblem[] = [];
  for (const result of [api, worker, dashboard]) {
    for (const problem of result.ok ? [] : result.problems) {
      if (!problems.some((p) => p.setting === problem.setting && p.message === problem.message)) problems.push(problem);
    }
  }
  throw new ConfigError('upload-fleet', problems);
}
