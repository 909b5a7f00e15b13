/**
 * Entrypoint of the HTTP API: the only file that reads process.env. Exits non-zero with
 * every configuration problem listed when the environment is wrong.
 */
import { SecretBox, createLogger } from '@upload-fleet/core';
import { DESTINATION_TYPES } from '@upload-fleet/destinations/definitions';
import { CredentialStore } from '@upload-fleet/credentials';
import { Producer } from '@upload-fleet/producer';
import { redisConnectionFromConfig } from '@upload-fleet/redis';
import { listenError } from '@upload-fleet/runtime/port-check';
import { createMetrics } from '@upload-fleet/runtime/metrics';
import { loadApiServiceConfig, type ApiServiceConfig } from './config.js';
import { redisAvailability, redisReadiness } from './readiness.js';
import { buildApi } from './server.js';

const READINESS_TIMEOUT_MS = 2_000;

let config: ApiServiceConfig;
try {
  config = loadApiServiceConfig(process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel });
// A single server, Sentinel or a cluster, failing fast (role "client"): while Redis is away a
// request gets a 503 at once, and no command waits offline to run after the client gave up.
const connection = redisConnectionFromConfig({ ...config.redis, prefix: config.redisPrefix }, 'client');
connection.on('error', (error: Error) => logger.warn({ err: error }, 'redis connection error'));
const secretBox = SecretBox.fromConfig(config.encryptionKeys);
const producer = new Producer({
  connection,
  prefix: config.redisPrefix,
  secretBox,
  maxAttempts: config.maxAttempts,
  poolShards: config.poolShards,
  // A URL whose host is a blocked address literal gets a 400 at once (the worker checks again).
  allowedPrivateHosts: config.allowedPrivateHosts,
  onError: (error) => logger.warn({ err: error.message }, 'queue connection error'),
});

// Job counts of every upload queue and the webhook queue: the API sees the whole fleet.
const metrics = createMetrics({
  queues: () => [...DESTINATION_TYPES.flatMap((type) => producer.shardQueues(type)), producer.webhookQueue()],
  redisUp: () => connection.status === 'ready',
  defaultLabels: { service: 'api' },
});

const app = buildApi({
  producer,
  apiKeys: config.apiKeys,
  logger,
  bodyLimitBytes: config.bodyLimitBytes,
  // Always given, so credentials stay visible and deletable when an OAuth client is removed.
  connect: { store: new CredentialStore({ connection, prefix: config.redisPrefix, secretBox }), oauth: config.oauth },
  readiness: redisReadiness(connection, READINESS_TIMEOUT_MS),
  redisAvailable: redisAvailability(connection),
  metrics,
  ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
});

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down: finishing requests in flight');
  try {
    await app.close();
    await producer.close();
    await connection.quit();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
// `on`, not `once`: a second signal while closing must not kill the process half-way.
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  await app.listen({ port: config.port, host: config.host });
} catch (error) {
  const named = listenError({ setting: 'PORT', port: config.port, host: config.host }, error);
  logger.error({ err: named.message }, 'could not listen');
  console.error(named.message);
  process.exit(1);
}
