import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { WEBHOOK_QUEUE, uploadQueueName, type UploadJobData, type UploadResult } from '@upload-fleet/core';
import type { DestinationType } from '@upload-fleet/destinations/definitions';

/** A webhook job: send `delivery.finished` for this generation of the delivery to `url`. */
export interface WebhookJobData {
  token: string;
  url: string;
  generation: number;
}

/**
 * The BullMQ queues a delivery's jobs live in: one per destination type, and the webhook
 * queue. Each is created on first use, on the caller's connection.
 */
export class DeliveryQueues {
  private readonly uploads = new Map<DestinationType, Queue<UploadJobData, UploadResult>>();
  private webhookQueue: Queue<WebhookJobData> | undefined;

  constructor(
    private readonly connection: Redis | Cluster,
    readonly prefix: string,
    /** Connection errors of the queues (Redis down); without it BullMQ prints them to stderr. */
    private readonly onError?: (error: Error) => void,
  ) {}

  /** The queue of one destination type. */
  upload(type: DestinationType): Queue<UploadJobData, UploadResult> {
    let queue = this.uploads.get(type);
    if (!queue) {
      queue = new Queue<UploadJobData, UploadResult>(uploadQueueName(type), { connection: this.connection, prefix: this.prefix });
      queue.on('error', (error) => this.onError?.(error));
      this.uploads.set(type, queue);
    }
    return queue;
  }

  /** The queue of webhook deliveries (callback_url), retried on its own schedule. */
  webhooks(): Queue<WebhookJobData> {
    if (!this.webhookQueue) {
      this.webhookQueue = new Queue<WebhookJobData>(WEBHOOK_QUEUE, { connection: this.connection, prefix: this.prefix });
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
