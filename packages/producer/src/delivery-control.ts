import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { FinalUploadRecord, UploadJobData, UploadResult } from '@upload-fleet/core';
import { readOwnedDelivery, type OwnerOptions } from './delivery-access.js';
import type { DeliveryQueues } from './delivery-queues.js';
import type { DeliveryStore } from './delivery-store.js';
import { WebhookReplayRefusedError } from './errors.js';
import type { OutcomeRecorder } from './outcome-recorder.js';
import { isFinished, type StatusProjection } from './status-projection.js';

export interface CancelResult {
  cancelled: number[];
  /** Uploads that had already started or ended, which a cancel does not stop. */
  not_cancelled: { index: number; state: string }[];
}

export interface RetryResult {
  retried: number[];
  not_retried: { index: number; state: string; reason?: string }[];
}

export interface WebhookReplayResult {
  token: string;
  /** The webhook job queued; the status's `webhook` shows how it went. */
  webhook_job_id: string;
}

/** Job states in which no worker holds the job yet, so removing it stops the upload cleanly. */
const NOT_STARTED = ['waiting', 'delayed', 'prioritized', 'waiting-children'];

/** What a caller may change on a delivery after submitting it: cancel what has not started, retry what failed. */
export class DeliveryControl {
  constructor(
    private readonly store: DeliveryStore,
    private readonly queues: DeliveryQueues,
    private readonly outcomes: OutcomeRecorder,
    private readonly status: StatusProjection,
  ) {}

  /** Cancels the uploads that have not started yet. */
  async cancel(token: string, options: OwnerOptions = {}): Promise<CancelResult> {
    const record = await readOwnedDelivery(this.store, token, options.owner);
    const result: CancelResult = { cancelled: [], not_cancelled: [] };
    for (const upload of record.meta.uploads) {
      const final = record.finals.get(upload.index);
      if (final) {
        result.not_cancelled.push({ index: upload.index, state: final.state });
        continue;
      }
      const job = await this.queues.upload(upload.type, upload.shard).getJob(upload.job_id);
      const state = job ? await job.getState() : 'unknown';
      if (!job || !NOT_STARTED.includes(state)) {
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
      await this.outcomes.finishUpload(token, upload.index, {
        state: 'cancelled',
        attempts: job.attemptsMade,
        finished_at: new Date().toISOString(),
      });
    }
    return result;
  }

  /** Re-queues the failed uploads of a delivery (each gets a fresh set of attempts). */
  async retry(token: string, options: OwnerOptions = {}): Promise<RetryResult> {
    const record = await readOwnedDelivery(this.store, token, options.owner);
    const result: RetryResult = { retried: [], not_retried: [] };
    const retriable: { index: number; job: Job<UploadJobData, UploadResult>; final: FinalUploadRecord }[] = [];
    for (const upload of record.meta.uploads) {
      const final = record.finals.get(upload.index);
      if (final?.state !== 'failed') {
        const state = final?.state ?? (await this.status.uploadStatus(record, upload)).state;
        result.not_retried.push({ index: upload.index, state, reason: 'only failed uploads are retried' });
        continue;
      }
      const job = await this.queues.upload(upload.type, upload.shard).getJob(upload.job_id);
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

  /**
   * Sends the delivery's webhook again (`delivery.finished` with its status now), as
   * Transloadit's "replay notification" does: for a receiver that was down or lost it. Each
   * call queues one more webhook, signed and retried like the first.
   * Throws WebhookReplayRefusedError when there is no callback_url or the delivery has not finished.
   */
  async replayWebhook(token: string, options: OwnerOptions = {}): Promise<WebhookReplayResult> {
    const record = await readOwnedDelivery(this.store, token, options.owner);
    const url = record.meta.callback_url;
    if (!url) throw new WebhookReplayRefusedError('UF_NO_CALLBACK_URL', `The delivery "${token}" has no callback_url, so there is no webhook to send again. Give callback_url when submitting a delivery.`);
    const { state } = await this.status.statusOf(record);
    if (!isFinished(state)) {
      throw new WebhookReplayRefusedError('UF_DELIVERY_NOT_FINISHED', `The delivery "${token}" is ${state}: its webhook is sent when every upload has ended. Replay it after that.`);
    }
    const jobId = `${token}-webhook-replay-${randomUUID()}`;
    await this.outcomes.sendWebhook(token, url, record.generation + 1, jobId);
    return { token, webhook_job_id: jobId };
  }
}

/** A job gone from its queue has expired from retention. */
function publicState(state: string): string {
  return state === 'unknown' ? 'expired' : state;
}
