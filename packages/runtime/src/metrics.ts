import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one process (a worker, the API, or the all-in-one fleet).
 *
 * Every process gets its own `Registry`: nothing is registered on prom-client's global
 * default registry, so two fleets in one test process (or a fleet and an API) never clash
 * over a metric name. Names and labels are listed in docs/operations.md.
 *
 * Label values are bounded sets: destination types, error codes of the taxonomy, queue
 * names, states. Never a job id, a delivery token or a URL (one series per job would
 * grow without end, and URLs can carry credentials).
 */

/**
 * The queue states `upload_fleet_jobs` reports, as BullMQ's `getJobCounts` names them. No
 * "paused": the jobs of a paused queue are counted as waiting (BullMQ 6 has no paused list).
 */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

/** Why an upload that was ready to run did not start: a fleet-wide limit, or the platform said so. */
export type DeferralReason = 'window' | 'concurrency' | 'paused' | 'platform';

export type WebhookOutcome = 'delivered' | 'failed' | 'retrying';

/** What `upload_fleet_jobs` reads on each scrape: a BullMQ Queue fits. */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

export interface MetricsOptions {
  /** The queues whose job counts are read on each scrape (the pools of this process and the webhook queue). */
  queues?: () => CountableQueue[];
  /** Whether this process's Redis connection is up (`upload_fleet_redis_up`). */
  redisUp?: () => boolean;
  /** prom-client's process metrics (CPU, memory, event loop lag, GC); default true. */
  defaultMetrics?: boolean;
  /** Labels on every series, like `{ service: 'worker' }`. */
  defaultLabels?: Record<string, string>;
  /** A queue whose counts take longer than this (Redis down: commands wait for the reconnect) is left out of the scrape; default 1000. */
  jobCountsTimeoutMs?: number;
}

/** What the upload processor and the webhook sender record. */
export interface FleetMetrics {
  readonly registry: Registry;
  /** One upload completed: its bytes and how long the attempt took. */
  uploadCompleted(destination: string, bytes: number, seconds: number): void;
  /** One upload failed for good (no attempt left, or a permanent error). */
  uploadFailed(destination: string, code: string, seconds: number): void;
  /** One attempt failed and will be retried after a backoff. */
  uploadRetried(destination: string, code: string, seconds: number): void;
  /** An upload was put back in the delayed set by a rate limit, without using an attempt. */
  uploadDeferred(destination: string, reason: DeferralReason): void;
  webhook(outcome: WebhookOutcome): void;
  /** The Prometheus text exposition of every metric, job counts read fresh. */
  render(): Promise<string>;
  readonly contentType: string;
}

/** Upload durations from seconds to hours: small files to fast buckets, big ones to slow platforms. */
const DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];

export function createMetrics(options: MetricsOptions = {}): FleetMetrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const queues = options.queues;
  const jobCountsTimeoutMs = options.jobCountsTimeoutMs ?? 1_000;
  new Gauge({
    name: 'upload_fleet_jobs',
    help: 'Jobs in each queue by state (BullMQ getJobCounts), read at scrape time.',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      this.reset();
      if (!queues) return;
      // A scrape while Redis is down answers without job counts rather than failing or
      // hanging: the connection queues commands until it is back (maxRetriesPerRequest: null).
      const counts = await Promise.all(queues().map(async (queue) => ({ queue: queue.name, counts: await withTimeout(queue.getJobCounts(...JOB_STATES), jobCountsTimeoutMs) })));
      for (const { queue, counts: byState } of counts) {
        if (!byState) continue;
        for (const state of JOB_STATES) this.set({ queue, state }, byState[state] ?? 0);
      }
    },
  });
  const redisUp = options.redisUp;
  new Gauge({
    name: 'upload_fleet_redis_up',
    help: '1 while this process is connected to Redis, 0 otherwise.',
    registers,
    collect() {
      if (redisUp) this.set(redisUp() ? 1 : 0);
    },
  });

  const completed = new Counter({ name: 'upload_fleet_uploads_completed_total', help: 'Uploads completed, by destination type.', labelNames: ['destination'], registers });
  const failed = new Counter({
    name: 'upload_fleet_uploads_failed_total',
    help: 'Uploads failed for good (permanent error or no attempt left), by destination type and error code.',
    labelNames: ['destination', 'code'],
    registers,
  });
  const bytes = new Counter({ name: 'upload_fleet_uploaded_bytes_total', help: 'Bytes of completed uploads, by destination type.', labelNames: ['destination'], registers });
  const duration = new Histogram({
    name: 'upload_fleet_upload_duration_seconds',
    help: 'Duration of upload attempts, by destination type and outcome (completed, failed, retried).',
    labelNames: ['destination', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: 'upload_fleet_upload_retries_total',
    help: 'Upload attempts that failed and will be retried after a backoff, by destination type and error code.',
    labelNames: ['destination', 'code'],
    registers,
  });
  const deferrals = new Counter({
    name: 'upload_fleet_rate_limit_deferrals_total',
    help: 'Uploads deferred without using an attempt, by destination type and reason (window, concurrency, paused: a fleet-wide limit; platform: the destination said to slow down).',
    labelNames: ['destination', 'reason'],
    registers,
  });
  const webhooks = new Counter({
    name: 'upload_fleet_webhooks_total',
    help: 'Webhook attempts by outcome: delivered, retrying (will be sent again), failed (given up).',
    labelNames: ['outcome'],
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    uploadCompleted(destination, size, seconds) {
      completed.inc({ destination });
      bytes.inc({ destination }, size);
      duration.observe({ destination, outcome: 'completed' }, seconds);
    },
    uploadFailed(destination, code, seconds) {
      failed.inc({ destination, code });
      duration.observe({ destination, outcome: 'failed' }, seconds);
    },
    uploadRetried(destination, code, seconds) {
      retries.inc({ destination, code });
      duration.observe({ destination, outcome: 'retried' }, seconds);
    },
    uploadDeferred(destination, reason) {
      deferrals.inc({ destination, reason });
    },
    webhook(outcome) {
      webhooks.inc({ outcome });
    },
    render: () => registry.metrics(),
  };
}


/** The promise's value, or undefined when it fails or takes longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)));
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
