/**
 * Worker process: runs the pools named in WORKER_POOLS (default: all) against REDIS_URL,
 * with liveness, readiness and Prometheus metrics on HEALTH_PORT. One Kubernetes Deployment per pool sets
 * WORKER_POOLS to that pool.
 */
import { createLogger } from '@upload-fleet/core';
import { assertPortsFree, listenError, startHealthServer, startWorkerFleet, workerConfig, type WorkerProcessConfig } from '@upload-fleet/runtime';

/** How long past SHUTDOWN_GRACE_MS a stuck shutdown may take before the process exits regardless. */
const SHUTDOWN_MARGIN_MS = 5_000;

let config: WorkerProcessConfig;
try {
  config = workerConfig({ requireRedis: true }).load(process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel, base: { service: 'upload-fleet-worker', pid: process.pid } });

async function main(): Promise<void> {
  const healthPort = { setting: 'HEALTH_PORT', port: config.health.port, host: config.health.host };
  // Before the pools start: a worker that took jobs and then could not listen would abandon them.
  await assertPortsFree([healthPort]);
  const fleet = await startWorkerFleet(config, logger, { metricsLabels: { service: 'worker' } });
  const health = await startHealthServer(healthPort.port, healthPort.host, fleet.isReady, fleet.metrics).catch(async (error: unknown) => {
    await fleet.close();
    throw listenError(healthPort, error);
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'signal received');
    // Once: a repeated signal (a second Ctrl-C) must not restart or kill the drain.
    if (stopping) return;
    stopping = true;
    // Closing waits for Redis (moving jobs, releasing locks). If Redis is gone it could wait
    // for ever: after the grace period and a margin, exit anyway; the jobs' locks expire and
    // other workers take them over.
    setTimeout(() => {
      logger.error({ grace_ms: config.shutdownGraceMs }, 'shutdown did not finish (is Redis reachable?); exiting anyway');
      process.exit(1);
    }, config.shutdownGraceMs + SHUTDOWN_MARGIN_MS).unref();
    void fleet
      .close()
      .then(() => new Promise((resolve) => health.close(resolve)))
      .then(
        () => process.exit(0),
        (error: Error) => {
          logger.error({ err: error.message }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: Error) => {
  logger.fatal({ err: error.message }, 'worker failed to start');
  console.error(error.message);
  process.exit(1);
});
