/**
 * `pnpm start`: the whole fleet in one process — the HTTP API, every worker pool and the
 * webhook sender — for a laptop or a small server. Without REDIS_URL it starts its own
 * redis-server in the local data folder; missing keys are generated and kept there too.
 * Production runs apps/api and apps/worker as separate processes instead.
 */
import { resolve } from 'node:path';
import { buildApi } from '@upload-fleet/api';
import { createLogger } from '@upload-fleet/core';
import { CredentialStore } from '@upload-fleet/credentials';
import { startDashboard } from '@upload-fleet/dashboard';
import { redisConnectionFromConfig, startEmbeddedRedis } from '@upload-fleet/redis';
import { assertPortsFree, listenError, startWorkerFleet } from '@upload-fleet/runtime';
import { loadFleetConfig, loadFleetParts, type FleetConfig } from './config.js';
import { makeEncryptionKeys, makeRandomSecret, settingFromFileOrNew } from './local-state.js';

let config: FleetConfig;
try {
  config = loadFleetConfig(process.env);
} catch (error) {
  console.error(`upload-fleet failed to start: ${(error as Error).message}`);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel, base: { service: 'upload-fleet' } });

/** How long past SHUTDOWN_GRACE_MS a stuck shutdown may take before the process exits regardless. */
const SHUTDOWN_MARGIN_MS = 5_000;

/**
 * What this process started, stopped in reverse order on every way out (a signal, or a
 * failed start): the pools drain through Redis, so the embedded Redis, started first, stops last.
 */
const running: { name: string; stop: () => Promise<void> }[] = [];
let stopping: Promise<void> | undefined;
/** SHUTDOWN_GRACE_MS once the configuration is read; a signal during the start uses the default. */
let shutdownGraceMs = 30_000;
const stopAll = () =>
  (stopping ??= (async () => {
    for (const part of running.splice(0).reverse()) {
      await part.stop().catch((error: Error) => logger.error({ err: error.message, part: part.name }, 'could not stop cleanly'));
    }
  })());

async function main(): Promise<void> {
  const env = { ...process.env };
  const dataDir = resolve(config.dataDir);

  for (const [name, file, make] of [
    ['ENCRYPTION_KEYS', 'encryption-keys', makeEncryptionKeys],
    ['WEBHOOK_SECRET', 'webhook-secret', makeRandomSecret],
    ['API_KEYS', 'api-key', makeRandomSecret],
    ['DASHBOARD_USERS', 'dashboard-users', () => `admin:${makeRandomSecret()}`],
  ] as const) {
    if (env[name]) continue;
    const setting = settingFromFileOrNew(dataDir, name, file, make);
    env[name] = setting.value;
    console.warn(`${name} is not set: using the one ${setting.created ? 'generated now and kept' : 'kept'} in ${setting.file}`);
  }

  if (!config.redis) {
    // adoptRunning: a fleet that was killed (SIGKILL) left its redis-server running on the
    // same files; use that one rather than start a second writer of the same AOF.
    const embedded = await startEmbeddedRedis({ dataDir: resolve(dataDir, 'redis'), port: config.embeddedRedisPort, adoptRunning: true });
    running.push({ name: 'embedded redis-server', stop: () => embedded.stop() });
    env.REDIS_URL = embedded.url;
    console.warn(`REDIS_URL is not set: using the embedded redis-server on ${embedded.url}, with its data in ${resolve(dataDir, 'redis')}`);
  }

  const { api: apiConfig, worker: workerConfig, dashboard: dashboardConfig } = loadFleetParts(env);
  shutdownGraceMs = workerConfig.shutdownGraceMs;
  const apiPort = { setting: 'PORT', port: apiConfig.port, host: apiConfig.host };
  const dashboardPort = { setting: 'DASHBOARD_PORT', port: dashboardConfig.port, host: dashboardConfig.host };
  // Before any pool starts: a fleet that took queued jobs and then could not listen would abandon them.
  await assertPortsFree([apiPort, dashboardPort]);

  const fleet = await startWorkerFleet(workerConfig, logger);
  running.push({ name: 'worker pools', stop: () => fleet.close() });

  // The connect flow (auth_secret) stores credentials where the pools' credential provider reads them.
  const credentialsConnection = redisConnectionFromConfig({ ...workerConfig.redis!, prefix: workerConfig.prefix });
  credentialsConnection.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis connection error'));
  running.push({ name: 'credentials connection', stop: async () => void credentialsConnection.disconnect() });
  const oauth = { ...workerConfig.oauth, publicBaseUrl: config.publicBaseUrl ?? `http://localhost:${apiConfig.port}` };
  const api = await buildApi({
    producer: fleet.producer,
    apiKeys: apiConfig.apiKeys,
    logger,
    bodyLimitBytes: apiConfig.bodyLimitBytes,
    connect: { store: new CredentialStore({ connection: credentialsConnection, prefix: workerConfig.prefix, secretBox: workerConfig.secretBox }), oauth },
    readiness: async () => ({ ready: fleet.isReady(), checks: { redis: fleet.isReady() ? 'ok' : 'unavailable' } }),
    // While Redis is away, requests get a 503 with Retry-After at once instead of waiting.
    redisAvailable: () => fleet.isReady(),
    // One process: the pools' counters and job counts are this API's /metrics.
    metrics: fleet.metrics,
    ...(apiConfig.metricsToken ? { metricsToken: apiConfig.metricsToken } : {}),
  });
  running.push({ name: 'API', stop: () => api.close() });
  await api.listen({ port: apiConfig.port, host: apiConfig.host }).catch((error: unknown) => {
    throw listenError(apiPort, error);
  });
  const dashboard = await startDashboard({ ...dashboardConfig, limitRules: workerConfig.limitRules, logger }).catch((error: unknown) => {
    throw (error as NodeJS.ErrnoException).code ? listenError(dashboardPort, error) : error;
  });
  running.push({ name: 'dashboard', stop: () => dashboard.close() });
  console.warn(`upload-fleet is running: API on http://localhost:${apiConfig.port} (OpenAPI at /openapi.json), pools: ${workerConfig.pools.map((p) => p.type).join(', ')}; sources are read from ${workerConfig.sourceRoot}`);
  console.warn(`Bull Board dashboard on ${dashboard.url} (logins: DASHBOARD_USERS, or the one kept in ${resolve(dataDir, 'dashboard-users')})`);
}

/**
 * Ctrl-C (SIGINT) drains exactly like SIGTERM: stop taking jobs, hand the active uploads
 * back with their checkpoints, then stop Redis. `process.on`, not `once`: a second signal
 * (a second Ctrl-C, or a runner relaying the first) must not kill the drain half-way. A
 * signal during the start stops what has started so far.
 */
const shutdown = (signal: NodeJS.Signals) => {
  if (stopping) {
    logger.info({ signal }, 'already shutting down: handing the active uploads back');
    return;
  }
  logger.info({ signal }, 'shutting down');
  // If Redis is unreachable, closing could wait for ever: exit after the grace period and a margin.
  setTimeout(() => {
    logger.error('shutdown did not finish (is Redis reachable?); exiting anyway');
    process.exit(1);
  }, shutdownGraceMs + SHUTDOWN_MARGIN_MS).unref();
  void stopAll().then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

main().catch(async (error: Error) => {
  console.error(`upload-fleet failed to start: ${error.message}`);
  await stopAll();
  process.exit(1);
});
