import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_PREFIX, SecretBox } from '@upload-fleet/core';
import { DESTINATION_TYPES, destinationsEnvSchema, type DestinationType, type DestinationsConfig } from '@upload-fleet/destinations/definitions';
import { DEFAULT_LIMIT_RULES, parseLimitRules, type LimitRules } from './limits/rules.js';
import { oauthEnvSchema, type OAuthSettings } from '@upload-fleet/credentials';
import { redisEnvSchema, type RedisConnectionConfig } from '@upload-fleet/redis';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY_SECONDS = 24 * 60 * 60;

const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * Worker configuration, read once from the environment at start. Every setting, its
 * default and unit is listed in the README's configuration table.
 */
export const workerEnvSchema = z.object({
  REDIS_PREFIX: z.string().min(1).default(DEFAULT_PREFIX),
  ENCRYPTION_KEYS: z
    .string({ error: 'ENCRYPTION_KEYS is required: comma-separated "id:base64key" pairs, newest first (generate a key with `openssl rand -base64 32`)' })
    .refine((v) => {
      try {
        SecretBox.fromConfig(v);
        return true;
      } catch {
        return false;
      }
    }, 'ENCRYPTION_KEYS must be comma-separated "id:base64key" pairs of 32-byte keys'),
  WEBHOOK_SECRET: z.string().min(16, 'WEBHOOK_SECRET must be at least 16 characters (it signs callback_url webhooks)'),
  WORKER_POOLS: z.string().default('all'),
  WORKER_CONCURRENCY: int(4),
  SOURCE_ROOT: z.string().default('renders'),
  ALLOWED_PRIVATE_HOSTS: z.string().default(''),
  UPLOAD_MAX_ATTEMPTS: int(5),
  UPLOAD_TIMEOUT_MS: int(6 * HOUR),
  SHUTDOWN_GRACE_MS: int(25 * SECOND),
  LOCK_DURATION_MS: int(30 * SECOND),
  STALLED_INTERVAL_MS: int(30 * SECOND),
  MAX_STALLED_COUNT: int(3),
  BACKOFF_BASE_MS: int(5 * SECOND),
  BACKOFF_MAX_MS: int(10 * MINUTE),
  RATE_LIMIT_DEFAULT_DELAY_MS: int(MINUTE),
  WEBHOOK_TIMEOUT_MS: int(10 * SECOND),
  WEBHOOK_MAX_ATTEMPTS: int(8),
  WEBHOOK_BACKOFF_MS: int(10 * SECOND),
  CHECKPOINT_TTL_SECONDS: int(30 * DAY_SECONDS),
  RATE_LIMITS: z.string().optional(),
  KEY_LEASE_TTL_MS: int(MINUTE),
});

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
  secretBox: SecretBox;
  webhookSecret: string;
  pools: PoolConfig[];
  sourceRoot: string;
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
  leaseTtlMs: number;
  /** Operator settings of the destinations (endpoints, parts in flight). */
  destinations: DestinationsConfig;
  /** OAuth clients for `auth_secret` credentials (GOOGLE_OAUTH_*, DROPBOX_OAUTH_*); none: such jobs fail with UF_CONFIGURATION. */
  oauth?: OAuthSettings;
}

/**
 * Parses the environment into a WorkerConfig; throws one error that lists every problem.
 * `availableTypes` are the destination types that have an adapter: WORKER_POOLS=all
 * means those, and naming another type is an error.
 */
export function loadWorkerConfig(
  env: Record<string, string | undefined>,
  availableTypes: readonly DestinationType[] = DESTINATION_TYPES,
  cwd = process.cwd(),
): WorkerConfig {
  const parsed = workerEnvSchema.safeParse(env);
  const destinations = destinationsEnvSchema.safeParse(env);
  const oauth = oauthEnvSchema.safeParse(env);
  const redis = redisEnvSchema.safeParse(env);
  const problems: string[] = [parsed, destinations, oauth, redis].flatMap((result) =>
    result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
  );
  const pools: PoolConfig[] = [];
  if (parsed.success) {
    const requested = parsed.data.WORKER_POOLS.trim() === 'all' ? [...availableTypes] : parsed.data.WORKER_POOLS.split(',').map((t) => t.trim()).filter(Boolean);
    for (const type of requested) {
      if (!(DESTINATION_TYPES as string[]).includes(type)) {
        problems.push(`WORKER_POOLS: "${type}" is not a destination type (${DESTINATION_TYPES.join(', ')})`);
      } else if (!availableTypes.includes(type as DestinationType)) {
        problems.push(`WORKER_POOLS: the "${type}" destination has no adapter in this build yet; remove it from WORKER_POOLS`);
      } else {
        const override = env[`WORKER_CONCURRENCY_${type.toUpperCase()}`];
        const concurrency = override === undefined ? parsed.data.WORKER_CONCURRENCY : Number(override);
        if (!Number.isInteger(concurrency) || concurrency < 1) problems.push(`WORKER_CONCURRENCY_${type.toUpperCase()}: must be a positive integer`);
        pools.push({ type: type as DestinationType, concurrency });
      }
    }
    if (requested.length === 0) problems.push('WORKER_POOLS: name at least one pool, or "all"');
  }
  let limitRules: LimitRules = DEFAULT_LIMIT_RULES;
  if (parsed.success) {
    try {
      limitRules = parseLimitRules(parsed.data.RATE_LIMITS);
    } catch (error) {
      problems.push(`RATE_LIMITS: ${error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (error as Error).message}`);
    }
  }
  if (!parsed.success || !destinations.success || !oauth.success || !redis.success || problems.length > 0) {
    throw new Error(`Invalid worker configuration:\n  - ${problems.join('\n  - ')}`);
  }
  const c = parsed.data;
  return {
    redisUrl: redis.data?.url,
    ...(redis.data ? { redis: redis.data } : {}),
    prefix: c.REDIS_PREFIX,
    secretBox: SecretBox.fromConfig(c.ENCRYPTION_KEYS),
    webhookSecret: c.WEBHOOK_SECRET,
    pools,
    sourceRoot: resolve(cwd, c.SOURCE_ROOT),
    allowedPrivateHosts: c.ALLOWED_PRIVATE_HOSTS.split(',').map((h) => h.trim()).filter(Boolean),
    maxAttempts: c.UPLOAD_MAX_ATTEMPTS,
    uploadTimeoutMs: c.UPLOAD_TIMEOUT_MS,
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    lockDurationMs: c.LOCK_DURATION_MS,
    stalledIntervalMs: c.STALLED_INTERVAL_MS,
    maxStalledCount: c.MAX_STALLED_COUNT,
    backoff: { baseDelayMs: c.BACKOFF_BASE_MS, maxDelayMs: c.BACKOFF_MAX_MS },
    defaultRateLimitDelayMs: c.RATE_LIMIT_DEFAULT_DELAY_MS,
    webhookTimeoutMs: c.WEBHOOK_TIMEOUT_MS,
    webhookMaxAttempts: c.WEBHOOK_MAX_ATTEMPTS,
    webhookBackoffMs: c.WEBHOOK_BACKOFF_MS,
    checkpointTtlSeconds: c.CHECKPOINT_TTL_SECONDS,
    limitRules,
    leaseTtlMs: c.KEY_LEASE_TTL_MS,
    destinations: destinations.data,
    oauth: oauth.data,
  };
}
