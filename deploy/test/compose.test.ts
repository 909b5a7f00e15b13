/**
 * docker-compose.yml, checked statically (no Docker engine here): every app's environment,
 * with the `${VAR}` placeholders filled from deploy/compose.env.example, passes that app's
 * own configuration schema, and services, hosts and ports agree with each other.
 */
import { apiServiceConfigSchema } from '@upload-fleet/api';
import { loadDashboardConfig } from '@upload-fleet/dashboard';
import { DESTINATION_TYPES } from '@upload-fleet/destinations/definitions';
import { loadWorkerConfig, workerEnvSchema } from '@upload-fleet/runtime';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { IMAGE_APPS, SECRET_ENV, parseEnvFile, readRepoFile } from './repo.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
}

const rawCompose = readRepoFile('docker-compose.yml');
const compose = parseYaml(rawCompose, { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const envExample = parseEnvFile(readRepoFile('deploy/compose.env.example'));

/** Compose's interpolation: ${VAR}, ${VAR:?message}, ${VAR:-default}; $$ is a literal $. */
function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, rest: string) => {
    if (whole === '$$') return '$';
    const found = envExample[name!];
    if (found !== undefined && found !== '') return found;
    if (op === '-') return rest;
    throw new Error(`${name} is used by docker-compose.yml but deploy/compose.env.example does not set it`);
  });
}

/** A service's environment as the container sees it. */
function envOf(name: string): Record<string, string> {
  const service = services[name];
  if (!service) throw new Error(`docker-compose.yml has no service "${name}"`);
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, interpolate(String(value))]));
}

const containerPorts = (name: string): number[] => (services[name]?.ports ?? []).map((p) => Number(p.split(':').at(-1)));
const hostOf = (url: string): string => new URL(url).hostname;

describe('docker-compose.yml: each app gets what its configuration requires', () => {
  it('api: the environment passes apiServiceConfigSchema and the published port is PORT', () => {
    const parsed = apiServiceConfigSchema.safeParse(envOf('api'));
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(containerPorts('api')).toEqual([parsed.data!.port]);
    expect(services.api!.healthcheck!.test.join(' ')).toContain(`:${parsed.data!.port}/readyz`);
  });

  it('worker: the environment passes the worker schema and starts every pool', () => {
    const env = envOf('worker');
    const parsed = workerEnvSchema.safeParse(env);
    expect(parsed.error?.issues ?? []).toEqual([]);
    const config = loadWorkerConfig(env, undefined, '/app');
    expect(env.WORKER_POOLS).toBe('all');
    // "all" must mean every registered type, so a new destination is served by compose too.
    expect(config.pools.map((pool) => pool.type).sort()).toEqual([...DESTINATION_TYPES].sort());
    expect(services.worker!.healthcheck!.test.join(' ')).toContain(`:${env.HEALTH_PORT}/readyz`);
    // Compose's stop timeout must outlast the worker's own grace period.
    expect(Number.parseInt(services.worker!.stop_grace_period!, 10) * 1000).toBeGreaterThan(config.shutdownGraceMs);
  });

  it('dashboard: the environment passes loadDashboardConfig (logins required) and the published port is DASHBOARD_PORT', () => {
    const config = loadDashboardConfig(envOf('dashboard'));
    expect(config.auth.type).toBe('basic');
    expect(containerPorts('dashboard')).toEqual([config.port]);
    expect(services.dashboard!.healthcheck!.test.join(' ')).toContain(`:${config.port}/healthz`);
  });

  it('every app shares one Redis, prefix and encryption key set', () => {
    const apps = ['api', 'worker', 'dashboard'].map(envOf);
    for (const key of ['REDIS_URL', 'REDIS_PREFIX']) expect(new Set(apps.map((env) => env[key])).size, key).toBe(1);
    expect(envOf('api').ENCRYPTION_KEYS).toBe(envOf('worker').ENCRYPTION_KEYS);
  });
});

describe('docker-compose.yml: services and hosts agree', () => {
  it('runs api, worker and dashboard from the one image of deploy/Dockerfile, chosen by command', () => {
    for (const name of ['api', 'worker', 'dashboard']) {
      const service = services[name]!;
      expect(service.build).toEqual({ context: '.', dockerfile: 'deploy/Dockerfile' });
      expect(service.image).toBe(services.api!.image);
      expect(service.command).toEqual([name]);
      expect(IMAGE_APPS).toContain(name);
      expect(Object.keys(service.depends_on ?? {})).toContain('redis');
    }
  });

  it('REDIS_URL names the redis service, which runs Redis 7 with noeviction, AOF and a volume', () => {
    expect(hostOf(envOf('worker').REDIS_URL!)).toBe('redis');
    expect(new URL(envOf('worker').REDIS_URL!).port || '6379').toBe('6379');
    const redis = services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.command!.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(redis.command!.join(' ')).toContain('--appendonly yes');
    expect(redis.volumes!.some((v) => v.endsWith(':/data') && compose.volumes[v.split(':')[0]!] !== undefined)).toBe(true);
  });

  it('the worker reaches Azurite through AZURE_BLOB_ENDPOINT and may reach both stand-ins', () => {
    const env = envOf('worker');
    const endpoint = new URL(env.AZURE_BLOB_ENDPOINT!.replace('{account}', 'devstoreaccount1'));
    expect(endpoint.hostname).toBe('azurite');
    const azurite = services.azurite!;
    expect(azurite.command).toEqual(expect.arrayContaining(['--skipApiVersionCheck', '--disableTelemetry']));
    const blobPort = azurite.command![azurite.command!.indexOf('--blobPort') + 1];
    expect(endpoint.port).toBe(blobPort);
    expect(env.ALLOWED_PRIVATE_HOSTS!.split(',')).toEqual(expect.arrayContaining(['minio', 'azurite']));
  });

  it('MinIO stands in for S3 and a one-shot mc service creates the bucket', () => {
    expect(services.minio!.command).toContain('server');
    const init = services['minio-init']!;
    expect(init.image).toMatch(/^minio\/mc/);
    expect(init.depends_on?.minio?.condition).toBe('service_healthy');
    expect(init.entrypoint!.join(' ')).toMatch(/mc mb --ignore-existing/);
  });

  it('the worker reads sources from a mounted ./renders at SOURCE_ROOT', () => {
    const mounts = services.worker!.volumes ?? [];
    expect(mounts).toContain(`./renders:${envOf('worker').SOURCE_ROOT}:ro`);
  });

  it('takes every secret from .env, never a literal, and the example lists each one', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!(SECRET_ENV as readonly string[]).includes(key) && !key.endsWith('PASSWORD')) continue;
        if (key === 'REDIS_URL') continue; // compose's Redis has no password: the URL is not a secret here
        expect(String(value), `${name}.${key}`).toMatch(/^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$/);
      }
    }
    for (const [, name] of rawCompose.matchAll(/\$\{([A-Z0-9_]+)/g)) expect(envExample, `${name} in compose.env.example`).toHaveProperty(name!);
  });
});
