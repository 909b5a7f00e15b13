import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadQueueName, type DeliveryStatus } from '@upload-fleet/core';
import type { DeliveryAccepted } from './server.js';
import { asAlice, postDelivery, s3Request, startHarness, type Harness } from './test-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-retry');
});
afterAll(async () => {
  await h?.close();
});

/** Lets a worker on the harness's prefix take the job and fail it for good. */
async function failJob(jobId: string): Promise<void> {
  const connection = new Redis(h.redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker(uploadQueueName('s3'), async () => {
    throw new UnrecoverableError('x');
  }, { connection, prefix: h.prefix, autorun: false });
  const failed = new Promise<void>((resolve) => {
    worker.on('failed', (job) => {
      if (job?.id === jobId) resolve();
    });
  });
  void worker.run();
  await failed;
  await worker.close();
  connection.disconnect();
}

describe('POST /v1/deliveries/:token/retry', () => {
  it('puts a failed upload back in the queue, after which GET no longer shows it failed', async () => {
    const created = await postDelivery(h, s3Request());
    const { token, uploads } = created.json<DeliveryAccepted>();
    const jobId = uploads[0]!.job_id;

    await failJob(jobId);
    await h.producer.deliveries.recordFinal(token, 0, {
      state: 'failed',
      error: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: 'x' },
      attempts: 1,
      finished_at: new Date().toISOString(),
    });
    const before = (await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice })).json<DeliveryStatus>();
    expect(before.state).toBe('failed');
    expect(before.uploads[0]?.state).toBe('failed');

    const res = await h.app.inject({ method: 'POST', url: `/v1/deliveries/${token}/retry`, headers: asAlice });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ retried: [0], not_retried: [] });
    expect(await (await h.producer.queue('s3').getJob(jobId))?.getState()).toBe('prioritized');

    const after = (await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice })).json<DeliveryStatus>();
    expect(after.uploads[0]?.state).toBe('queued');
    expect(after.state).toBe('pending');
  });

  it('retries nothing when no upload failed, and says why per upload', async () => {
    const { token } = (await postDelivery(h, s3Request())).json<DeliveryAccepted>();
    const res = await h.app.inject({
      method: 'POST',
      url: `/v1/deliveries/${token}/retry`,
      // A client that always sends a JSON content type with an empty body is fine.
      headers: { ...asAlice, 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ retried: [], not_retried: [{ index: 0, state: 'queued', reason: 'only failed uploads are retried' }] });
  });
});
