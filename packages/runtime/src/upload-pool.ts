import { MetricsTime, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { keyLayoutOf, shardsOf, type Logger, type PoolShards, type UploadJobData, type UploadResult } from '@upload-fleet/core';
import type { DestinationAdapter } from '@upload-fleet/destinations';
import { retryDelayMs } from './retry-policy.js';
import { ABORT_LOCK_LOST, createUploadProcessor, RetryableUploadError, type UploadProcessorOptions } from './upload-processor.js';

export interface UploadPoolOptions extends Omit<UploadProcessorOptions, 'adapter'> {
  adapter: DestinationAdapter;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** A job whose worker died this many times fails instead of looping forever. */
  maxStalledCount: number;
  /** POOL_SHARDS: the pool consumes each of its shards (one queue each). Unset: one. */
  poolShards?: PoolShards;
  logger: Logger;
}

/**
 * The workers of one destination type in this process: a BullMQ Worker on each shard of
 * that type's queue (one for a pool never split). The pool's concurrency is shared out
 * over its shards (rounded up, at least one each), so WORKER_CONCURRENCY still bounds
 * the uploads of a pod; the jobs of one shard are those of its destination accounts
 * (DeliveryQueues.shardOf).
 */
export interface UploadPool {
  readonly type: string;
  readonly workers: Worker<UploadJobData, UploadResult>[];
}

export function createUploadPool(options: UploadPoolOptions): UploadPool {
  const processor = createUploadProcessor(options);
  const layout = keyLayoutOf(options.connection, options.prefix);
  const type = options.adapter.type;
  const shards = shardsOf(options.poolShards ?? {}, type);
  const concurrency = Math.max(1, Math.ceil(options.concurrency / shards.length));
  const workers = shards.map((shard) => shardWorker({ ...options, concurrency }, processor, layout.queueName(type, shard), layout.queuePrefix(type, shard)));
  return { type, workers };
}

function shardWorker(options: UploadPoolOptions, processor: ReturnType<typeof createUploadProcessor>, queueName: string, prefix: string): Worker<UploadJobData, UploadResult> {
  const worker = new Worker<UploadJobData, UploadResult>(queueName, processor, {
    connection: options.connection as Redis,
    prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    maxStalledCount: options.maxStalledCount,
    autorun: false,
    // Completed and failed counts per minute for the last hour: the console's throughput
    // and failure rate per pool (queue.getMetrics; https://docs.bullmq.io/guide/metrics).
    metrics: { maxDataPoints: MetricsTime.ONE_HOUR },
    settings: {
      // The processor computed the delay already (it knows Retry-After); anything else
      // that reaches here (rare: errors BullMQ itself raised) gets the standard curve.
      backoffStrategy: (attemptsMade, _type, error) =>
        error instanceof RetryableUploadError ? error.delayMs : retryDelayMs(attemptsMade, {}, options.backoff),
    },
  });

  // BullMQ keeps renewing the lock of a long upload by itself. If a renewal fails, another
  // worker may already own the job: stop uploading now rather than write twice.
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const id of jobIds) {
      options.logger.warn({ job_id: id, destination: options.adapter.type }, 'lost the job lock; aborting the upload');
      worker.cancelJob(id, ABORT_LOCK_LOST);
    }
  });
  worker.on('error', (error) => options.logger.error({ destination: options.adapter.type, err: error.message }, 'worker error'));
  worker.on('stalled', (jobId) => options.logger.warn({ job_id: jobId, destination: options.adapter.type }, 'job stalled (its worker died); it will run again'));
  return worker;
}
