import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsOptions } from 'bullmq';
import { pooledRandomBytes, type LiteralAddressCheck, type SecretBox } from '@upload-fleet/core';
import { expandDeliveryTemplates, uploadsOf, validateDeliveryRequest, type DeliveryRequest, type DestinationType } from '@upload-fleet/destinations/definitions';
import type { OwnerOptions } from './delivery-access.js';
import type { DeliveryIndex } from './delivery-index.js';
import type { DeliveryQueues } from './delivery-queues.js';
import type { DeliveryMeta, DeliveryRecord, DeliveryStore } from './delivery-store.js';
import { DeliveryWriter } from './delivery-write.js';
import { IdempotencyConflictError, ValidationFailedError } from './errors.js';
import { buildJobData, fingerprintOf, jobPriorityOf } from './job-data.js';
import { removalOptions, type RetentionOptions } from './retention.js';

export type EnqueueOptions = OwnerOptions;

export interface EnqueueResult {
  token: string;
  /** False when an earlier request with the same idempotency_key already created the delivery. */
  created: boolean;
  uploads: { index: number; type: DestinationType; job_id: string }[];
}

export interface DeliverySubmitterOptions {
  /** Encrypts the secret fields of every job before it reaches Redis. */
  secretBox: SecretBox;
  /** Attempts per upload, the first included. */
  maxAttempts: number;
  retention: RetentionOptions;
  /** Refuses at submit time URLs whose host is a blocked IP literal; unset: left to the worker. */
  network?: LiteralAddressCheck;
  /** The list of deliveries the console reads, newest first. */
  index: DeliveryIndex;
}

/** The most deliveries one submitBatch call takes. */
export const MAX_BATCH_DELIVERIES = 100;

/** One delivery of a batch: enqueued (or an idempotent replay), or refused with its own error. */
export type BatchItemOutcome = { ok: true; result: EnqueueResult } | { ok: false; error: unknown };

/** How long a second request with the same idempotency_key waits for the first to finish enqueueing. */
const IDEMPOTENT_WAIT_MS = 5_000;

/**
 * Submitting a delivery: validate, claim the idempotency key, then write the delivery
 * record and one job per upload, all or nothing (DeliveryWriter: one round trip on one
 * server, three on a cluster; the claim is one more, before them).
 */
export class DeliverySubmitter {
  private readonly writer: DeliveryWriter;

  constructor(
    private readonly store: DeliveryStore,
    private readonly queues: DeliveryQueues,
    private readonly options: DeliverySubmitterOptions,
  ) {
    this.writer = new DeliveryWriter(store, queues, options.index);
  }

  /**
   * Validates a delivery request, encrypts its secrets and enqueues one job per upload.
   * Throws ValidationFailedError (nothing enqueued) or IdempotencyConflictError.
   */
  async enqueue(input: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const validation = validateDeliveryRequest(input, this.options.network ? { network: this.options.network } : {});
    if (!validation.ok) throw new ValidationFailedError(validation.problems);
    const submitted = validation.value;
    const now = new Date();
    const owner = options.owner ?? 'default';
    const keyHash = submitted.idempotency_key ? createHash('sha256').update(submitted.idempotency_key).digest('hex') : undefined;
    // Only a request that can be replayed needs one (its canonical JSON and hash cost as much as the validation).
    const fingerprint = keyHash ? fingerprintOf(submitted) : undefined;

    let token = newDeliveryToken();
    let created = true;
    // Filename templates are expanded once, before anything is written: the jobs hold the names.
    let request = withExpandedTemplates(input, submitted, token, now);
    if (keyHash) {
      const claim = await this.store.claimIdempotencyKey(owner, keyHash, token);
      if (!claim.claimed) {
        const existing = await this.waitForEnqueued(claim.token);
        if (existing && existing.meta.fingerprint !== fingerprint) throw new IdempotencyConflictError(claim.token);
        if (existing?.enqueued) {
          return { token: claim.token, created: false, uploads: existing.meta.uploads.map(({ index, type, job_id }) => ({ index, type, job_id })) };
        }
        // The first request died half-way: finish its work with the same token. Job ids are
        // deterministic, so jobs it did add are not added twice.
        token = claim.token;
        created = false;
        request = withExpandedTemplates(input, submitted, token, now);
      }
    }

    const earlier = created ? undefined : await this.store.read(token);
    // A take-over keeps the record the first request wrote (its created_at).
    const meta = earlier?.meta ?? metaFor(token, owner, fingerprint, request, this.queues);
    const jobs = uploadsOf(request).map((upload, index) => ({
      type: upload.destination.type,
      shard: meta.uploads[index]!.shard ?? 0,
      name: `upload-${upload.destination.type}`,
      data: buildJobData(token, index, request, upload, this.options.secretBox),
      opts: this.jobOptions(jobIdOf(token, index), jobPriorityOf(request)),
    }));
    try {
      await this.writer.write({ meta, jobs, createdAtMs: Date.parse(meta.created_at), keepRecord: earlier !== undefined });
    } catch (error) {
      // All or nothing: the writer removed what it wrote; the key is free for a new attempt.
      if (keyHash) await this.store.releaseIdempotencyKey(owner, keyHash, token).catch(() => undefined);
      throw error;
    }
    return { token, created, uploads: meta.uploads.map(({ index, type, job_id }) => ({ index, type, job_id })) };
  }

