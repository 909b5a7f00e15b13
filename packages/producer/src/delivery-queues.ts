import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { WEBHOOK_QUEUE, keyLayoutOf, shardCountOf, shardFor, shardsOf, type KeyLayout, type PoolShards, type UploadJobData, type UploadResult } from '@upload-fleet/core';
import { limitKeyOf, type Destination, type DestinationType } from '@upload-fleet/destinations/definitions';

/** A webhook job: send `delivery.finished` for this generation of the delivery to `url`. */
export interface WebhookJobData {
  token: string;
  url: string;
  generation: number;
}

/**
 * The BullMQ queues a delivery's jobs live in: one per destination type (one per shard of
 * a pool split into shards), and the webhook queue. Each is created on first use, on the
 * caller's connection, with the BullMQ prefix of the key layout (on a cluster each pool's
 * queue has its own hash tag, so the pools spread over the masters). A pool split into
 * shards (POOL_SHARDS) has one queue per shard, each with its own tag: an upload is placed
 * on the shard of its destination account (`shardFor`), and readers of a whole pool (the
 * workers, metrics, the dashboard) take `uploadShards`.
 */
export class DeliveryQueues {
  private readonly uploads = new Map<string, Queue<UploadJobData, UploadResult>>();
  private webhookQueue: Queue<WebhookJobData> | undefined;
  readonly layout: KeyLayout;

  constructor(
    private readonly connection: Redis | Cluster,
    readonly prefix: string,
    /** Connection errors of the queues (Redis down); without it BullMQ prints them to stderr. */
    private readonly onError?: (error: Error) => void,
    /** How many shards each pool has; the same in every process (POOL_SHARDS). */
    readonly shards: PoolShards = {},
  ) {
    this.layout = keyLayoutOf(connection, prefix);
  }

  /** The queue of one destination type (of one of its shards; the first by default). */
  upload(type: DestinationType, shard = 0): Queue<UploadJobData, UploadResult> {
    const name = `${type}:${shard}`;
    let queue = this.uploads.get(name);
    if (!queue) {
      queue = new Queue<UploadJobData, UploadResult>(this.layout.queueName(type, shard), { connection: this.connection, prefix: this.layout.queuePrefix(type, shard) });
      queue.on('error', (error) => this.onError?.(error));
      this.uploads.set(name, queue);
    }
    return queue;
  }

  /** Every shard's queue of one destination type (one queue for a pool never split). */
  uploadShards(type: DestinationType): Queue<UploadJobData, UploadResult>[] {
    return shardsOf(this.shards, type).map((shard) => this.upload(type, shard));
  }

  /**
   * The shard an upload to this destination goes to: by its account's limit key (credential
   * id or token hash, bucket, host, channel), so one account's uploads share one queue, their
   * order and the limits the pool enforces. 0 for a pool never split.
   */
  shardOf(destination: Destination): number {
    if (shardCountOf(this.shards, destination.type) <= 1) return 0;
    return shardFor(this.shards, destination.type, limitKeyOf(destination));
  }

  /** The queue of webhook deliveries (callback_url), retried on its own schedule. */
  webhooks(): Queue<WebhookJobData> {
    if (!this.webhookQueue) {
      this.webhookQueue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, { connection: this.connection, prefix: this.layout.webhookQueuePrefix() });
      this.webhookQueue.on('error', (error) => this.onError?.(error));
    }
    return this.webhookQueue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.uploads.values(), ...(this.webhookQueue ? [this.webhookQueue] : [])].map((q) => q.close()));
    this.uploads.clear();
    this.webhookQueue = undefined;
  }
}

