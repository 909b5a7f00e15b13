import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyLayoutOf } from '@upload-fleet/core';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import { redisCheckpointStore } from './checkpoint-store.js';

describe('redisCheckpointStore: the delete after completion', () => {
  const prefix = uniquePrefix('checkpoints');
  let redis: Redis;
  /** Commands sent on the connection, by name. */
  const sent: string[] = [];

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
      sent.push(command.name);
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof redis.sendCommand;
  });
  afterAll(async () => {
    redis.disconnect();
    await deletePrefix(testRedisUrl(), prefix);
  });

  const keyOf = (jobId: string) => keyLayoutOf(redis, prefix).checkpoint(jobId);

  it("skips the delete on a job's first run that saved and found none", async () => {
    const store = redisCheckpointStore(redis, prefix, 'first-run', 60, { leftByEarlierRun: false });
    expect(await store.load()).toBeUndefined();
    sent.length = 0;
    await store.clearAfterCompletion();
    expect(sent).toEqual([]);
  });

  it('deletes what the attempt saved', async () => {
    const store = redisCheckpointStore(redis, prefix, 'saved', 60, { leftByEarlierRun: false });
    await store.save({ uploadId: 'u-1', parts: [1] });
    expect(await redis.exists(keyOf('saved'))).toBe(1);
    await store.clearAfterCompletion();
    expect(await redis.exists(keyOf('saved'))).toBe(0);
  });

  it('deletes one it found, even on what looks like a first run (a retried job resumes from its old checkpoint)', async () => {
    await redis.set(keyOf('found'), JSON.stringify({ offset: 5 }));
    const store = redisCheckpointStore(redis, prefix, 'found', 60, { leftByEarlierRun: false });
    expect(await store.load()).toEqual({ offset: 5 });
    await store.clearAfterCompletion();
    expect(await redis.exists(keyOf('found'))).toBe(0);
  });

  it('deletes after a run that followed an earlier one, though this attempt never looked', async () => {
    await redis.set(keyOf('earlier'), JSON.stringify({ offset: 9 }));
    const store = redisCheckpointStore(redis, prefix, 'earlier', 60, { leftByEarlierRun: true });
    await store.clearAfterCompletion();
    expect(await redis.exists(keyOf('earlier'))).toBe(0);
  });
});
