import type { DeferralRecord, FinalUploadRecord, WebhookStatus } from '@upload-fleet/core';
import type { DeliveryQueues } from './delivery-queues.js';
import type { DeliveryStore } from './delivery-store.js';
import { removalOptions, type RetentionOptions } from './retention.js';

export interface OutcomeRecorderOptions {
  /** Attempts to deliver a webhook (default 8). */
  webhookAttempts?: number;
  /** First webhook retry delay; doubles each time (default 10 s). */
  webhookBackoffMs?: number;
  retention: RetentionOptions;
}

/**
 * The write side of the delivery record: what happened to an upload, written by the
 * workers (and by a cancel, which ends uploads too). The status projection reads what
 * this writes; nothing here reads job state.
 */
export class OutcomeRecorder {
  private readonly webhookAttempts: number;
  private readonly webhookBackoffMs: number;

  constructor(
    private readonly store: DeliveryStore,
    private readonly queues: DeliveryQueues,
    private readonly options: OutcomeRecorderOptions,
  ) {
    this.webhookAttempts = options.webhookAttempts ?? 8;
    this.webhookBackoffMs = options.webhookBackoffMs ?? 10_000;
  }

  /**
   * The final outcome already recorded for an upload, if any: an attempt that finds one
   * completed must not upload again (BullMQ can run a job once more after its lock lapsed
   * while Redis was away, though its outcome had reached the record).
   */
  recordedFinal(token: string, index: number): Promise<FinalUploadRecord | undefined> {
    return this.store.readFinal(token, index);
  }

  /**
   * Records how an upload ended. When that ends the whole delivery and it has a
   * callback_url, the webhook is enqueued (once per delivery generation). The upload's
   * deferral, if any, is removed with it; `deferralMayExist: false` says there is none (the
   * job's first run), which spares Redis the delete.
   */
  async finishUpload(token: string, index: number, record: FinalUploadRecord, options: { deferralMayExist?: boolean } = {}): Promise<void> {
    // One round trip: the final record, and when it ended the delivery, its callback_url.
    const { generation, callbackUrl } = await this.store.recordEnd(token, index, record, options);
    if (generation === 0 || !callbackUrl) return;
    await this.sendWebhook(token, callbackUrl, generation, `${token}-webhook-${generation}`);
  }

  /**
   * Queues `delivery.finished` for the delivery (its status as it is when sent), marking the
   * webhook pending. The job id decides whether it is new: once per generation when a
   * delivery ends, a fresh id for each replay.
   */
  async sendWebhook(token: string, url: string, generation: number, jobId: string): Promise<void> {
    await this.store.recordWebhook(token, { state: 'pending', attempts: 0 });
    await this.queues.webhooks().add(
      'webhook',
      { token, url, generation },
      {
        jobId,
        attempts: this.webhookAttempts,
        backoff: { type: 'exponential', delay: this.webhookBackoffMs, jitter: 0.5 },
        ...removalOptions(this.options.retention),
      },
    );
  }

  /** Upload `index` waits (backoff or a rate limit) until `deferral.run_at`; the status shows why. */
  async recordDeferral(token: string, index: number, deferral: DeferralRecord): Promise<void> {
    await this.store.recordDeferral(token, index, deferral);
  }

  /** Upload `index` runs again: it no longer waits. */
  async clearDeferral(token: string, index: number): Promise<void> {
    await this.store.clearDeferral(token, index);
  }

  /** The outcome of the latest attempt to deliver the delivery's webhook. */
  async recordWebhook(token: string, status: WebhookStatus): Promise<void> {
    await this.store.recordWebhook(token, status);
  }
}
