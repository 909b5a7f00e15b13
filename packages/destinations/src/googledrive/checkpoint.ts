import { FleetError, type ScopedLogger } from '@upload-fleet/core';
import type { CheckpointStore } from '../adapter.js';
import type { DriveFile } from './file-upload.js';

/**
 * What an upload to Drive keeps between attempts (and between deferrals, which use no
 * attempt): the resumable session, the created file once Drive answered it, and how many
 * rate-limit answers came in a row, for the backoff.
 */
export interface DriveCheckpoint {
  version: 1;
  /** Set once a session was started. */
  session_uri?: string;
  size: number;
  offset: number;
  /** Set once Drive created the file. */
  file?: DriveFile;
  /** Rate-limit answers since the last progress; every save of progress drops it (back to 0). */
  rate_limited?: number;
}

/**
 * Drive's advice for rate limits is truncated exponential backoff: 1 s, 2 s, 4 s ... up to
 * a maximum of 32 or 64 s, then keep trying at the maximum
 * (https://developers.google.com/workspace/drive/api/guides/limits#exponential). The
 * runtime adds jitter to the deferral.
 */
export const RATE_LIMIT_FIRST_WAIT_MS = 1000;
export const RATE_LIMIT_MAX_WAIT_MS = 64_000;

export function rateLimitWaitMs(rateLimitedBefore: number): number {
  return Math.min(RATE_LIMIT_FIRST_WAIT_MS * 2 ** rateLimitedBefore, RATE_LIMIT_MAX_WAIT_MS);
}

/** A checkpoint of this upload, or undefined (none, another shape, or a file that changed size). */
export async function loadCheckpoint(store: CheckpointStore, size: number, log: ScopedLogger): Promise<DriveCheckpoint | undefined> {
  const checkpoint = await store.load<DriveCheckpoint>();
  if (!checkpoint) return undefined;
  if (checkpoint.version !== 1 || checkpoint.size !== size) {
    log.warn({ checkpoint_size: checkpoint.size, size }, 'the checkpoint does not belong to this file; starting a new upload session');
    return undefined;
  }
  return checkpoint;
}

/**
 * A rate-limit answer: counts it in the checkpoint (kept through the deferral) and returns
 * the error with the backoff's wait, or Drive's Retry-After when that is longer.
 */
export async function backedOff(error: FleetError, store: CheckpointStore, size: number): Promise<FleetError> {
  const saved = await store.load<DriveCheckpoint>();
  const before = saved?.version === 1 && saved.size === size ? (saved.rate_limited ?? 0) : 0;
  await store.save<DriveCheckpoint>({ ...(saved?.version === 1 && saved.size === size ? saved : { version: 1, size, offset: 0 }), rate_limited: before + 1 });
  const retryAfterMs = Math.max(rateLimitWaitMs(before), error.retryAfterMs ?? 0);
  return new FleetError(error.code, error.message, {
    ...(error.destination ? { destination: error.destination } : {}),
    ...(error.status !== undefined ? { status: error.status } : {}),
    pauseScope: error.pauseScope,
    retryAfterMs,
    cause: error,
  });
}
