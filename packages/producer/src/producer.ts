import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import {
  DEFAULT_PREFIX,
  ERROR_CATALOG,
  type ErrorCode,
  type SerializedFleetError,
  WEBHOOK_QUEUE,
  uploadQueueName,
  uploadsOf,
  validateDeliveryRequest,
  type DeliveryRequest,
  type DeliveryState,
  type DeliveryStatus,
  type DestinationType,
  type FinalUploadRecord,
  type SecretBox,
  type UploadJobData,
  type UploadProgress,
  type UploadResult,
  type UploadStatus,
} from '@upload-fleet/core';
import { DeliveryStore, type DeliveryMeta, type DeliveryRecord } from './delivery-store.js';
import { DeliveryForbiddenError, DeliveryNotFoundError, IdempotencyConflictError, ValidationFailedError } from './errors.js';
import { buildJobData, fingerprintOf } from './job-data.js';

const DAY_SECONDS = 24 * 60 * 60;

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

export interface ProducerOptions {
  /** An ioredis connection; the producer does not close it. */
  connection: Redis | Cluster;
  /** Key prefix of every queue and record (default "upload-fleet"); use a hash tag on Redis Cluster. */
  prefix?: string;
  /** Encrypts the secret fields of every job before it reaches Redis. */
  secretBox: SecretBox;
  /** Attempts per upload, the first included (default 5). */
  maxAttempts?: number;
  retention?: RetentionOptions;
  /** How long a delivery's status stays readable (default 30 days). */
  deliveryTtlSeconds?: number;
  /** Attempts to deliver a webhook (default 8, exponential backoff from 10 s). */
  webhookAttempts?: number;
  /** First webhook retry delay; doubles each time (default 10 s). */
  webhookBackoffMs?: number;
  /** Connection errors of the queues (Redis down); without it BullMQ prints them to stderr. */
  onError?: (error: Error) => void;
}

export interface WebhookJobData {
  token: string;
  url: string;
  generation: number;
}

export interface EnqueueOptions {
  /** Who submits: the API key's name. Idempotency keys and status reads are scoped to it. */
  owner?: string;
}

export interface EnqueueResult {
  token: string;
  /** False when an earlier request with the same idempotency_key already created the delivery. */
  created: boolean;
  uploads: { index: number; type: DestinationType; job_id: string }[];
}

export interface CancelResult {
  cancelled: number[];
  /** Uploads that had already started or ended, which a cancel does not stop. */
  not_cancelled: { index: number; state: string }[];
}

export interface RetryResult {
  retried: number[];
  not_retried: { index: number; state: string; reason?: string }[];
}

export interface WaitOptions {
  /** Called whenever the status changes (progress, state). */
  onProgress?: (status: DeliveryStatus) => void;
  timeoutMs?: number;
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

/** How long a second request with the same idempotency_key waits for the first to finish enqueueing. */
const IDEMPOTENT_WAIT_MS = 5_000;

/**
 * The producer library: what a render pipeline imports to submit deliveries and read
 * their state. The HTTP API is a thin layer over it.
 */
export class Producer {
  readonly prefix: string;
  private readonly store: DeliveryStore;
  private readonly queues = new Map<DestinationType, Queue<UploadJobData, UploadResult>>();
  private readonly maxAttempts: number;
  private readonly retention: RetentionOptions;
  private readonly webhookAttempts: number;
  private readonly webhookBackoffMs: number;
  private webhooks: Queue<WebhookJobData> | undefined;

  constructor(private readonly options: ProducerOptions) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.retention = options.retention ?? DEFAULT_RETENTION;
    this.webhookAttempts = options.webhookAttempts ?? 8;
    this.webhookBackoffMs = options.webhookBackoffMs ?? 10_000;
    this.store = new DeliveryStore(options.connection, this.prefix, options.deliveryTtlSeconds ?? 30 * DAY_SECONDS);
  }

  get deliveries(): DeliveryStore {
    return this.store;
  }

