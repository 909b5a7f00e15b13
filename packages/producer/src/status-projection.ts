import { setTimeout as sleep } from 'node:timers/promises';
import {
  ERROR_CATALOG,
  type DeliveryState,
  type DeliveryStatus,
  type ErrorCode,
  type FinalUploadRecord,
  type SerializedFleetError,
  type UploadProgress,
  type UploadStatus,
} from '@upload-fleet/core';
import { readOwnedDelivery, type OwnerOptions } from './delivery-access.js';
import type { DeliveryQueues } from './delivery-queues.js';
import type { DeliveryMeta, DeliveryRecord, DeliveryStore } from './delivery-store.js';

export interface WaitOptions {
  /** Called whenever the status changes (progress, state). */
  onProgress?: (status: DeliveryStatus) => void;
  timeoutMs?: number;
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

/**
 * The read side: a delivery's status as the API answers it, projected from the delivery
 * record (final outcomes, deferrals, webhook) and, for uploads that have not ended, from
 * their BullMQ jobs (state, attempts, progress). It writes nothing.
 */
export class StatusProjection {
  constructor(
    private readonly store: DeliveryStore,
    private readonly queues: DeliveryQueues,
    /** The attempts an upload has when its job no longer says (default of the producer). */
    private readonly maxAttempts: number,
  ) {}

  /** The state of every upload of a delivery. Throws DeliveryNotFoundError / DeliveryForbiddenError. */
  async get(token: string, options: OwnerOptions = {}): Promise<DeliveryStatus> {
    return this.statusOf(await readOwnedDelivery(this.store, token, options.owner));
  }

  /** The status of a delivery record already read (the delivery log reads records first, to filter). */
  async statusOf(record: DeliveryRecord): Promise<DeliveryStatus> {
    const uploads = await Promise.all(record.meta.uploads.map((u) => this.uploadStatus(record, u)));
    return summarize(record, uploads);
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

  /** One upload's status: its final record if it ended, else what its job says now. */
  async uploadStatus(record: DeliveryRecord, upload: DeliveryMeta['uploads'][number]): Promise<UploadStatus> {
    const base = { index: upload.index, type: upload.type, job_id: upload.job_id, max_attempts: this.maxAttempts };
    const final = record.finals.get(upload.index);
    if (final) return { ...base, ...fromFinal(final) };

    const job = await this.queues.upload(upload.type, upload.shard).getJob(upload.job_id);
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
        // No final record in what was read (the job completed after the record read): the job says it.
        return { ...base, ...fromFinal({ state: 'completed', result: job.returnvalue, attempts, finished_at: new Date(job.finishedOn ?? Date.now()).toISOString() }) };
      case 'failed': {
        // A job read before it failed and its state read after carries no failure reason
        // (this was once projected as "UF_UNKNOWN, The upload failed.", and waitFor took it as
        // the outcome). The worker writes the final record before it fails the job, so read
        // the record again; a job failed by BullMQ itself (stalled too often) has none, and
        // the job read again gives its reason ("[UF_CODE] message" when it was ours).
        const final = job.failedReason ? undefined : await this.store.readFinal(record.meta.token, upload.index);
        if (final) return { ...base, ...fromFinal(final) };
        const failed = job.failedReason ? job : ((await this.queues.upload(upload.type, upload.shard).getJob(upload.job_id)) ?? job);
        return { ...base, state: 'failed', attempts: failed.attemptsMade, error: errorFromFailedReason(failed.failedReason) };
      }
      default:
        return { ...base, state: 'queued', attempts };
    }
  }
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

export function isFinished(state: DeliveryState): boolean {
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
