import { z } from 'zod';
import { DEFAULT_PREFIX } from '@upload-fleet/core';
import { addRedisEnvIssues, redisConfigOf, redisEnvShape, type RedisConnectionConfig } from '@upload-fleet/redis';

/** One dashboard login (HTTP Basic). */
export interface DashboardUser {
  name: string;
  password: string;
}

/**
 * Who may open the dashboard. `none` must be asked for explicitly (DASHBOARD_AUTH=none):
 * the dashboard is never open by default.
 */
export type DashboardAuth = { type: 'basic'; users: DashboardUser[] } | { type: 'none' };

/** What `main.ts` (and the all-in-one fleet) start the dashboard with. */
export interface DashboardConfig {
  /** REDIS_URL when Redis is one server; `redis` has every form (cluster, sentinel). */
  redisUrl: string | undefined;
  redis: RedisConnectionConfig;
  redisPrefix: string;
  port: number;
  host: string;
  auth: DashboardAuth;
  /** True (the default): no retry, clean, promote or remove; false allows exactly those. */
  readOnly: boolean;
  /** Path the dashboard is served under, like "/" or "/dashboard". */
  basePath: string;
}

export const DEFAULT_DASHBOARD_PORT = 8082;
export const DEFAULT_DASHBOARD_HOST = '0.0.0.0';
export const MIN_DASHBOARD_PASSWORD_LENGTH = 12;
const USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** An empty variable counts as unset, so `DASHBOARD_PORT=` falls back to the default. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

/**
 * DASHBOARD_USERS: comma-separated `name:password` entries (the password is everything
 * after the first colon, so it may hold colons but not commas). Problems name the entry by
 * position and name, never by its password.
 */
export const dashboardUsersSchema = z.string().transform((value, ctx): DashboardUser[] => {
  const users: DashboardUser[] = [];
  const problem = (message: string) => ctx.addIssue({ code: 'custom', message });
  value.split(',').forEach((raw, i) => {
    const entry = raw.trim();
    const where = `entry ${i + 1}`;
    if (entry === '') return problem(`${where} is empty: remove the extra comma`);
    const colon = entry.indexOf(':');
    if (colon <= 0) return problem(`${where} must look like "name:password"`);
    const name = entry.slice(0, colon);
    const password = entry.slice(colon + 1);
    if (!USER_NAME.test(name)) problem(`${where}: the name must be 1-64 letters, digits, "_", ".", "@" or "-"`);
    if (password.length < MIN_DASHBOARD_PASSWORD_LENGTH) problem(`${where} (${name}): the password must be at least ${MIN_DASHBOARD_PASSWORD_LENGTH} characters`);
    if (users.some((u) => u.name === name)) problem(`${where} (${name}): the name is listed twice`);
    users.push({ name, password });
  });
  return users;
});

const booleanFlag = (name: string, fallback: boolean) =>
  z.preprocess(
    unsetIfEmpty,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: `${name} must be "true" or "false"` })
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .default(fallback),
  );

export const dashboardEnvSchema = z
  .object({
    // REDIS_URL, or REDIS_CLUSTER_NODES / REDIS_SENTINELS: the same settings as the API and workers.
    ...redisEnvShape,
    REDIS_PREFIX: z.preprocess(unsetIfEmpty, z.string().default(DEFAULT_PREFIX)),
    DASHBOARD_PORT: z.preprocess(
      unsetIfEmpty,
      z
        .string()
        .regex(/^\d+$/, 'DASHBOARD_PORT must be a whole number')
        .transform(Number)
        .pipe(z.number().max(65535, 'DASHBOARD_PORT must be at most 65535'))
        .default(DEFAULT_DASHBOARD_PORT),
    ),
    DASHBOARD_HOST: z.preprocess(unsetIfEmpty, z.string().default(DEFAULT_DASHBOARD_HOST)),
    DASHBOARD_BASE_PATH: z.preprocess(
      unsetIfEmpty,
      z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'DASHBOARD_BASE_PATH must be a path like "/" or "/dashboard"').default('/'),
    ),
    DASHBOARD_AUTH: z.preprocess(
      unsetIfEmpty,
      z.enum(['basic', 'none'], { error: 'DASHBOARD_AUTH must be "basic" (the default) or "none"' }).default('basic'),
    ),
    DASHBOARD_USERS: z.preprocess(unsetIfEmpty, dashboardUsersSchema.optional()),
    DASHBOARD_READ_ONLY: booleanFlag('DASHBOARD_READ_ONLY', true),
  })
  .superRefine((env, ctx) => {
    if (env.DASHBOARD_AUTH === 'basic' && (env.DASHBOARD_USERS ?? []).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['DASHBOARD_USERS'],
        message:
          'the dashboard will not start without logins: set DASHBOARD_USERS to comma-separated "name:password" entries ' +
          `(passwords of at least ${MIN_DASHBOARD_PASSWORD_LENGTH} characters), or set DASHBOARD_AUTH=none to run it open on purpose`,
      });
    }
  })
  // Runs even when other fields failed, so a missing Redis is listed with every other problem.
  .superRefine((env, ctx) => addRedisEnvIssues(env, ctx, { required: true }), { when: () => true })
  .transform(
    (env): DashboardConfig => ({
      redisUrl: env.REDIS_URL,
      redis: redisConfigOf(env)!,
      redisPrefix: env.REDIS_PREFIX,
      port: env.DASHBOARD_PORT,
      host: env.DASHBOARD_HOST,
      auth: env.DASHBOARD_AUTH === 'none' ? { type: 'none' } : { type: 'basic', users: env.DASHBOARD_USERS ?? [] },
      readOnly: env.DASHBOARD_READ_ONLY,
      basePath: env.DASHBOARD_BASE_PATH,
    }),
  );

/** Parses the environment; throws one Error that lists every problem. For entrypoints only. */
export function loadDashboardConfig(env: Record<string, string | undefined>): DashboardConfig {
  const parsed = dashboardEnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  // zod 4 does not put the input into its issues, so no password reaches the message.
  const lines = parsed.error.issues.map((issue) => `  - ${issue.path.map(String).join('.') || '(env)'}: ${issue.message}`);
  throw new Error(`Invalid dashboard configuration (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
}
