import type { Worker } from 'bullmq';
import { createNetworkGuard, type Logger } from '@upload-fleet/core';
import { createCredentialProvider, enabledOAuthProviders } from '@upload-fleet/credentials';
import { loadAdapters, type DestinationAdapter } from '@upload-fleet/destinations';
import { Producer } from '@upload-fleet/producer';
import { redisConnectionFromConfig } from '@upload-fleet/redis';
import type { WorkerConfig } from './config.js';
import { assertNoEviction } from './redis-checks.js';
import { unconfiguredCredentials } from './credentials/unconfigured.js';
import { AccountKeys, FleetLimiter } from './limits/index.js';
import { createMetrics, type FleetMetrics } from './metrics.js';
import { fileCallsInEffect } from './sources/file-calls.js';
import { createUploadPool, type UploadPool } from './upload-pool.js';
import { ABORT_SHUTDOWN } from './upload-processor.js';
import { createWebhookWorker } from './webhooks.js';

export interface WorkerFleet {
  readonly pools: UploadPool[];
  readonly producer: Producer;
  /** This process's Prometheus registry and counters; serve `metrics.render()` at /metrics. */
  readonly metrics: FleetMetrics;
  /** False while Redis is unreachable or the fleet is draining. */
  isReady(): boolean;
  /**
   * Stops taking jobs, lets active uploads finish for up to the grace period, then aborts
   * the rest (they checkpoint and go back to the queue without using an attempt), and
   * closes the Redis connection.
   */
  close(): Promise<void>;
}

export interface WorkerFleetOptions {
  /** Labels on every metric series of this process, like `{ service: 'worker' }`. */
  metricsLabels?: Record<string, string>;
}

/** Starts the pools named in the configuration, plus the webhook sender, on one Redis connection. */
export async function startWorkerFleet(config: WorkerConfig, logger: Logger, options: WorkerFleetOptions = {}): Promise<WorkerFleet> {
  const redis = config.redis ?? (config.redisUrl ? { url: config.redisUrl } : undefined);
  if (!redis) throw new Error('No Redis is configured: set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (with REDIS_SENTINEL_NAME).');
  // A single server, a Sentinel primary or a cluster; a cluster prefix whose braces make no hash tag is refused here.
  const connection = redisConnectionFromConfig({ ...redis, prefix: config.prefix });
  let redisUp = false;
  connection.on('ready', () => (redisUp = true));
  connection.on('close', () => (redisUp = false));
  connection.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));

  try {
    await assertNoEviction(connection);
  } catch (error) {
    connection.disconnect();
    throw error;
  }
  redisUp = connection.status === 'ready';

  const network = createNetworkGuard({ allowedPrivateHosts: config.allowedPrivateHosts });
  const producer = new Producer({
    connection,
    prefix: config.prefix,
    secretBox: config.secretBox,
    maxAttempts: config.maxAttempts,
    webhookAttempts: config.webhookMaxAttempts,
    webhookBackoffMs: config.webhookBackoffMs,
    // Deliveries submitted through this producer (`pnpm start`'s API) are refused at once
    // when they name a blocked address literal; the guard below checks every connection.
    allowedPrivateHosts: config.allowedPrivateHosts,
    ...(config.poolShards ? { poolShards: config.poolShards } : {}),
    ...(config.finalRecordReplicas
      ? {
          finalRecordReplicas: {
            ...config.finalRecordReplicas,
            onShortfall: (token: string, acknowledged: number) =>
              logger.warn({ delivery: token, replicas: acknowledged, wanted: config.finalRecordReplicas!.replicas }, 'a final record reached fewer replicas than FINAL_RECORD_REPLICAS in time; a failover of its master now could run the upload again'),
          },
        }
      : {}),
    onError: (error) => logger.warn({ err: error.message }, 'queue connection error'),
  });

  const limiter = new FleetLimiter({ connection, prefix: config.prefix, rules: config.limitRules, leaseTtlMs: config.leaseTtlMs });
  // Which channel a credential uploads to does not change often; a day is plenty.
  const accountKeys = new AccountKeys(connection, config.prefix, 24 * 60 * 60);
  // auth_secret credentials: refreshed once per credential fleet-wide (packages/credentials).
  const credentials =
    config.oauth && enabledOAuthProviders(config.oauth).length > 0
      ? createCredentialProvider({ connection, prefix: config.prefix, secretBox: config.secretBox, oauth: config.oauth, logger })
      : unconfiguredCredentials;

  // Job counts of this process's pools and of the webhook queue, read at scrape time.
  const metrics = createMetrics({
    queues: () => [...config.pools.flatMap(({ type }) => producer.shardQueues(type)), producer.webhookQueue()],
    redisUp: () => redisUp,
    ...(options.metricsLabels ? { defaultLabels: options.metricsLabels } : {}),
  });

  // Only the SDKs of this process's pools are loaded.
  const adapters = await loadAdapters(
    config.pools.map((pool) => pool.type),
    config.destinations,
  );
  const pools = config.pools.map(({ type, concurrency }) => {
    const adapter = adapters[type] as DestinationAdapter | undefined;
    if (!adapter) throw new Error(`No adapter is registered for the "${type}" pool.`);
    return createUploadPool({
      adapter,
      concurrency,
      connection,
      prefix: config.prefix,
      outcomes: producer.outcomes,
      secretBox: config.secretBox,
      sourceRoot: config.sourceRoot,
      sourceFileCalls: config.sourceFileCalls,
      network,
      credentials,
      limiter,
      accountKeys,
      leaseTtlMs: config.leaseTtlMs,
      logger,
      backoff: config.backoff,
      uploadTimeoutMs: config.uploadTimeoutMs,
      checkpointTtlSeconds: config.checkpointTtlSeconds,
      defaultRateLimitDelayMs: config.defaultRateLimitDelayMs,
      lockDurationMs: config.lockDurationMs,
      stalledIntervalMs: config.stalledIntervalMs,
      maxStalledCount: config.maxStalledCount,
      ...(config.poolShards ? { poolShards: config.poolShards } : {}),
      metrics,
    });
  });
  const webhookWorker = createWebhookWorker({ connection, prefix: config.prefix, status: producer.status, outcomes: producer.outcomes, secret: config.webhookSecret, network, timeoutMs: config.webhookTimeoutMs, logger, metrics });
  const workers: Worker[] = [...pools.flatMap((p) => p.workers as Worker[]), webhookWorker];
  for (const worker of workers) void worker.run();
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const sourceFileCalls = await fileCallsInEffect(config.sourceRoot, config.sourceFileCalls ?? 'auto');
  logger.info({ pools: config.pools, pool_shards: config.poolShards ?? {}, source_file_calls: sourceFileCalls }, 'worker pools started');

  let draining = false;
  let closing: Promise<void> | undefined;
  return {
    pools,
    producer,
    metrics,
    isReady: () => redisUp && !draining,
    close() {
      closing ??= (async () => {
        draining = true;
        logger.info({ grace_ms: config.shutdownGraceMs }, 'shutting down: no new jobs; waiting for active uploads');
        const abortTimer = setTimeout(() => {
          logger.warn('grace period over: aborting active uploads (they resume elsewhere)');
          for (const worker of pools.flatMap((p) => p.workers)) worker.cancelAllJobs(ABORT_SHUTDOWN);
        }, config.shutdownGraceMs);
        try {
          await Promise.all(workers.map((w) => w.close()));
        } finally {
          clearTimeout(abortTimer);
          await producer.close();
          await connection.quit().catch(() => connection.disconnect());
        }
        logger.info('worker pools closed');
      })();
      return closing;
    },
  };
}
