import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError, toFleetError, type ErrorCode } from '@upload-fleet/core';
import type { UploadContext } from '../adapter.js';
import type { YouTubeDestination } from './definition.js';
import type { FollowUpState, YouTubeCheckpoint } from './resumable.js';

/**
 * The steps after the upload (thumbnail, caption tracks, playlist) and what their failures
 * do. By now the video exists, and nothing may make the fleet upload it a second time:
 *
 * - The checkpoint holds the video id, and each step's outcome as soon as it has one, so a
 *   retry of the job skips the upload and every step that is done (`FollowUpLog`).
 * - Transient failures (5xx, network, timeouts) are tried TRIES times within the attempt.
 *   When they persist, the attempt fails as transient and the job retries later with
 *   backoff, running only the steps still open. On the last attempt the step is given up
 *   and reported instead: the delivery completes with the video.
 * - Permanent failures (a bad image, a missing scope, a playlist that is gone), a quota or
 *   rate limit met at a step, and an auth failure complete the delivery with the video; the
 *   result says which step failed and why (`error` on the step, and `warnings`). Waiting
 *   until midnight Pacific for quota would hold the finished video's URL back for hours.
 * - An abort (shutdown, lost lock) stops at once; the next attempt resumes at that step.
 */

export interface StepError {
  code: ErrorCode;
  message: string;
}

export type StepResult<T> = { ok: true; value: T } | { ok: false; error: StepError };

const TRIES = 3;
const PAUSE_MS = 1_000;

/** Runs one follow-up step under the policy above. `what` names it in logs and abort messages. */
export async function runStep<T>(context: UploadContext<YouTubeDestination>, what: string, step: () => Promise<T>): Promise<StepResult<T>> {
  for (let tryNumber = 1; ; tryNumber += 1) {
    try {
      return { ok: true, value: await step() };
    } catch (raw) {
      const error = toFleetError(raw, 'youtube');
      if (error.code === 'UF_ABORTED') throw error;
      if (error.category === 'transient' && tryNumber < TRIES) {
        await pause(PAUSE_MS * tryNumber, context.signal, what);
        continue;
      }
      if (error.category === 'transient' && !context.lastAttempt) {
        context.log.warn({ step: what, code: error.code }, 'a step after the upload keeps failing; the job retries it later without uploading the video again');
        throw error;
      }
      context.log.warn({ step: what, code: error.code }, 'the video was uploaded, but a step after the upload failed');
      return { ok: false, error: { code: error.code, message: error.message } };
    }
  }
}

/** The checkpoint after the upload: each outcome is saved the moment it is known. */
export class FollowUpLog {
  private current: YouTubeCheckpoint;

  constructor(
    private readonly context: UploadContext<YouTubeDestination>,
    checkpoint: YouTubeCheckpoint,
  ) {
    this.current = checkpoint;
  }

  get state(): FollowUpState {
    return this.current.after_upload ?? {};
  }

  async record(patch: Partial<FollowUpState>): Promise<void> {
    this.current = { ...this.current, after_upload: { ...this.state, ...patch } };
    await this.context.checkpoint.save<YouTubeCheckpoint>(this.current);
  }
}

async function pause(ms: number, signal: AbortSignal, what: string): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new FleetError('UF_ABORTED', `The upload to YouTube was aborted while waiting to try ${what} again`, { destination: 'youtube', cause: error });
  }
}
