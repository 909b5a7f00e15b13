import { resolve } from 'node:path';
import { z } from 'zod';
import {
  accept,
  ALLOWED_PRIVATE_HOSTS,
  customSetting,
  defineConfig,
  durationMsSetting,
  ENCRYPTION_KEYS,
  enumSetting,
  integerSetting,
  listSetting,
  LOG_LEVEL,
  portSetting,
  refuse,
  SecretBox,
  settingGroup,
  stringSetting,
  UPLOAD_MAX_ATTEMPTS,
  type ConfigProblem,
  type Env,
  type LogLevel,
  type PoolShards,
  type ValuesOf,
} from '@upload-fleet/core';
import { parseLimitRules, DEFAULT_LIMIT_RULES, type LimitRules } from './limits/rules.js';
import { SOURCE_FILE_CALL_MODES, type SourceFileCalls } from './sources/file-calls.js';
import { DESTINATION_TYPES, destinationsConfigOf, destinationsEnvSettings, type DestinationType, type DestinationsConfig } from '@upload-fleet/destinations/definitions';
import { oauthClientSettings, oauthProblems, oauthSettingsOf, type OAuthSettings } from '@upload-fleet/credentials';
import { redisConfigOf, redisEnvSettings, redisProblems, type RedisConnectionConfig } from '@upload-fleet/redis';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY_SECONDS = 24 * 60 * 60;

function parseRateLimits(text: string) {
  try {
    return accept(parseLimitRules(text));
  } catch (error) {
    const detail = error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (error as Error).message;
    return refuse(`RATE_LIMITS must be JSON rules as in docs/rate-limits.md: ${detail}`);
  }
}

/** The worker's own settings. */
export const workerSettings = settingGroup(
  stringSetting('WEBHOOK_SECRET', {
    required: 'WEBHOOK_SECRET is required: at least 16 characters; it signs callback_url webhooks (generate one with `openssl rand -base64 24`)',
    minLength: 16,
    secret: true,
    why: '(it signs callback_url webhooks)',
  }),
  listSetting('WORKER_POOLS', { default: ['all'] }),
  integerSetting('WORKER_CONCURRENCY', { default: 4, min: 1, unit: 'uploads' }),
  stringSetting('SOURCE_ROOT', { default: 'renders' }),
  // How source files are opened and read: sources/file-calls.ts.
  enumSetting('SOURCE_FILE_CALLS', { values: SOURCE_FILE_CALL_MODES, default: 'auto' }),
  ALLOWED_PRIVATE_HOSTS,
  durationMsSetting('UPLOAD_TIMEOUT_MS', { default: 6 * HOUR }),
  durationMsSetting('SHUTDOWN_GRACE_MS', { default: 25 * SECOND }),
  durationMsSetting('LOCK_DURATION_MS', { default: 30 * SECOND }),
  durationMsSetting('STALLED_INTERVAL_MS', { default: 30 * SECOND }),
  integerSetting('MAX_STALLED_COUNT', { default: 3, min: 1, unit: 'stalls' }),
  durationMsSetting('BACKOFF_BASE_MS', { default: 5 * SECOND }),
  durationMsSetting('BACKOFF_MAX_MS', { default: 10 * MINUTE }),
  durationMsSetting('RATE_LIMIT_DEFAULT_DELAY_MS', { default: MINUTE }),
  durationMsSetting('WEBHOOK_TIMEOUT_MS', { default: 10 * SECOND }),
  integerSetting('WEBHOOK_MAX_ATTEMPTS', { default: 8, min: 1, unit: 'attempts' }),
  durationMsSetting('WEBHOOK_BACKOFF_MS', { default: 10 * SECOND }),
  integerSetting('CHECKPOINT_TTL_SECONDS', { default: 30 * DAY_SECONDS, min: 1, unit: 'seconds' }),
  // Unset: the built-in rules (DEFAULT_LIMIT_RULES); set: JSON over them.
  customSetting('RATE_LIMITS', { parse: parseRateLimits }),
  durationMsSetting('KEY_LEASE_TTL_MS', { default: MINUTE }),
  // Redis replicates asynchronously: a final record a master acknowledged can die with it.
  integerSetting('FINAL_RECORD_REPLICAS', { default: 0, min: 0, unit: 'replicas' }),
  durationMsSetting('FINAL_RECORD_REPLICA_TIMEOUT_MS', { default: SECOND }),
  portSetting('HEALTH_PORT', { default: 8081 }),
  stringSetting('HEALTH_HOST', { default: '0.0.0.0' }),
);

