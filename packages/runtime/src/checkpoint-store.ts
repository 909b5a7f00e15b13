import type { Cluster, Redis } from 'ioredis';
import { keyLayoutOf } from '@upload-fleet/core';
import type { CheckpointStore } from '@upload-fleet/destinations';

/** The checkpoint of one attempt, which knows whether there can be one to delete. */
export interface AttemptCheckpointStore extends CheckpointStore {
  /**
   * Deletes the checkpoint after the upload completed. Skipped (no round trip) when none can
   * exist: this attempt saved none and found none, and no earlier run of the job could have
   * left one (`leftByEarlierRun` false).
   */
  clearAfterCompletion(): Promise<void>;
}

/**
 * Checkpoints live in their own key beside the job (`<prefix>:checkpoint:{<jobId>}`, the
 * job id its hash tag on a cluster so checkpoints spread over the masters) rather than in job data: they change often during an upload, and the dashboard shows job data.
 * They expire with the failed-job retention, and are deleted when the upload completes.
 *
 * `leftByEarlierRun`: whether an earlier run of this job (a failed attempt, a hand-back at
 * shutdown or a rate limit, a stalled worker) may have saved one. A job's first run knows
 * there is none unless it saves one itself, so most uploads never pay the delete.
 */
export function redisCheckpointStore(redis: Redis | Cluster, prefix: string, jobId: string, ttlSeconds: number, options: { leftByEarlierRun: boolean }): AttemptCheckpointStore {
  const key = keyLayoutOf(redis, prefix).checkpoint(jobId);
  let mayExist = options.leftByEarlierRun;
  return {
    async load<T>() {
      const value = await redis.get(key);
      if (value === null) return undefined;
      mayExist = true;
      return JSON.parse(value) as T;
    },
    async save<T>(state: T) {
      mayExist = true;
      await redis.set(key, JSON.stringify(state), 'EX', ttlSeconds);
    },
    async clear() {
      await redis.del(key);
    },
    async clearAfterCompletion() {
      if (mayExist) await redis.del(key);
    },
  };
}
