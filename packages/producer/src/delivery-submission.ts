import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsOptions } from 'bullmq';
import { uploadQueueName, type LiteralAddressCheck, type SecretBox } from '@upload-fleet/core';
import { expandDeliveryTemplates, uploadsOf, validateDeliveryRequest, type DeliveryRequest, type DestinationType } from '@upload-fleet/destinations/definitions';
import type { OwnerOptions } from './delivery-access.js';
import type { DeliveryIndex } from './delivery-index.js';
import type { DeliveryQueues } from './delivery-queues.js';
import type { DeliveryMeta, DeliveryRecord, DeliveryStore } from './delivery-store.js';
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

/** How long a second request with the same idempotency_key waits for the first to finish enqueueing. */
const IDEMPOTENT_WAIT_MS = 5_000;

/**
 * Submitting a delivery: validate, claim the idempotency key, write the delivery record and
 * add one job per upload, all or nothing.
 */
export class DeliverySubmitter {
  constructor(
    private readonly store: DeliveryStore,
    private readonly queues: DeliveryQueues,
    private readonly options: DeliverySubmitterOptions,
  ) {}

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
    const fingerprint = fingerprintOf(submitted);
    const keyHash = submitted.idempotency_key ? createHash('sha256').update(submitted.idempotency_key).digest('hex') : undefined;

    let token = newDeliveryToken();
    let created = true;
    // Filename templates are expanded once, before anything is written: the jobs hold the names.
    let request = withExpandedTemplates(input, submitted, token, now);
    if (keyHash) {
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
        request = withExpandedTemplates(input, submitted, token, now);
      }
    }

    const meta = metaFor(token, owner, fingerprint, request);
    // A take-over keeps the record the first request wrote (its created_at).
    const earlier = created ? undefined : await this.store.read(token);
    if (!earlier) await this.store.create(meta);
    const uploads = uploadsOf(request);
    const added = await Promise.allSettled(
      uploads.map((upload, index) => {
        const data = buildJobData(token, index, request, upload, this.options.secretBox);
        return this.queues.upload(upload.destination.type).add(`upload-${upload.destination.type}`, data, this.jobOptions(jobIdOf(token, index), jobPriorityOf(request)));
      }),
    );
    const failure = added.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failure) {
      // All or nothing: a client that saw an error must not find half a delivery running.
      await this.rollBack(token, meta, keyHash).catch(() => undefined);
      throw failure.reason;
    }
    // Listed for the console once every job is in, in the same round trip as the mark.
    await Promise.all([this.store.markEnqueued(token), this.options.index.add(token, owner, Date.parse(earlier?.meta.created_at ?? meta.created_at))]);
    return { token, created, uploads: meta.uploads.map(({ index, type, job_id }) => ({ index, type, job_id })) };
  }

  private jobOptions(jobId: string, priority: number): JobsOptions {
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

  private async rollBack(token: string, meta: DeliveryMeta, idempotencyKeyHash: string | undefined): Promise<void> {
    await Promise.all(meta.uploads.map(async (u) => (await this.queues.upload(u.type).getJob(u.job_id))?.remove()));
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
  return `dlv_${randomBytes(16).toString('base64url')}`;
}

function metaFor(token: string, owner: string, fingerprint: string, request: DeliveryRequest): DeliveryMeta {
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