/**
 * Everything a worker process reads: its own settings, the shared ones (Redis, encryption
 * keys, attempts, OAuth, log level) and the destinations' operator settings. Every
 * setting, its default and unit is listed in the README's configuration table.
 */
export const workerProcessSettings = {
  ...redisEnvSettings,
  ENCRYPTION_KEYS,
  UPLOAD_MAX_ATTEMPTS,
  LOG_LEVEL,
  ...workerSettings,
  ...destinationsEnvSettings,
  ...oauthClientSettings,
};

type WorkerEnv = ValuesOf<typeof workerProcessSettings>;

export interface PoolConfig {
  type: DestinationType;
  concurrency: number;
}

export interface WorkerConfig {
  /** REDIS_URL, when Redis is a single server given by URL (the others leave it undefined). */
  redisUrl: string | undefined;
  /** REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (+ TLS, credentials); undefined: none set. */
  redis?: RedisConnectionConfig;
  prefix: string;
  /** POOL_SHARDS: pools split into shards; a pool's workers consume every shard. Unset: one each. */
  poolShards?: PoolShards;
  secretBox: SecretBox;
  webhookSecret: string;
  pools: PoolConfig[];
  sourceRoot: string;
  /** SOURCE_FILE_CALLS: inline or in the thread pool; `auto` (also when unset), by the file systems under SOURCE_ROOT. */
  sourceFileCalls?: SourceFileCalls;
  allowedPrivateHosts: string[];
  maxAttempts: number;
  uploadTimeoutMs: number;
  shutdownGraceMs: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  backoff: { baseDelayMs: number; maxDelayMs: number };
  defaultRateLimitDelayMs: number;
  webhookTimeoutMs: number;
  webhookMaxAttempts: number;
  webhookBackoffMs: number;
  checkpointTtlSeconds: number;
  /** Fleet-wide limits per destination account (RATE_LIMITS over the defaults). */
  limitRules: LimitRules;
  /**
   * FINAL_RECORD_REPLICAS and its timeout: a final record is on this many replicas (Redis
   * WAIT) before the job completes, so a failover cannot lose it. Unset or 0: not waited for.
   */
  finalRecordReplicas?: { replicas: number; timeoutMs: number };
  leaseTtlMs: number;
  /** Operator settings of the destinations (endpoints, parts in flight). */
  destinations: DestinationsConfig;
  /** OAuth clients for `auth_secret` credentials (GOOGLE_OAUTH_*, DROPBOX_OAUTH_*); none: such jobs fail with UF_CONFIGURATION. */
  oauth?: OAuthSettings;
}

/** What a worker process is started with: the pools' config plus what only its entrypoint uses. */
export interface WorkerProcessConfig extends WorkerConfig {
  /** HEALTH_PORT and HEALTH_HOST: /healthz, /readyz and /metrics of a worker process. */
  health: { port: number; host: string };
  /** LOG_LEVEL, for the entrypoint's logger. */
  logLevel: LogLevel;
}


/** WORKER_CONCURRENCY_<TYPE> overrides WORKER_CONCURRENCY for one pool. */
const poolConcurrency = (type: DestinationType) => integerSetting(`WORKER_CONCURRENCY_${type.toUpperCase()}`, { min: 1, unit: 'uploads' });

/** The pools WORKER_POOLS asks for, or the problems with it. */
function poolsOf(env: Partial<WorkerEnv>, raw: Env, availableTypes: readonly DestinationType[]): { pools: PoolConfig[]; problems: ConfigProblem[] } {
  const pools: PoolConfig[] = [];
  const problems: ConfigProblem[] = [];
  if (env.WORKER_POOLS === undefined) return { pools, problems };
  const requested = env.WORKER_POOLS.length === 1 && env.WORKER_POOLS[0] === 'all' ? [...availableTypes] : env.WORKER_POOLS;
  for (const type of requested) {
    if (!(DESTINATION_TYPES as string[]).includes(type)) {
      problems.push({ setting: 'WORKER_POOLS', message: `"${type}" is not a destination type (${DESTINATION_TYPES.join(', ')})` });
    } else if (!availableTypes.includes(type as DestinationType)) {
      problems.push({ setting: 'WORKER_POOLS', message: `the "${type}" destination has no adapter in this build yet; remove it from WORKER_POOLS` });
    } else {
      const override = poolConcurrency(type as DestinationType);
      const reading = override.read(raw[override.name]);
      if (!reading.ok) problems.push(...reading.problems.map((message) => ({ setting: override.name, message })));
      else pools.push({ type: type as DestinationType, concurrency: reading.value ?? env.WORKER_CONCURRENCY ?? 0 });
    }
  }
  if (requested.length === 0) problems.push({ setting: 'WORKER_POOLS', message: 'name at least one pool, or "all"' });
  return { pools, problems };
}

