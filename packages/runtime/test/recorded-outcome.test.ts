import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpReceiver, until, type HttpReceiver } from '@upload-fleet/testkit';
import { uploadIdOf } from '../src/index.js';
import { startFleetHarness, type FleetHarness } from './fleet-harness.js';

/**
 * BullMQ runs a job at least once: when Redis is away longer than the job lock, a finished
 * job whose outcome already reached the delivery record can run again. The record decides.
 */
describe('an upload the delivery record shows completed', () => {
  let harness: FleetHarness;
  let receiver: HttpReceiver;

  beforeAll(async () => {
    harness = await startFleetHarness('recorded-outcome');
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await harness?.dispose();
    await receiver?.close();
  });

  const destination = (path: string) => ({ type: 'http', url: `${receiver.url}${path}`, filename: 'v.bin', method: 'PUT' });

  it('is not uploaded again when its job runs again: the job completes with the recorded result', async () => {
    const file = harness.writeSource('once.bin', 2000);
    const { producer } = harness.fleet;
    const { token, uploads } = await producer.enqueue({ source: { path: file.name }, upload: { destination: destination('/once') } });
    const first = await producer.waitFor(token, { timeoutMs: 30_000, pollIntervalMs: 100 });
    expect(first.state).toBe('completed');
    const queue = producer.queue('http');
    // The record is written before BullMQ finishes the job: wait for the job's own completion.
    const job = await until('the job to complete', async () => {
      const current = await queue.getJob(uploads[0]!.job_id);
      return current?.finishedOn !== undefined && (await current.getState()) === 'completed' ? current : undefined;
    }, 30_000);
    const finishedOn = job.finishedOn!;

    // The job runs again, as it does after a lost lock: back to waiting, record untouched.
    await job.retry('completed');
    const again = await until('the job to complete again', async () => {
      const current = await queue.getJob(uploads[0]!.job_id);
      return current && (await current.getState()) === 'completed' && (current.finishedOn ?? 0) > finishedOn ? current : undefined;
    }, 30_000);

    expect(receiver.requests.filter((r) => r.path === '/once')).toHaveLength(1);
    expect(again.returnvalue).toEqual(first.result);
    const { logs } = await queue.getJobLogs(uploads[0]!.job_id);
    expect(logs.some((line) => line.includes('nothing sent again'))).toBe(true);
    expect((await producer.get(token)).uploads[0]).toMatchObject({ state: 'completed', attempts: 1 });
  });

  it('sends an Idempotency-Key that is the same on every attempt of one upload and differs between uploads', async () => {
    const file = harness.writeSource('keyed.bin', 2000);
    const { producer } = harness.fleet;
    receiver.setFaults([{ status: 503 }]);
    const { token } = await producer.enqueue({ source: { path: file.name }, uploads: [{ destination: destination('/keyed/0') }, { destination: destination('/keyed/1') }] });
    const final = await producer.waitFor(token, { timeoutMs: 30_000, pollIntervalMs: 100 });
    expect(final.state).toBe('completed');

    const keysOf = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => r.headers['idempotency-key']);
    const [retried, other] = [keysOf('/keyed/0'), keysOf('/keyed/1')];
    // One of the two met the 503 and was retried: its attempts carry one key.
    const attempts = retried.length > 1 ? retried : other;
    expect(attempts.length).toBe(2);
    expect(new Set(attempts).size).toBe(1);
    expect(retried[0]).toBe(`"${uploadIdOf(token, 0)}"`);
    expect(other[0]).toBe(`"${uploadIdOf(token, 1)}"`);
    expect(retried[0]).not.toBe(other[0]);
    // A structured-field string holding a UUID-shaped key, not the delivery token.
    expect(retried[0]).toMatch(/^"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"$/);
    expect(retried[0]).not.toContain(token);
  });
});
