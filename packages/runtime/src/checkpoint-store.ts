import type { Cluster, Redis } from 'ioredis';
import { keyLayoutOf } from '@upload-fleet/core';
import type { CheckpointStore } from '@upload-fleet/destinations';

/**
 * Checkpoints live in their own key beside the job (`<prefix>:checkpoint:{<jobId>}`, the
 * job id its hash tag on a cluster so checkpoints spread over the masters) rather than in job data: they change often during an upload, and the dashboard shows job data.
 * They expire with the failed-job retention, and are deleted when the upload completes.
 */
export function redisCheckpointStore(redis: Redis | Cluster, prefix: string, jobId: string, ttlSeconds: number): CheckpointStore {
  const key = keyLayoutOf(redis, prefix).checkpoint(jobId);
  return {
    async load<T>() {
      const value = await redis.get(key);
      return value === null ? undefined : (JSON.parse(value) as T);
    },
    async save<T>(state: T) {
      await redis.set(key, JSON.stringify(state), 'EX', ttlSeconds);
    },
    async clear() {
      await redis.del(key);
    },
  };
}
