import {
  accept,
  customSetting,
  defineConfig,
  ALLOWED_PRIVATE_HOSTS,
  ENCRYPTION_KEYS,
  integerSetting,
  LOG_LEVEL,
  portSetting,
  refuse,
  settingGroup,
  stringSetting,
  UPLOAD_MAX_ATTEMPTS,
  type Env,
  type LogLevel,
  type Reading,
  type ValuesOf,
} from '@upload-fleet/core/settings';
import type { PoolShards } from '@upload-fleet/core';
import { DESTINATION_TYPES } from '@upload-fleet/destinations/definitions';
import { enabledOAuthProviders, oauthEnvSettings, oauthProblems, oauthSettingsOf, type OAuthSettings } from '@upload-fleet/credentials';
import { redisConfigOf, redisEnvSettings, redisProblems, type RedisConnectionConfig } from '@upload-fleet/redis';

/** One API key: `name` is the owner of the deliveries created with it. */
export interface ApiKey {
  name: string;
  key: string;
}

export interface ApiConfig {
  port: number;
  host: string;
  apiKeys: ApiKey[];
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
  /** METRICS_TOKEN: when set, GET /metrics needs it as a bearer token; unset, /metrics is open. */
  metricsToken?: string;
}

/** What the entrypoint needs beyond the API's own settings: Redis and the encryption keys. */
export interface ApiServiceConfig extends ApiConfig {
  /** REDIS_URL when Redis is one server given by URL; `redis` describes every form. */
  redisUrl: string | undefined;
  /** REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (+ REDIS_TLS, REDIS_USERNAME, REDIS_PASSWORD). */
  redis: RedisConnectionConfig;
  redisPrefix: string;
  /** POOL_SHARDS: submits place uploads on the shards the workers consume. */
  poolShards: PoolShards;
  /** ENCRYPTION_KEYS as given (checked here, parsed by SecretBox.fromConfig). */
  encryptionKeys: string;
  /** Attempts per upload, the first included; set on each job at enqueue time. */
  maxAttempts: number;
  /** OAuth clients of the connect flow (auth_secret) and PUBLIC_BASE_URL; none configured by default. */
  oauth: OAuthSettings;
  /** LOG_LEVEL, for the entrypoint's logger. */
  logLevel: LogLevel;
  /** ALLOWED_PRIVATE_HOSTS, as the workers read it: other blocked address literals are refused at submit (400). */
  allowedPrivateHosts: string[];
}

const MIB = 1024 * 1024;
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_BODY_LIMIT_BYTES = 1 * MIB;
export const MIN_API_KEY_LENGTH = 16;
const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * API_KEYS: comma-separated `name:key` entries, or a bare `key` (named "default"). A name
 * may appear more than once (two keys of one owner while a key rotates). Problems name the
 * entry by its position and name, never by the key itself.
 */
export function parseApiKeys(value: string): Reading<ApiKey[]> {
  const entries = value.split(',').map((entry) => entry.trim());
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const problem = (message: string) => void problems.push(message);
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1}`;
    if (entry === '') return problem(`${where} is empty: remove the extra comma`);
    const colon = entry.indexOf(':');
    const name = colon === -1 ? 'default' : entry.slice(0, colon);
    const key = colon === -1 ? entry : entry.slice(colon + 1);
    if (!KEY_NAME.test(name)) problem(`${where}: the name must be 1-64 letters, digits, "_", "." or "-"`);
    if (key.length < MIN_API_KEY_LENGTH) problem(`${where} (${name}): the key must be at least ${MIN_API_KEY_LENGTH} characters`);
    if (/\s/.test(key)) problem(`${where} (${name}): the key must not contain whitespace`);
    if (keys.some((k) => k.key === key)) problem(`${where} (${name}): the same key is listed twice`);
    keys.push({ name, key });
  });
  if (keys.length === 0) problem('API_KEYS must list at least one key');
  return problems.length > 0 ? refuse(...problems) : accept(keys);
}

/** The API's own settings. */
export const apiSettings = settingGroup(
  portSetting('PORT', { default: DEFAULT_PORT }),
  stringSetting('HOST', { default: DEFAULT_HOST }),
  customSetting('API_KEYS', {
    required: 'API_KEYS is required: comma-separated "name:key" entries (keys of at least 16 characters)',
    secret: true,
    parse: parseApiKeys,
  }),
  integerSetting('BODY_LIMIT_BYTES', { default: DEFAULT_BODY_LIMIT_BYTES, min: 1024, max: 100 * MIB, unit: 'bytes' }),
  stringSetting('METRICS_TOKEN', { minLength: MIN_API_KEY_LENGTH, secret: true }),
);

function toApiConfig(env: ValuesOf<typeof apiSettings>): ApiConfig {
  return { port: env.PORT, host: env.HOST, apiKeys: env.API_KEYS, bodyLimitBytes: env.BODY_LIMIT_BYTES, ...(env.METRICS_TOKEN ? { metricsToken: env.METRICS_TOKEN } : {}) };
}

/** The API's settings from the environment (PORT, HOST, API_KEYS, BODY_LIMIT_BYTES, METRICS_TOKEN). */
export const apiConfig = defineConfig({ label: 'API', settings: apiSettings, build: toApiConfig });
export const apiConfigSchema = apiConfig.schema;

/** The API process: its own settings plus the shared ones (Redis, encryption keys, attempts, OAuth, log level). */
export const apiServiceSettings = {
  ...apiSettings,
  ...redisEnvSettings,
  ENCRYPTION_KEYS,
  UPLOAD_MAX_ATTEMPTS,
  ...oauthEnvSettings,
  LOG_LEVEL,
  ALLOWED_PRIVATE_HOSTS,
};

export const apiServiceConfig = defineConfig({
  label: 'API',
  settings: apiServiceSettings,
  check(env, raw) {
    const problems = [...oauthProblems(env), ...redisProblems(env, raw, { required: true, destinationTypes: DESTINATION_TYPES })];
    const connectable = enabledOAuthProviders(oauthSettingsOf(env)).length > 0;
    if (connectable && !env.PUBLIC_BASE_URL) {
      problems.push({ setting: 'PUBLIC_BASE_URL', message: 'PUBLIC_BASE_URL is required when an OAuth client is configured: the external URL of this API, for the connect flow\'s redirect URIs' });
    }
    return problems;
  },
  build: (env): ApiServiceConfig => ({
    ...toApiConfig(env),
    redisUrl: env.REDIS_URL,
    redis: redisConfigOf(env)!,
    redisPrefix: env.REDIS_PREFIX,
    poolShards: env.POOL_SHARDS,
    encryptionKeys: env.ENCRYPTION_KEYS,
    maxAttempts: env.UPLOAD_MAX_ATTEMPTS,
    oauth: oauthSettingsOf(env),
    logLevel: env.LOG_LEVEL,
    allowedPrivateHosts: env.ALLOWED_PRIVATE_HOSTS,
  }),
});
export const apiServiceConfigSchema = apiServiceConfig.schema;

/** Parses the environment; throws one ConfigError that lists every problem. For entrypoints only. */
export function loadApiConfig(env: Env): ApiConfig {
  return apiConfig.load(env);
}

/** Like loadApiConfig, plus Redis and encryption settings; what `main.ts` runs on. */
export function loadApiServiceConfig(env: Env): ApiServiceConfig {
  return apiServiceConfig.load(env);
}
