import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG, SecretBox, keyLayout } from '@upload-fleet/core';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import type { DeliveryQueues } from './delivery-queues.js';
import { Producer } from './producer.js';
import { StatusProjection } from './status-projection.js';

/**
 * A status read is several reads (the record, the job, its state), and an upload can fail
 * between them: the record without the final outcome and the job as it was before, but
 * the state "failed". The SSRF suite met it under load: a blocked upload reported as
 * UF_UNKNOWN "The upload failed.", and waitFor returned that as the outcome.
 */
describe('StatusProjection: an upload that fails while its status is read', () => {
  const url = testRedisUrl();
  const prefix = uniquePrefix('status-race');
  const layout = keyLayout(prefix, { cluster: false });
  let redis: Redis;
  let producer: Producer;
  /** What the worker below does with a job: write the final record before failing it (the fleet's order), or not. */
  const writesFinal = new Map<string, boolean>();

  beforeAll(() => {
    redis = new Redis(url, { maxRetriesPerRequest: null });
    producer = new Producer({ connection: redis, prefix, secretBox: new SecretBox([{ id: 'k', key: Buffer.alloc(32, 3) }]), maxAttempts: 3 });
  });
  afterAll(async () => {
    await producer?.close();
    await deletePrefix(url, prefix);
    redis?.disconnect();
  });

  /**
   * A worker of its own for one upload, started only once the delivery was read: a worker left
   * running from the test before took the next job before its reads (and before its 'failed'
   * listener was there, so the test waited for an event gone by: a 60-second timeout).
   */
  const failTheUpload = async (jobId: string) => {
    const connection = redis.duplicate();
    const worker = new Worker(
      layout.queueName('http', 0),
      async (job: Job) => {
        if (writesFinal.get(job.id!)) {
          const error = { code: 'UF_BLOCKED_ADDRESS' as const, category: ERROR_CATALOG.UF_BLOCKED_ADDRESS.category, message: 'blocked by the test' };
          await producer.deliveries.recordFinal(job.data.token, job.data.index, { state: 'failed', error, attempts: 1, finished_at: new Date().toISOString() });
        }
        throw new UnrecoverableError('[UF_BLOCKED_ADDRESS] blocked by the test');
      },
      { connection, prefix: layout.queuePrefix('http', 0), autorun: false },
    );
    try {
      const failed = new Promise<void>((resolve) => worker.on('failed', (job) => job?.id === jobId && resolve()));
      void worker.run();
      await failed;
    } finally {
      await worker.close();
      connection.disconnect();
    }
  };

  /** A delivery read before its upload fails; then the upload fails; then the status is projected from the old reads. */
  const failWhileReading = async (final: boolean) => {
    const { token, uploads } = await producer.enqueue({ source: { path: 'a.mp4' }, upload: { destination: { type: 'http', url: 'https://example.com/in', filename: 'a.mp4' } } });
    const jobId = uploads[0]!.job_id;
    const record = (await producer.deliveries.read(token))!;
    const staleJob = (await producer.queue('http').getJob(jobId))!;
    writesFinal.set(jobId, final);
    await failTheUpload(jobId);
    // The job as read before the failure, on the first read only.
    let reads = 0;
    const queues = { upload: (type: 'http') => ({ getJob: async (id: string) => (reads++ === 0 ? staleJob : producer.queue(type).getJob(id)) }) } as unknown as DeliveryQueues;
    return new StatusProjection(producer.deliveries, queues, 3).uploadStatus(record, record.meta.uploads[0]!);
  };

  it('reports the final record the worker wrote before it failed the job, not an unknown failure', async () => {
    const status = await failWhileReading(true);
    expect(status).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'UF_BLOCKED_ADDRESS', message: 'blocked by the test' } });
    expect(status.finished_at).toBeDefined();
  });

  it('reads the failure reason again when the job has no final record (failed by BullMQ itself)', async () => {
    const status = await failWhileReading(false);
    expect(status).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'UF_BLOCKED_ADDRESS', message: 'blocked by the test' } });
  });
});
