import type { JobsOptions } from 'bullmq';

const DAY_SECONDS = 24 * 60 * 60;

/** How long finished BullMQ jobs are kept; the delivery record outlives them. */
export interface RetentionOptions {
  /** Completed jobs are kept this long (seconds) and at most this many per queue. */
  completedAgeSeconds: number;
  completedCount: number;
  /** Failed jobs are kept longer so they can be inspected and retried. */
  failedAgeSeconds: number;
  failedCount: number;
}

export const DEFAULT_RETENTION: RetentionOptions = {
  completedAgeSeconds: 7 * DAY_SECONDS,
  completedCount: 10_000,
  failedAgeSeconds: 30 * DAY_SECONDS,
  failedCount: 50_000,
};

/** How long a delivery's status stays readable after its creation. */
export const DEFAULT_DELIVERY_TTL_SECONDS = 30 * DAY_SECONDS;

/** The job options that bound how long BullMQ keeps a finished job. */
export function removalOptions(retention: RetentionOptions): Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> {
  return {
    removeOnComplete: { age: retention.completedAgeSeconds, count: retention.completedCount },
    removeOnFail: { age: retention.failedAgeSeconds, count: retention.failedCount },
  };
}