  /** The BullMQ queue of a destination type (created on first use). */
  queue(type: DestinationType): Queue<UploadJobData, UploadResult> {
    let queue = this.queues.get(type);
    if (!queue) {
      queue = new Queue<UploadJobData, UploadResult>(uploadQueueName(type), { connection: this.options.connection, prefix: this.prefix });
      queue.on('error', (error) => this.options.onError?.(error));
      this.queues.set(type, queue);
    }
    return queue;
  }

  /**
   * Validates a delivery request, encrypts its secrets and enqueues one job per upload.
   * Throws ValidationFailedError (nothing enqueued) or IdempotencyConflictError.
   */
  async enqueue(input: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const validation = validateDeliveryRequest(input);
    if (!validation.ok) throw new ValidationFailedError(validation.problems);
    const request = validation.value;
    const owner = options.owner ?? 'default';
    const fingerprint = fingerprintOf(request);

    let token = newDeliveryToken();
    let created = true;
    if (request.idempotency_key) {
      const keyHash = createHash('sha256').update(request.idempotency_key).digest('hex');
      const claim = await this.store.claimIdempotencyKey(owner, keyHash, token);
      if (!claim.claimed) {
        const existing = await this.waitForEnqueued(claim.token);
        if (existing && existing.meta.fingerprint !== fingerprint) throw new IdempotencyConflictError(claim.token);
        if (existing && (await this.store.isEnqueued(claim.token))) {
          return { token: claim.token, created: false, uploads: existing.meta.uploads.map(({ index, type, job_id }) => ({ index, type, job_id })) };
        }
        // The first request died half-way: finish its work with the same token. Job ids are
        // deterministic, so jobs it did add are not added twice.
        token = claim.token;
        created = false;
      }
    }

    const meta = this.metaFor(token, owner, fingerprint, request);
    // A take-over keeps the record the first request wrote (its created_at).
    if (created || !(await this.store.read(token))) await this.store.create(meta);
    const uploads = uploadsOf(request);
    const added = await Promise.allSettled(
      uploads.map((upload, index) => {
        const data = buildJobData(token, index, request, upload, this.options.secretBox);
        return this.queue(upload.destination.type).add(`upload-${upload.destination.type}`, data, this.jobOptions(jobIdOf(token, index)));
      }),
    );
    const failure = added.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failure) {
      // All or nothing: a client that saw an error must not find half a delivery running.
      await this.rollBack(token, meta, request.idempotency_key ? createHash('sha256').update(request.idempotency_key).digest('hex') : undefined).catch(() => undefined);
      throw failure.reason;
    }
    await this.store.markEnqueued(token);
    return { token, created, uploads: meta.uploads.map(({ index, type, job_id }) => ({ index, type, job_id })) };
  }

  /** The state of every upload of a delivery. Throws DeliveryNotFoundError / DeliveryForbiddenError. */
  async get(token: string, options: EnqueueOptions = {}): Promise<DeliveryStatus> {
    const record = await this.readOwned(token, options.owner);
    const uploads = await Promise.all(record.meta.uploads.map((u) => this.uploadStatus(record, u)));
    return summarize(record, uploads);
  }

  /** Cancels the uploads that have not started yet. */
  async cancel(token: string, options: EnqueueOptions = {}): Promise<CancelResult> {
    const record = await this.readOwned(token, options.owner);
    const result: CancelResult = { cancelled: [], not_cancelled: [] };
    for (const upload of record.meta.uploads) {
      const final = record.finals.get(upload.index);
      if (final) {
        result.not_cancelled.push({ index: upload.index, state: final.state });
        continue;
      }
      const job = await this.queue(upload.type).getJob(upload.job_id);
      const state = job ? await job.getState() : 'unknown';
      if (!job || !['waiting', 'delayed', 'prioritized', 'waiting-children'].includes(state)) {
        result.not_cancelled.push({ index: upload.index, state: publicState(state) });
        continue;
      }
      try {
        // remove() refuses a job that a worker has just locked, so a started upload is never cut off.
        await job.remove();
      } catch {
        result.not_cancelled.push({ index: upload.index, state: 'active' });
        continue;
      }
      result.cancelled.push(upload.index);
      await this.finishUpload(token, upload.index, {
        state: 'cancelled',
        attempts: job.attemptsMade,
        finished_at: new Date().toISOString(),
      });
    }
    return result;
  }

  /** Re-queues the failed uploads of a delivery (each gets a fresh set of attempts). */
  async retry(token: string, options: EnqueueOptions = {}): Promise<RetryResult> {
    const record = await this.readOwned(token, options.owner);
    const result: RetryResult = { retried: [], not_retried: [] };
    const retriable: { index: number; job: Job<UploadJobData, UploadResult>; final: FinalUploadRecord }[] = [];
    for (const upload of record.meta.uploads) {
      const final = record.finals.get(upload.index);
      if (final?.state !== 'failed') {
        const state = final?.state ?? (await this.uploadStatus(record, upload)).state;
        result.not_retried.push({ index: upload.index, state, reason: 'only failed uploads are retried' });
        continue;
      }
      const job = await this.queue(upload.type).getJob(upload.job_id);
      if (!job || (await job.getState()) !== 'failed') {
        result.not_retried.push({ index: upload.index, state: 'failed', reason: 'the failed job has expired from retention; submit the delivery again' });
        continue;
      }
      retriable.push({ index: upload.index, job, final });
    }
    // Reopen first so that a fast worker's outcome lands in the new generation; put the
    // failed record back for any job BullMQ refuses to retry.
    await this.store.reopen(token, retriable.map((r) => r.index));
    for (const { index, job, final } of retriable) {
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        result.retried.push(index);
      } catch (error) {
        await this.store.restoreFinal(token, index, final);
        result.not_retried.push({ index, state: 'failed', reason: `could not be re-queued: ${(error as Error).message}` });
      }
    }
    return result;
  }

  /** Resolves when every upload has ended (completed, failed or cancelled); reports changes on the way. */
  async waitFor(token: string, options: WaitOptions = {}): Promise<DeliveryStatus> {
    const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Infinity;
    let last = '';
    for (;;) {
      options.signal?.throwIfAborted();
      const status = await this.get(token);
      const snapshot = JSON.stringify(status);
      if (snapshot !== last) {
        last = snapshot;
        options.onProgress?.(status);
      }
      if (isFinished(status.state)) return status;
      if (Date.now() > deadline) throw new Error(`Delivery ${token} did not finish within ${options.timeoutMs} ms (state: ${status.state}).`);
      await sleep(options.pollIntervalMs ?? 500, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }

  /**
   * Records how an upload ended. When that ends the whole delivery and it has a
   * callback_url, the webhook is enqueued (once per delivery generation).
   */
  async finishUpload(token: string, index: number, record: FinalUploadRecord): Promise<void> {
    const generation = await this.store.recordFinal(token, index, record);
    if (generation === 0) return;
    const delivery = await this.store.read(token);
    if (!delivery?.meta.callback_url) return;
    await this.store.recordWebhook(token, { state: 'pending', attempts: 0 });
    await this.webhookQueue().add(
      'webhook',
      { token, url: delivery.meta.callback_url, generation },
      {
        jobId: `${token}-webhook-${generation}`,
        attempts: this.webhookAttempts,
        backoff: { type: 'exponential', delay: this.webhookBackoffMs, jitter: 0.5 },
        removeOnComplete: { age: this.retention.completedAgeSeconds, count: this.retention.completedCount },
        removeOnFail: { age: this.retention.failedAgeSeconds, count: this.retention.failedCount },
      },
    );
  }

  /** The queue of webhook deliveries (callback_url), retried on its own schedule. */
  webhookQueue(): Queue<WebhookJobData> {
    if (!this.webhooks) {
      this.webhooks = new Queue<WebhookJobData>(WEBHOOK_QUEUE, { connection: this.options.connection, prefix: this.prefix });
      this.webhooks.on('error', (error) => this.options.onError?.(error));
    }
    return this.webhooks;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values(), ...(this.webhooks ? [this.webhooks] : [])].map((q) => q.close()));
    this.queues.clear();
    this.webhooks = undefined;
  }

  private jobOptions(jobId: string): JobsOptions {
    return {
      jobId,
      attempts: this.maxAttempts,
      // The worker's backoff strategy reads the error (Retry-After, rate limits); see runtime/retry-policy.
      backoff: { type: 'fleet' },
      removeOnComplete: { age: this.retention.completedAgeSeconds, count: this.retention.completedCount },
      removeOnFail: { age: this.retention.failedAgeSeconds, count: this.retention.failedCount },
      stackTraceLimit: 5,
    };
  }

  private metaFor(token: string, owner: string, fingerprint: string, request: DeliveryRequest): DeliveryMeta {
    return {
      token,
      owner,
      created_at: new Date().toISOString(),
      ...(request.callback_url ? { callback_url: request.callback_url } : {}),
      ...(request.metadata ? { metadata: request.metadata } : {}),
      fingerprint,
      uploads: uploadsOf(request).map((upload, index) => ({
        index,
        type: upload.destination.type,
        queue: uploadQueueName(upload.destination.type),
        job_id: jobIdOf(token, index),
      })),
    };
  }

  private async rollBack(token: string, meta: DeliveryMeta, idempotencyKeyHash: string | undefined): Promise<void> {
    await Promise.all(meta.uploads.map(async (u) => (await this.queue(u.type).getJob(u.job_id))?.remove()));
    await this.store.delete(token);
    if (idempotencyKeyHash) await this.store.releaseIdempotencyKey(meta.owner, idempotencyKeyHash, token);
  }

  private async waitForEnqueued(token: string): Promise<DeliveryRecord | undefined> {
    const deadline = Date.now() + IDEMPOTENT_WAIT_MS;
    for (;;) {
      const record = await this.store.read(token);
      if ((record && (await this.store.isEnqueued(token))) || Date.now() > deadline) return record;
      await sleep(25);
    }
  }

  private async readOwned(token: string, owner: string | undefined): Promise<DeliveryRecord> {
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(token)) throw new DeliveryNotFoundError(token);
    const record = await this.store.read(token);
    if (!record) throw new DeliveryNotFoundError(token);
    if (owner !== undefined && record.meta.owner !== owner) throw new DeliveryForbiddenError(token);
    return record;
  }

  private async uploadStatus(record: DeliveryRecord, upload: DeliveryMeta['uploads'][number]): Promise<UploadStatus> {
    const base = { index: upload.index, type: upload.type, job_id: upload.job_id, max_attempts: this.maxAttempts };
    const final = record.finals.get(upload.index);
    if (final) return { ...base, ...fromFinal(final) };

    const job = await this.queue(upload.type).getJob(upload.job_id);
    if (!job) return { ...base, state: 'queued', attempts: 0 };
    base.max_attempts = job.opts.attempts ?? this.maxAttempts;
    const state = await job.getState();
    // attemptsMade counts the attempts that ended (failed, retried or done); a run handed back
    // at shutdown or deferred by a rate limit does not count (moveToDelayed skips it), so the
    // running attempt is attemptsMade + 1: the number its log lines carry ("attempt 1 of 5").
    // attemptsStarted would count every hand-back too.
    const attempts = job.attemptsMade;
    const progress = asProgress(job.progress);
    switch (state) {
      case 'active':
        return { ...base, state: 'active', attempts: attempts + 1, ...(progress ? { progress } : {}) };
      case 'delayed': {
        const deferral = record.deferrals.get(upload.index);
        return {
          ...base,
          state: 'deferred',
          attempts,
          run_at: deferral?.run_at ?? new Date(job.timestamp + job.delay).toISOString(),
          deferred_reason: deferral?.reason ?? 'retry_backoff',
          ...(deferral?.limit_key ? { limit_key: deferral.limit_key } : {}),
          ...(deferral?.error ? { error: deferral.error } : {}),
          ...(progress ? { progress } : {}),
        };
      }
      case 'completed':
        // The job was read a moment before it completed: report it as still running.
        if (!job.returnvalue) return { ...base, state: 'active', attempts, ...(progress ? { progress } : {}) };
        // The worker writes the final record right after; until then the job says it.
        return { ...base, ...fromFinal({ state: 'completed', result: job.returnvalue, attempts, finished_at: new Date(job.finishedOn ?? Date.now()).toISOString() }) };
      case 'failed':
        // The worker writes the final record right after failing the job; until then,
        // read the code back from the failure reason ("[UF_CODE] message").
        return { ...base, state: 'failed', attempts, error: errorFromFailedReason(job.failedReason) };
      default:
        return { ...base, state: 'queued', attempts };
    }
  }
}

