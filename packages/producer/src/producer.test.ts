import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, uploadQueueName } from '@upload-fleet/core';
import { destinationSchemas } from '@upload-fleet/destinations/definitions';
import { deletePrefix, dumpPrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import { jobIdOf } from './delivery-submission.js';
import { IdempotencyConflictError, ValidationFailedError } from './errors.js';
import { Producer } from './producer.js';

const S3_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const HTTP_PASSWORD = 'correct-horse-battery';
const HTTP_BEARER = 'Bearer super-secret-api-token';

const request = (extra: Record<string, unknown> = {}) => ({
  source: { path: 'welcome.mp4' },
  uploads: [
    {
      extension: 'mp4',
      destination: { type: 's3', bucket: 'my-videos', filename: 'renders/welcome.mp4', aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE', aws_secret_access_key: S3_SECRET },
    },
    {
      extension: 'mp4',
      destination: { type: 'http', url: 'https://example.com/videos', filename: 'welcome.mp4', user: 'alice', password: HTTP_PASSWORD, headers: { Authorization: HTTP_BEARER } },
    },
  ],
  ...extra,
});

describe('Producer', () => {
  const url = testRedisUrl();
  const prefix = uniquePrefix('producer');
  const box = new SecretBox([{ id: 'k1', key: Buffer.alloc(32, 7) }]);
  let redis: Redis;
  let producer: Producer;

  beforeAll(() => {
    redis = new Redis(url, { maxRetriesPerRequest: null });
    producer = new Producer({ connection: redis, prefix, secretBox: box, maxAttempts: 3 });
  });
  afterAll(async () => {
    await producer.close();
    await deletePrefix(url, prefix);
    redis.disconnect();
  });

  it('fans out one job per destination into that type\'s queue, with secrets only encrypted', async () => {
    const result = await producer.enqueue(request());
    expect(result.created).toBe(true);
    expect(result.uploads.map((u) => u.type)).toEqual(['s3', 'http']);

    const s3Job = await producer.queue('s3').getJob(jobIdOf(result.token, 0));
    const httpJob = await producer.queue('http').getJob(jobIdOf(result.token, 1));
    expect(s3Job?.queueName).toBe(uploadQueueName('s3'));
    expect(s3Job?.data.destination).toMatchObject({ type: 's3', bucket: 'my-videos', contenttype: 'application/octet-stream' });
    expect(s3Job?.data.destination).not.toHaveProperty('aws_secret_access_key');
    expect(s3Job?.data.destination).not.toHaveProperty('aws_access_key_id');
    expect(box.decrypt(s3Job!.data.secrets!)).toEqual({ aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE', aws_secret_access_key: S3_SECRET });
    expect(box.decrypt(httpJob!.data.secrets!)).toEqual({ password: HTTP_PASSWORD, headers: { Authorization: HTTP_BEARER } });
    expect(s3Job?.opts.attempts).toBe(3);
    // Finished jobs are kept for a bounded time and number; the delivery record outlives them.
    expect(s3Job?.opts.removeOnComplete).toEqual({ age: 7 * 24 * 3600, count: 10_000 });
    expect(s3Job?.opts.removeOnFail).toEqual({ age: 30 * 24 * 3600, count: 50_000 });
    expect(await redis.ttl(`${prefix}:delivery:${result.token}`)).toBeGreaterThan(29 * 24 * 3600);

    const everything = [...(await dumpPrefix(url, prefix)).values()].join('\n');
    for (const secret of [S3_SECRET, HTTP_PASSWORD, HTTP_BEARER, 'super-secret-api-token']) expect(everything).not.toContain(secret);
  });

  it('writes no secret envelope for a destination whose only secret field is its empty default, and the worker\'s parse gives the default back', async () => {
    const { token } = await producer.enqueue({ source: { path: 'a.mp4' }, upload: { destination: { type: 'http', url: 'https://up.example.com/in', filename: 'a.mp4', method: 'PUT' } } });
    const job = await producer.queue('http').getJob(jobIdOf(token, 0));
    expect(job?.data).not.toHaveProperty('secrets');
    expect(job?.data.destination).not.toHaveProperty('headers');
    expect(destinationSchemas.http.parse(job!.data.destination)).toMatchObject({ headers: {}, url: 'https://up.example.com/in' });

    const withHeader = await producer.enqueue({ source: { path: 'a.mp4' }, upload: { destination: { type: 'http', url: 'https://up.example.com/in', filename: 'a.mp4', headers: { 'X-Key': 'k-123456' } } } });
    const headerJob = await producer.queue('http').getJob(jobIdOf(withHeader.token, 0));
    expect(box.decrypt(headerJob!.data.secrets!)).toEqual({ headers: { 'X-Key': 'k-123456' } });
  });

  it('reports every upload as queued right after enqueueing', async () => {
    const { token } = await producer.enqueue(request());
    const status = await producer.get(token);
    expect(status.state).toBe('pending');
    expect(status.uploads.map((u) => [u.index, u.type, u.state, u.attempts])).toEqual([
      [0, 's3', 'queued', 0],
      [1, 'http', 'queued', 0],
    ]);
  });

  it('rejects invalid input listing every problem, and enqueues nothing', async () => {
    const before = await dumpPrefix(url, prefix);
    const bad = { source: { path: 'a.mp4' }, uploads: [{ destination: { type: 's3', bucket: '', filename: 'x' } }, { destination: { type: 'gopher' } }] };
    const error = await producer.enqueue(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationFailedError);
    const paths = (error as ValidationFailedError).problems.map((p) => p.path);
    expect(paths).toContain('uploads.0.destination.bucket');
    expect(paths).toContain('uploads.0.destination.aws_access_key_id');
    expect(paths).toContain('uploads.1.destination.type');
    expect([...(await dumpPrefix(url, prefix)).keys()].sort()).toEqual([...before.keys()].sort());
  });

  it('answers the same token for the same idempotency_key, also under 20 concurrent calls, creating one set of jobs', async () => {
    const body = request({ idempotency_key: 'render-4711' });
    const results = await Promise.all(Array.from({ length: 20 }, () => producer.enqueue(body)));
    const tokens = new Set(results.map((r) => r.token));
    expect(tokens.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [token] = [...tokens];
    const again = await producer.enqueue(body);
    expect(again).toMatchObject({ token, created: false });
    const deliveries = [...(await dumpPrefix(url, prefix)).keys()].filter((k) => k.includes(':delivery:'));
    const jobs = (await producer.queue('s3').getJobs(['prioritized'])).filter((j) => j.data.token === token);
    expect(jobs).toHaveLength(1);
    expect(deliveries.filter((k) => k.endsWith(token!))).toHaveLength(1);
  });

  it('refuses an idempotency_key reused for a different request', async () => {
    await producer.enqueue(request({ idempotency_key: 'render-4712' }));
    const other = request({ idempotency_key: 'render-4712', metadata: { customer: 'someone else' } });
    await expect(producer.enqueue(other)).rejects.toBeInstanceOf(IdempotencyConflictError);
  });

  it('cancels uploads that have not started and reports the delivery cancelled', async () => {
    const { token } = await producer.enqueue(request());
    const result = await producer.cancel(token);
    expect(result.cancelled).toEqual([0, 1]);
    expect(await producer.queue('s3').getJob(jobIdOf(token, 0))).toBeUndefined();
    const status = await producer.get(token);
    expect(status.state).toBe('cancelled');
    expect(status.uploads.every((u) => u.state === 'cancelled')).toBe(true);
  });

  it('scopes deliveries to their owner', async () => {
    const { token } = await producer.enqueue(request(), { owner: 'render-farm' });
    await expect(producer.get(token, { owner: 'render-farm' })).resolves.toMatchObject({ token });
    await expect(producer.get(token, { owner: 'someone-else' })).rejects.toMatchObject({ code: 'UF_DELIVERY_FORBIDDEN' });
    await expect(producer.get('dlv_unknown')).rejects.toMatchObject({ code: 'UF_DELIVERY_NOT_FOUND' });
  });

  it('lists deliveries newest first in the index, per owner and for the fleet, by creation time, bounded by the record TTL', async () => {
    const first = await producer.enqueue(request(), { owner: 'index-owner' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await producer.enqueue(request(), { owner: 'index-owner' });
    const other = await producer.enqueue(request(), { owner: 'index-other' });
    expect(await producer.index.list({ owner: 'index-owner' })).toEqual([second.token, first.token]);
    expect(await producer.index.list({ owner: 'index-other' })).toEqual([other.token]);
    const all = await producer.index.list({ limit: 1000 });
    expect(all.indexOf(other.token)).toBeLessThan(all.indexOf(second.token));
    expect(all.indexOf(second.token)).toBeLessThan(all.indexOf(first.token));
    const createdSecond = Date.parse((await producer.get(second.token)).created_at);
    expect(await producer.index.list({ owner: 'index-owner', fromMs: createdSecond })).toEqual([second.token]);
    expect(await producer.index.list({ owner: 'index-owner', toMs: createdSecond - 1 })).toEqual([first.token]);
    const ttl = await redis.ttl(producer.index.ownerKey('index-owner'));
    expect(ttl).toBeGreaterThan(0);

    // An entry older than the TTL is dropped by the next write.
    const shortLived = new Producer({ connection: redis, prefix, secretBox: box, deliveryTtlSeconds: 60 });
    await redis.zadd(shortLived.index.ownerKey('index-ttl'), Date.now() - 61_000, 'dlv_expired');
    const fresh = await shortLived.enqueue(request(), { owner: 'index-ttl' });
    expect(await shortLived.index.list({ owner: 'index-ttl' })).toEqual([fresh.token]);
    await shortLived.close();
  });

  it('leaves a delivery that could not be enqueued out of the index', async () => {
    const before = await producer.index.count();
    await expect(producer.enqueue({ source: { path: 'x.mp4' }, upload: { destination: { type: 's3' } } })).rejects.toBeInstanceOf(ValidationFailedError);
    expect(await producer.index.count()).toBe(before);
  });

  it('submits a batch item by item: one outcome per delivery, in order, a bad one failing alone', async () => {
    const key = `batch-${Date.now()}`;
    const outcomes = await producer.submitBatch([request(), { source: { path: 'x.mp4' }, upload: { destination: { type: 's3' } } }, request({ idempotency_key: key }), request({ idempotency_key: key })], { owner: 'batch-owner' });
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
    const [first, bad, keyed, replay] = outcomes;
    expect(bad!.ok === false && bad!.error).toBeInstanceOf(ValidationFailedError);
    // The two items with one idempotency_key are one delivery, created once.
    if (keyed!.ok && replay!.ok) {
      expect(replay!.result.token).toBe(keyed!.result.token);
      expect([keyed!.result.created, replay!.result.created].sort()).toEqual([false, true]);
    }
    if (first!.ok) expect((await producer.get(first!.result.token, { owner: 'batch-owner' })).uploads).toHaveLength(2);
    expect(await producer.index.count('batch-owner')).toBe(2);
    await expect(producer.submitBatch([])).rejects.toThrow(/deliveries must be a list of 1 to 100/);
    await expect(producer.submitBatch(Array.from({ length: 101 }, () => request()))).rejects.toThrow(/got 101.*split/);
  });

  it('writes deliveries submitted together in one pipeline, and one whose transaction fails takes none of the others with it', async () => {
    const own = uniquePrefix('producer-group');
    const broken = new Producer({ connection: redis, prefix: own, secretBox: box });
    try {
      // As above, the http queue's add script fails; the s3-only deliveries beside it must not.
      await Promise.all([broken.queue('http').waitUntilReady(), broken.queue('s3').waitUntilReady()]);
      await redis.set(`${own}:${uploadQueueName('http')}:prioritized`, 'not-a-sorted-set');
      const s3Only = () => ({ ...request(), uploads: [request().uploads[0]] });
      const outcomes = await Promise.allSettled([broken.enqueue(s3Only(), { owner: 'g' }), broken.enqueue(request(), { owner: 'g' }), broken.enqueue(s3Only(), { owner: 'g' })]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringMatching(/WRONGTYPE/) });
      expect(await broken.index.count('g')).toBe(2);
      expect(await broken.queue('s3').getJobCounts('prioritized')).toEqual({ prioritized: 2 });
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') expect((await broken.get(outcome.value.token, { owner: 'g' })).uploads).toHaveLength(1);
      }
      const records = [...(await dumpPrefix(url, own)).keys()].filter((k) => k.includes(':delivery:'));
      expect(records).toHaveLength(2);
    } finally {
      await broken.close();
      await deletePrefix(url, own);
    }
  });

  it('writes nothing of a delivery whose transaction failed half-way: no job, no record, no index entry, the key free again', async () => {
    const own = uniquePrefix('producer-rollback');
    const broken = new Producer({ connection: redis, prefix: own, secretBox: box });
    try {
      // The http queue's prioritized set (where every job with a priority waits) is not a
      // sorted set: BullMQ's add script fails inside the MULTI, after the record and the s3
      // job were written by the commands before it.
      await broken.queue('http').waitUntilReady();
      await redis.set(`${own}:${uploadQueueName('http')}:prioritized`, 'not-a-sorted-set');
      const keyed = request({ idempotency_key: 'rollback-1' });
      await expect(broken.enqueue(keyed, { owner: 'rb' })).rejects.toThrow(/WRONGTYPE/);
      const left = [...(await dumpPrefix(url, own)).keys()];
      expect(left.filter((k) => k.includes(':delivery:') || k.includes(':idempotency:'))).toEqual([]);
      expect(await broken.index.count('rb')).toBe(0);
      expect(await broken.queue('s3').getJobCounts('waiting', 'prioritized')).toEqual({ waiting: 0, prioritized: 0 });
      await redis.del(`${own}:${uploadQueueName('http')}:prioritized`);
      const retried = await broken.enqueue(keyed, { owner: 'rb' });
      expect(retried.created).toBe(true);
    } finally {
      await broken.close();
      await deletePrefix(url, own);
    }
  });
});