export interface WorkerConfigOptions {
  /** The destination types that have an adapter: WORKER_POOLS=all means those, and naming another type is an error. */
  availableTypes?: readonly DestinationType[];
  /** A relative SOURCE_ROOT is resolved against it. */
  cwd?: string;
  /** A worker process needs a Redis; `pnpm start` starts its own when none is set. */
  requireRedis?: boolean;
}

/** The worker's configuration definition. */
export function workerConfig({ availableTypes = DESTINATION_TYPES, cwd = process.cwd(), requireRedis = false }: WorkerConfigOptions = {}) {
  return defineConfig({
    label: 'worker',
    settings: workerProcessSettings,
    check: (env, raw) => [...poolsOf(env, raw, availableTypes).problems, ...oauthProblems(env), ...redisProblems(env, raw, { required: requireRedis, destinationTypes: DESTINATION_TYPES })],
    build: (c, raw): WorkerProcessConfig => {
      const redis = redisConfigOf(c);
      return {
        redisUrl: redis?.url,
        ...(redis ? { redis } : {}),
        prefix: c.REDIS_PREFIX,
        poolShards: c.POOL_SHARDS,
        secretBox: SecretBox.fromConfig(c.ENCRYPTION_KEYS),
        webhookSecret: c.WEBHOOK_SECRET,
        pools: poolsOf(c, raw, availableTypes).pools,
        sourceRoot: resolve(cwd, c.SOURCE_ROOT),
        sourceFileCalls: c.SOURCE_FILE_CALLS,
        allowedPrivateHosts: c.ALLOWED_PRIVATE_HOSTS,
        maxAttempts: c.UPLOAD_MAX_ATTEMPTS,
        uploadTimeoutMs: c.UPLOAD_TIMEOUT_MS,
        shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
        lockDurationMs: c.LOCK_DURATION_MS,
        ...(c.FINAL_RECORD_REPLICAS > 0 ? { finalRecordReplicas: { replicas: c.FINAL_RECORD_REPLICAS, timeoutMs: c.FINAL_RECORD_REPLICA_TIMEOUT_MS } } : {}),
        stalledIntervalMs: c.STALLED_INTERVAL_MS,
        maxStalledCount: c.MAX_STALLED_COUNT,
        backoff: { baseDelayMs: c.BACKOFF_BASE_MS, maxDelayMs: c.BACKOFF_MAX_MS },
        defaultRateLimitDelayMs: c.RATE_LIMIT_DEFAULT_DELAY_MS,
        webhookTimeoutMs: c.WEBHOOK_TIMEOUT_MS,
        webhookMaxAttempts: c.WEBHOOK_MAX_ATTEMPTS,
        webhookBackoffMs: c.WEBHOOK_BACKOFF_MS,
        checkpointTtlSeconds: c.CHECKPOINT_TTL_SECONDS,
        limitRules: c.RATE_LIMITS ?? DEFAULT_LIMIT_RULES,
        leaseTtlMs: c.KEY_LEASE_TTL_MS,
        destinations: destinationsConfigOf(c),
        oauth: oauthSettingsOf(c),
        health: { port: c.HEALTH_PORT, host: c.HEALTH_HOST },
        logLevel: c.LOG_LEVEL,
      };
    },
  });
}

/** Parses the environment into a WorkerConfig; throws one ConfigError that lists every problem. */
export function loadWorkerConfig(env: Env, availableTypes: readonly DestinationType[] = DESTINATION_TYPES, cwd = process.cwd()): WorkerProcessConfig {
  return workerConfig({ availableTypes, cwd }).load(env);
}

/** The worker's configuration (every adapter of this build, SOURCE_ROOT under the working folder) as a zod schema. */
export const workerEnvSchema = workerConfig().schema;
