import { z } from 'zod';
import { DEFAULT_PREFIX, SecretBox } from '@upload-fleet/core';
import { OAUTH_PROVIDERS, addOAuthEnvIssues, oauthEnvShape, oauthSettingsOf, traitsOf, type OAuthSettings } from '@upload-fleet/credentials';
import { addRedisEnvIssues, redisConfigOf, redisEnvShape, type RedisConnectionConfig } from '@upload-fleet/redis';

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
  /** ENCRYPTION_KEYS as given (checked here, parsed by SecretBox.fromConfig). */
  encryptionKeys: string;
  /** Attempts per upload, the first included; set on each job at enqueue time. */
  maxAttempts: number;
  /** OAuth clients of the connect flow (auth_secret) and PUBLIC_BASE_URL; none configured by default. */
  oauth: OAuthSettings;
  /** ALLOWED_PRIVATE_HOSTS, as the workers read it: other blocked address literals are refused at submit (400). */
  allowedPrivateHosts: string[];
}

const MIB = 1024 * 1024;
export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_BODY_LIMIT_BYTES = 1 * MIB;
export const MIN_API_KEY_LENGTH = 16;
const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** An empty variable counts as unset, so `PORT=` falls back to the default. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

const envInt = (name: string, fallback: number, min: number, max: number) =>
  z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^\d+$/, `${name} must be a whole number`)
      .transform(Number)
      .pipe(z.number().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`))
      .default(fallback),
  );

/**
 * API_KEYS: comma-separated `name:key` entries, or a bare `key` (named "default"). A name
 * may appear more than once (two keys of one owner while a key rotates). Problems name the
 * entry by its position and name, never by the key itself.
 */
export const apiKeysSchema = z
  .string({ error: 'API_KEYS is required: comma-separated "name:key" entries (keys of at least 16 characters)' })
  .transform((value, ctx): ApiKey[] => {
    const entries = value.split(',').map((entry) => entry.trim());
    const keys: ApiKey[] = [];
    const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
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
    return keys;
  });

const apiEnvShape = {
  PORT: envInt('PORT', DEFAULT_PORT, 0, 65535),
  HOST: z.preprocess(unsetIfEmpty, z.string().default(DEFAULT_HOST)),
  API_KEYS: z.preprocess(unsetIfEmpty, apiKeysSchema),
  BODY_LIMIT_BYTES: envInt('BODY_LIMIT_BYTES', DEFAULT_BODY_LIMIT_BYTES, 1024, 100 * MIB),
  METRICS_TOKEN: z.preprocess(unsetIfEmpty, z.string().min(MIN_API_KEY_LENGTH, `METRICS_TOKEN must be at least ${MIN_API_KEY_LENGTH} characters`).optional()),
};

function toApiConfig(env: z.output<z.ZodObject<typeof apiEnvShape>>): ApiConfig {
  return { port: env.PORT, host: env.HOST, apiKeys: env.API_KEYS, bodyLimitBytes: env.BODY_LIMIT_BYTES, ...(env.METRICS_TOKEN ? { metricsToken: env.METRICS_TOKEN } : {}) };
}

/** The API's settings from the environment (PORT, HOST, API_KEYS, BODY_LIMIT_BYTES). */
export const apiConfigSchema = z.object(apiEnvShape).transform(toApiConfig);

/** The API's settings plus the shared ones the entrypoint needs (REDIS_URL, REDIS_PREFIX, ENCRYPTION_KEYS). */
export const apiServiceConfigSchema = z
  .object({
    ...apiEnvShape,
    // Before REDIS_PREFIX: the hash-tag check on a cluster sees this schema's default.
    ...redisEnvShape,
    REDIS_PREFIX: z.preprocess(unsetIfEmpty, z.string().default(DEFAULT_PREFIX)),
    UPLOAD_MAX_ATTEMPTS: envInt('UPLOAD_MAX_ATTEMPTS', 5, 1, 100),
    ENCRYPTION_KEYS: z.preprocess(
      unsetIfEmpty,
      z.string({ error: 'ENCRYPTION_KEYS is required: comma-separated "id:base64key" entries, newest first' }).superRefine((value, ctx) => {
        try {
          SecretBox.fromConfig(value);
        } catch (error) {
          // SecretBox's messages name the entry and the length, never the key.
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }),
    ),
    ...oauthEnvShape,
    ALLOWED_PRIVATE_HOSTS: z.string().default(''),
  })
  .superRefine((env, ctx) => {
    addOAuthEnvIssues(env, ctx);
    addRedisEnvIssues(env, ctx, { required: true });
    const connectable = OAUTH_PROVIDERS.some((provider) => (env as Record<string, unknown>)[`${traitsOf(provider).env}_CLIENT_ID`]);
    if (connectable && !env.PUBLIC_BASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['PUBLIC_BASE_URL'], message: 'PUBLIC_BASE_URL is required when an OAuth client is configured: the external URL of this API, for the connect flow\'s redirect URIs' });
    }
  })
  .transform(
    (env): ApiServiceConfig => ({
      ...toApiConfig(env),
      redisUrl: env.REDIS_URL,
      redis: redisConfigOf(env)!,
      redisPrefix: env.REDIS_PREFIX,
      encryptionKeys: env.ENCRYPTION_KEYS,
      maxAttempts: env.UPLOAD_MAX_ATTEMPTS,
      oauth: oauthSettingsOf(env),
      allowedPrivateHosts: env.ALLOWED_PRIVATE_HOSTS.split(',').map((h) => h.trim()).filter(Boolean),
    }),
  );

/** Parses the environment; throws one Error that lists every problem. For entrypoints only. */
export function loadApiConfig(env: Record<string, string | undefined>): ApiConfig {
  return parseEnv(apiConfigSchema, env);
}

/** Like loadApiConfig, plus Redis and encryption settings; what `main.ts` runs on. */
export function loadApiServiceConfig(env: Record<string, string | undefined>): ApiServiceConfig {
  return parseEnv(apiServiceConfigSchema, env);
}

function parseEnv<T extends z.ZodType>(schema: T, env: Record<string, string | undefined>): z.output<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  // Issues carry only our messages: zod 4 does not put the input into them, so no key leaks.
  const lines = parsed.error.issues.map((issue) => `  - ${issue.path.map(String).join('.') || '(env)'}: ${issue.message}`);
  throw new Error(`Invalid API configuration (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
}