  /**
   * Submits up to MAX_BATCH_DELIVERIES deliveries, each on its own: one that is invalid or
   * fails does not stop the others, and each keeps every guarantee of `enqueue` (all or
   * nothing, idempotency). They go out together, so the batch costs about the round trips
   * of one delivery. Throws ValidationFailedError only when `inputs` is not such a list.
   */
  async enqueueBatch(inputs: unknown, options: EnqueueOptions = {}): Promise<BatchItemOutcome[]> {
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.length > MAX_BATCH_DELIVERIES) {
      throw new ValidationFailedError([{ path: 'deliveries', message: `deliveries must be a list of 1 to ${MAX_BATCH_DELIVERIES} delivery requests${Array.isArray(inputs) ? ` (got ${inputs.length}); split a longer list into several batches` : ''}` }]);
    }
    return Promise.all(
      inputs.map((input) =>
        this.enqueue(input, options).then(
          (result): BatchItemOutcome => ({ ok: true, result }),
          (error: unknown): BatchItemOutcome => ({ ok: false, error }),
        ),
      ),
    );
  }


  private jobOptions(jobId: string, priority: number): JobsOptions & { jobId: string } {
    return {
      jobId,
      priority,
      attempts: this.options.maxAttempts,
      // The worker's backoff strategy reads the error (Retry-After, rate limits); see runtime/retry-policy.
      backoff: { type: 'fleet' },
      ...removalOptions(this.options.retention),
      stackTraceLimit: 5,
    };
  }

  private async waitForEnqueued(token: string): Promise<DeliveryRecord | undefined> {
    const deadline = Date.now() + IDEMPOTENT_WAIT_MS;
    for (;;) {
      const record = await this.store.read(token);
      if (record?.enqueued || Date.now() > deadline) return record;
      await sleep(25);
    }
  }
}

/** The request with its filename templates expanded for `token`; a name the destination refuses is a 400. */
function withExpandedTemplates(input: unknown, submitted: DeliveryRequest, token: string, now: Date): DeliveryRequest {
  const expanded = expandDeliveryTemplates(input, submitted, { token, now });
  if (!expanded.ok) throw new ValidationFailedError(expanded.problems);
  return expanded.value;
}

export function jobIdOf(token: string, index: number): string {
  // BullMQ job ids may not contain ":"; "-" keeps them readable in the dashboard.
  return `${token}-${index}`;
}

function newDeliveryToken(): string {
  return `dlv_${pooledRandomBytes(16).toString('base64url')}`;
}

/**
 * The delivery record's metadata, with each upload's queue. A pool split into shards
 * (POOL_SHARDS) gets the upload on the shard of its destination account
 * (DeliveryQueues.shardOf); the shard is recorded, and cancel, retry and status find the
 * job there.
 */
function metaFor(token: string, owner: string, fingerprint: string | undefined, request: DeliveryRequest, queues: DeliveryQueues): DeliveryMeta {
  return {
    token,
    owner,
    created_at: new Date().toISOString(),
    ...(request.callback_url ? { callback_url: request.callback_url } : {}),
    ...(request.metadata ? { metadata: request.metadata } : {}),
    ...(fingerprint ? { fingerprint } : {}),
    uploads: uploadsOf(request).map((upload, index) => {
      const type = upload.destination.type;
      const shard = queues.shardOf(upload.destination);
      return { index, type, queue: queues.layout.queueName(type, shard), job_id: jobIdOf(token, index), ...(shard > 0 ? { shard } : {}) };
    }),
  };
}
