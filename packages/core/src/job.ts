import type { SerializedFleetError } from './errors.js';
import type { Source } from './request.js';
import type { EncryptedEnvelope } from './secrets.js';

/**
 * Glossary
 * - delivery:   one request; has a `token`; fans out to 1..10 uploads.
 * - upload job: one file to one destination; a BullMQ job in that type's queue.
 * - checkpoint: an adapter's resumable state, kept beside the job so a retry on
 *               another process continues mid-file.
 */

/** What a job holds in Redis. Secret fields are not in `destination`: they are in `secrets`, encrypted. */
export interface UploadJobData {
  token: string;
  /** Position of this upload in the delivery (0-based). */
  index: number;
  source: Source;
  extension?: string;
  /** The validated destination without its secret fields. */
  destination: { type: string } & Record<string, unknown>;
  /** The destination's secret fields, AES-256-GCM encrypted; absent when it has none. */
  secrets?: EncryptedEnvelope;
  enqueued_at: string;
  /** The delivery's expires_at: an attempt that would start the upload after it fails with UF_EXPIRED. */
  expires_at?: string;
}

/**
 * BullMQ job priority of each delivery priority (lower runs first). Every upload job gets
 * one, `normal` included: BullMQ runs jobs without a priority before all prioritized ones,
 * so a `high` job could never pass an unprioritized backlog. Jobs therefore wait in the
 * queue's `prioritized` sorted set, not its `wait` list (KEDA counts both; deploy/helm).
 */
export const JOB_PRIORITIES = { high: 1, normal: 2, low: 3 } as const;

/** What an adapter returns: the URL of the delivered file where there is one, and its details. */
export interface UploadResult {
  /** Where the file now lives (object URL, video URL, ...); null when the destination has none. */
  url: string | null;
  /** Bytes the destination received for the file. */
  bytes: number;
  /** The whole file's SHA-256 (hex), computed by the worker while the file streamed (set by the runtime, not the adapter). */
  sha256?: string;
  [detail: string]: unknown;
}

export interface UploadProgress {
  bytes_sent: number;
  bytes_total: number;
}

export type UploadState = 'queued' | 'active' | 'deferred' | 'completed' | 'failed' | 'cancelled';

export interface UploadStatus {
  index: number;
  /** The destination type. */
  type: string;
  job_id: string;
  state: UploadState;
  /**
   * Attempts used so far, the running one included (1 during and after the first try); a run
   * handed back at shutdown or deferred by a rate limit does not use one. Log lines say the same ("attempt 1 of 5").
   */
  attempts: number;
  max_attempts: number;
  progress?: UploadProgress;
  /** For deferred uploads: when the upload may run again, and why it waits. */
  run_at?: string;
  deferred_reason?: 'retry_backoff' | 'rate_limited';
  /** The rate-limit key that holds a rate-limited upload back. */
  limit_key?: string;
  /** Last error, for failed uploads and for uploads waiting to be retried. */
  error?: SerializedFleetError;
  /** For completed uploads: the file's URL (the spec's `upload` field) and the destination's details. */
  upload?: string | null;
  result?: UploadResult;
  finished_at?: string;
}

export type DeliveryState = 'pending' | 'in_progress' | 'completed' | 'failed' | 'partially_failed' | 'cancelled';

export interface WebhookStatus {
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status?: number;
  last_error?: string;
  delivered_at?: string;
}

export interface DeliveryStatus {
  token: string;
  state: DeliveryState;
  created_at: string;
  /** The spec's response field: the URL of a single completed upload. */
  upload?: string | null;
  /** The destination's details of a single completed upload. */
  result?: UploadResult;
  uploads: UploadStatus[];
  metadata?: Record<string, string | number | boolean>;
  webhook?: WebhookStatus;
}

/** Final states written back by the worker into the delivery record. */
export type FinalUploadRecord =
  | { state: 'completed'; result: UploadResult; attempts: number; finished_at: string }
  | { state: 'failed'; error: SerializedFleetError; attempts: number; finished_at: string }
  | { state: 'cancelled'; attempts: number; finished_at: string };

/** Why a job waits in the delayed set; written by the worker beside the delivery. */
export interface DeferralRecord {
  reason: 'retry_backoff' | 'rate_limited';
  run_at: string;
  limit_key?: string;
  error?: SerializedFleetError;
}