export function jobIdOf(token: string, index: number): string {
  // BullMQ job ids may not contain ":"; "-" keeps them readable in the dashboard.
  return `${token}-${index}`;
}

function newDeliveryToken(): string {
  return `dlv_${randomBytes(16).toString('base64url')}`;
}

function fromFinal(final: FinalUploadRecord): Omit<UploadStatus, 'index' | 'type' | 'job_id' | 'max_attempts'> {
  switch (final.state) {
    case 'completed':
      return { state: 'completed', attempts: final.attempts, upload: final.result.url, result: final.result, finished_at: final.finished_at };
    case 'failed':
      return { state: 'failed', attempts: final.attempts, error: final.error, finished_at: final.finished_at };
    case 'cancelled':
      return { state: 'cancelled', attempts: final.attempts, finished_at: final.finished_at };
  }
}

function asProgress(value: unknown): UploadProgress | undefined {
  if (value && typeof value === 'object' && 'bytes_sent' in value && 'bytes_total' in value) return value as UploadProgress;
  return undefined;
}

function errorFromFailedReason(reason: string): SerializedFleetError {
  const match = /^\[(UF_[A-Z_]+)\] ([\s\S]*)$/.exec(reason ?? '');
  const code = match && match[1]! in ERROR_CATALOG ? (match[1] as ErrorCode) : 'UF_UNKNOWN';
  return { code, category: ERROR_CATALOG[code].category, message: match ? match[2]! : (reason || 'The upload failed.') };
}

