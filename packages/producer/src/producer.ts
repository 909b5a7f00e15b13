import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { DEFAULT_PREFIX, createNetworkGuard, type DeliveryStatus, type PoolShards, type SecretBox, type UploadJobData, type UploadResult } from '@upload-fleet/core';
import type { DestinationType } from '@upload-fleet/destinations/definitions';
import type { OwnerOptions } from './delivery-access.js';
import { DeliveryControl, type CancelResult, type RetryResult, type WebhookReplayResult } from './delivery-control.js';
import { DeliveryLog, type DeliveryListPage, type DeliveryListQuery } from './delivery-log.js';
import { DeliveryQueues, type WebhookJobData } from './delivery-queues.js';
import { DeliveryIndex } from './delivery-index.js';
import { DeliveryStore, type FinalRecordReplicas } from './delivery-store.js';
import { DeliverySubmitter, type BatchItemOutcome, type EnqueueOptions, type EnqueueResult } from './delivery-submission.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { DEFAULT_DELIVERY_TTL_SECONDS, DEFAULT_RETENTION, type RetentionOptions } from './retention.js';
import { StatusProjection, type WaitOptions } from './status-projection.js';

export interface ProducerOptions {
  /** An ioredis connection; the producer does not close it. */
  connection: Redis | Cluster;
  /** Key prefix of every queue and record (default "upload-fleet"); on a cluster the keys are tagged from it (KeyLayout). */
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
  /**
   * ALLOWED_PRIVATE_HOSTS, for refusing at submit time (400) a URL or host that is a blocked
   * IP literal (169.254.169.254, 10.0.0.1, [::1], 2852039166) unless listed. Unset: the
   * check is left to the worker, which refuses such uploads when they run.
   */
  allowedPrivateHosts?: string[];
  /**
   * Pools split into shards (POOL_SHARDS): uploads are placed on a shard by their
   * destination account. Every process of a fleet must be given the same counts.
   */
  poolShards?: PoolShards;
  /** Final records reach this many replicas before a worker completes the job (workers' FINAL_RECORD_REPLICAS). */
  finalRecordReplicas?: FinalRecordReplicas;
}

/**
 * The producer library: what a render pipeline imports to submit deliveries and read
 * their state. The HTTP API is a thin layer over it. It puts together, on one connection:
 *
 *   submitting    delivery-submission.ts  enqueue and idempotency
 *   control       delivery-control.ts     cancel and retry
 *   status        status-projection.ts    what the API reads (get, waitFor)
 *   index         delivery-index.ts       the deliveries newest first, per owner (the console's list)
 *   log           delivery-log.ts         a caller's deliveries, filtered and paged (GET /v1/deliveries)
 *   outcomes      outcome-recorder.ts     what the workers write (final records, deferrals, webhooks)
 *
 * over the delivery record (delivery-store.ts) and the queues (delivery-queues.ts).
 */
export class Producer {
  readonly prefix: string;
  /** The delivery records (one Redis hash per delivery). */
  readonly deliveries: DeliveryStore;
  /** The deliveries, newest first (the console's list). */
  readonly index: DeliveryIndex;
  /** The read side: statuses as the API answers them. */
  readonly status: StatusProjection;
  /** The write side of the workers: how uploads ended or why they wait. */
  readonly outcomes: OutcomeRecorder;
  private readonly queues: DeliveryQueues;
  private readonly submitter: DeliverySubmitter;
  private readonly control: DeliveryControl;
  private readonly log: DeliveryLog;

