import {
  accept,
  booleanSetting,
  customSetting,
  defineConfig,
  enumSetting,
  LOG_LEVEL,
  portSetting,
  refuse,
  settingGroup,
  stringSetting,
  type Env,
  type LogLevel,
  type Reading,
} from '@upload-fleet/core/settings';
import type { PoolShards } from '@upload-fleet/core';
import { DESTINATION_TYPES } from '@upload-fleet/destinations/definitions';
import { redisConfigOf, redisEnvSettings, redisProblems, type RedisConnectionConfig } from '@upload-fleet/redis';

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
  /** POOL_SHARDS, as the API and the workers read it: every shard's queue is shown. */
  poolShards: PoolShards;
  port: number;
  host: string;
  auth: DashboardAuth;
  /** True (the default): no retry, clean, promote or remove; false allows exactly those. */
  readOnly: boolean;
  /** Path the dashboard is served under, like "/" or "/dashboard". */
  basePath: string;
  /** LOG_LEVEL, for the entrypoint's logger. */
  logLevel: LogLevel;
}

export const DEFAULT_DASHBOARD_PORT = 8082;
export const DEFAULT_DASHBOARD_HOST = '0.0.0.0';
export const MIN_DASHBOARD_PASSWORD_LENGTH = 12;
const USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/**
 * DASHBOARD_USERS: comma-separated `name:password` entries (the password is everything
 * after the first colon, so it may hold colons but not commas). Problems name the entry by
 * position and name, never by its password.
 */
export function parseDashboardUsers(value: string): Reading<DashboardUser[]> {
  const users: DashboardUser[] = [];
  const problems: string[] = [];
  const problem = (message: string) => void problems.push(message);
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
  return problems.length > 0 ? refuse(...problems) : accept(users);
}

/** The dashboard's own settings plus the shared ones: Redis (the same as the API's and the workers') and LOG_LEVEL. */
export const dashboardSettings = {
  ...redisEnvSettings,
  ...settingGroup(
    portSetting('DASHBOARD_PORT', { default: DEFAULT_DASHBOARD_PORT }),
    stringSetting('DASHBOARD_HOST', { default: DEFAULT_DASHBOARD_HOST }),
    stringSetting('DASHBOARD_BASE_PATH', { default: '/', pattern: { regex: /^\/[A-Za-z0-9/_-]*$/, must: 'be a path like "/" or "/dashboard"' } }),
    enumSetting('DASHBOARD_AUTH', { values: ['basic', 'none'], default: 'basic' }),
    customSetting('DASHBOARD_USERS', { secret: true, parse: parseDashboardUsers }),
    booleanSetting('DASHBOARD_READ_ONLY', { default: true }),
  ),
  LOG_LEVEL,
};

export const dashboardConfig = defineConfig({
  label: 'dashboard',
  settings: dashboardSettings,
  check(env, raw) {
    const problems = redisProblems(env, raw, { required: true, destinationTypes: DESTINATION_TYPES });
    if (env.DASHBOARD_AUTH === 'basic' && (env.DASHBOARD_USERS ?? []).length === 0) {
      problems.push({
        setting: 'DASHBOARD_USERS',
        message:
          'the dashboard will not start without logins: set DASHBOARD_USERS to comma-separated "name:password" entries ' +
          `(passwords of at least ${MIN_DASHBOARD_PASSWORD_LENGTH} characters), or set DASHBOARD_AUTH=none to run it open on purpose`,
      });
    }
    return problems;
  },
  build: (env): DashboardConfig => ({
    redisUrl: env.REDIS_URL,
    redis: redisConfigOf(env)!,
    redisPrefix: env.REDIS_PREFIX,
    poolShards: env.POOL_SHARDS,
    port: env.DASHBOARD_PORT,
    host: env.DASHBOARD_HOST,
    auth: env.DASHBOARD_AUTH === 'none' ? { type: 'none' } : { type: 'basic', users: env.DASHBOARD_USERS ?? [] },
    readOnly: env.DASHBOARD_READ_ONLY,
    basePath: env.DASHBOARD_BASE_PATH,
    logLevel: env.LOG_LEVEL,
  }),
});

export const dashboardEnvSchema = dashboardConfig.schema;

/** Parses the environment; throws one ConfigError that lists every problem. For entrypoints only. */
export function loadDashboardConfig(env: Env): DashboardConfig {
  return dashboardConfig.load(env);
}
