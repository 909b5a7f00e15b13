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
import { redisConnectionFromConfig, startEmbeddedRedis, type EmbeddedRedis } from '@upload-fleet/redis';
import { startWorkerFleet } from '@upload-fleet/runtime';
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

  let embedded: EmbeddedRedis | undefined;
  if (!config.redis) {
    // adoptRunning: a fleet that was killed (SIGKILL) left its redis-server running on the
    // same files; use that one rather than start a second writer of the same AOF.
    embedded = await startEmbeddedRedis({ dataDir: resolve(dataDir, 'redis'), port: config.embeddedRedisPort, adoptRunning: true });
    env.REDIS_URL = embedded.url;
    console.warn(`REDIS_URL is not set: using the embedded redis-server on ${embedded.url}, with its data in ${resolve(dataDir, 'redis')}`);
  }

  const { api: apiConfig, worker: workerConfig, dashboard: dashboardConfig } = loadFleetParts(env);
  const fleet = await startWorkerFleet(workerConfig, logger);

  // The connect flow (auth_secret) stores credentials where the pools' credential provider reads them.
  const credentialsConnection = redisConnectionFromConfig({ ...workerConfig.redis!, prefix: workerConfig.prefix });
  credentialsConnection.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis connection error'));
  const oauth = { ...workerConfig.oauth, publicBaseUrl: config.publicBaseUrl ?? `http://localhost:${apiConfig.port}` };
  const api = await buildApi({
    producer: fleet.producer,
    apiKeys: apiConfig.apiKeys,
    logger,
    bodyLimitBytes: apiConfig.bodyLimitBytes,
    connect: { store: new CredentialStore({ connection: credentialsConnection, prefix: workerConfig.prefix, secretBox: workerConfig.secretBox }), oauth },
    readiness: async () => ({ ready: fleet.isReady(), checks: { redis: fleet.isReady() ? 'ok' : 'unavailable' } }),
    // One process: the pools' counters and job counts are this API's /metrics.
    metrics: fleet.metrics,
    ...(apiConfig.metricsToken ? { metricsToken: apiConfig.metricsToken } : {}),
  });
  await api.listen({ port: apiConfig.port, host: apiConfig.host });
  const dashboard = await startDashboard({ ...dashboardConfig, logger });
  console.warn(`upload-fleet is running: API on http://localhost:${apiConfig.port} (OpenAPI at /openapi.json), pools: ${workerConfig.pools.map((p) => p.type).join(', ')}; sources are read from ${workerConfig.sourceRoot}`);
  console.warn(`Bull Board dashboard on ${dashboard.url} (logins: DASHBOARD_USERS, or the one kept in ${resolve(dataDir, 'dashboard-users')})`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // If Redis is unreachable, closing could wait for ever: exit after the grace period and a margin.
    setTimeout(() => {
      logger.error('shutdown did not finish (is Redis reachable?); exiting anyway');
      process.exit(1);
    }, workerConfig.shutdownGraceMs + 5_000).unref();
    await api.close();
    await dashboard.close();
    await fleet.close();
    credentialsConnection.disconnect();
    await embedded?.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: Error) => {
  console.error(`upload-fleet failed to start: ${error.message}`);
  process.exit(1);
});