  constructor(options: ProducerOptions) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    const maxAttempts = options.maxAttempts ?? 5;
    const retention = options.retention ?? DEFAULT_RETENTION;
    const ttlSeconds = options.deliveryTtlSeconds ?? DEFAULT_DELIVERY_TTL_SECONDS;
    this.deliveries = new DeliveryStore(options.connection, this.prefix, ttlSeconds, options.finalRecordReplicas);
    this.index = new DeliveryIndex(options.connection, this.prefix, ttlSeconds);
    this.queues = new DeliveryQueues(options.connection, this.prefix, options.onError, options.poolShards);
    this.status = new StatusProjection(this.deliveries, this.queues, maxAttempts);
    this.outcomes = new OutcomeRecorder(this.deliveries, this.queues, {
      retention,
      ...(options.webhookAttempts !== undefined ? { webhookAttempts: options.webhookAttempts } : {}),
      ...(options.webhookBackoffMs !== undefined ? { webhookBackoffMs: options.webhookBackoffMs } : {}),
    });
    const network = options.allowedPrivateHosts ? createNetworkGuard({ allowedPrivateHosts: options.allowedPrivateHosts }) : undefined;
    this.submitter = new DeliverySubmitter(this.deliveries, this.queues, { secretBox: options.secretBox, maxAttempts, retention, index: this.index, ...(network ? { network } : {}) });
    this.control = new DeliveryControl(this.deliveries, this.queues, this.outcomes, this.status);
    this.log = new DeliveryLog(this.deliveries, this.index, this.status);
  }

  /** The BullMQ queue of a destination type (its first shard; created on first use). */
  queue(type: DestinationType): Queue<UploadJobData, UploadResult> {
    return this.queues.upload(type);
  }

  /** The queue of webhook deliveries (callback_url), retried on its own schedule. */
  /** Every shard's queue of a destination type (one for a pool never split): what workers, metrics and the dashboard read. */
  shardQueues(type: DestinationType): Queue<UploadJobData, UploadResult>[] {
    return this.queues.uploadShards(type);
  }

  webhookQueue(): Queue<WebhookJobData> {
    return this.queues.webhooks();
  }

  /**
   * Validates a delivery request, encrypts its secrets and enqueues one job per upload.
   * Throws ValidationFailedError (nothing enqueued) or IdempotencyConflictError.
   */
  enqueue(input: unknown, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    return this.submitter.enqueue(input, options);
  }

  /**
   * Submits up to 100 deliveries at once, each on its own (one bad item does not fail the
   * others): one outcome per input, in order. Throws ValidationFailedError only when the
   * list itself is not 1 to 100 items.
   */
  submitBatch(inputs: unknown[], options: EnqueueOptions = {}): Promise<BatchItemOutcome[]> {
    return this.submitter.enqueueBatch(inputs, options);
  }

  /** The state of every upload of a delivery. Throws DeliveryNotFoundError / DeliveryForbiddenError. */
  get(token: string, options: OwnerOptions = {}): Promise<DeliveryStatus> {
    return this.status.get(token, options);
  }

  /** Resolves when every upload has ended (completed, failed or cancelled); reports changes on the way. */
  waitFor(token: string, options: WaitOptions = {}): Promise<DeliveryStatus> {
    return this.status.waitFor(token, options);
  }

  /** Cancels the uploads that have not started yet. */
  cancel(token: string, options: OwnerOptions = {}): Promise<CancelResult> {
    return this.control.cancel(token, options);
  }

  /** Re-queues the failed uploads of a delivery (each gets a fresh set of attempts). */
  retry(token: string, options: OwnerOptions = {}): Promise<RetryResult> {
    return this.control.retry(token, options);
  }

  /** The owner's deliveries, newest first, filtered and a page at a time (default owner: "default"). */
  list(query: DeliveryListQuery = {}, options: OwnerOptions = {}): Promise<DeliveryListPage> {
    return this.log.list(options.owner ?? 'default', query);
  }

  /** Sends a finished delivery's webhook again. Throws WebhookReplayRefusedError (no callback_url, not finished). */
  replayWebhook(token: string, options: OwnerOptions = {}): Promise<WebhookReplayResult> {
    return this.control.replayWebhook(token, options);
  }

  async close(): Promise<void> {
    await this.queues.close();
  }
}