function publicState(state: string): string {
  return state === 'unknown' ? 'expired' : state;
}

function isFinished(state: DeliveryState): boolean {
  return state === 'completed' || state === 'failed' || state === 'partially_failed' || state === 'cancelled';
}

function summarize(record: DeliveryRecord, uploads: UploadStatus[]): DeliveryStatus {
  const states = uploads.map((u) => u.state);
  const ended = states.every((s) => s === 'completed' || s === 'failed' || s === 'cancelled');
  let state: DeliveryState;
  if (!ended) state = states.every((s) => s === 'queued') ? 'pending' : 'in_progress';
  else if (states.every((s) => s === 'completed')) state = 'completed';
  else if (states.every((s) => s === 'cancelled')) state = 'cancelled';
  else if (states.some((s) => s === 'completed')) state = 'partially_failed';
  else state = 'failed';

  const single = uploads.length === 1 ? uploads[0] : undefined;
  return {
    token: record.meta.token,
    state,
    created_at: record.meta.created_at,
    ...(single?.state === 'completed' ? { upload: single.upload ?? null, ...(single.result ? { result: single.result } : {}) } : {}),
    uploads,
    ...(record.meta.metadata ? { metadata: record.meta.metadata } : {}),
    ...(record.webhook ? { webhook: record.webhook } : {}),
  };
}
