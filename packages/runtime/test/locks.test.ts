import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpReceiver, type HttpReceiver } from '@upload-fleet/testkit';
import { startFleetHarness, type FleetHarness } from './fleet-harness.js';

const MiB = 1024 * 1024;

/** With a 1 s lock, every upload here outlives its lock several times over. */
describe('job locks during long uploads', () => {
  let harness: FleetHarness;
  let receiver: HttpReceiver;
  let redis: Redis;

  beforeAll(async () => {
    harness = await startFleetHarness('locks', { lockDurationMs: 1000, stalledIntervalMs: 500 });
    receiver = await startHttpReceiver();
    redis = new Redis(harness.config.redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await harness?.dispose();
    await receiver?.close();
  });

  const submit = (file: string, path: string) =>
    harness.fleet.producer.enqueue({ source: { path: file }, upload: { destination: { type: 'http', url: `${receiver.url}${path}`, filename: file, method: 'PUT' } } });

  it('keeps the lock of an upload that lasts longer than the lock, so it runs exactly once', async () => {
    const file = harness.writeSource('long.bin', 3 * MiB);
    receiver.setThrottle(MiB); // ~3 s, three lock durations
    const { token } = await submit(file.name, '/long');
    const final = await harness.fleet.producer.waitFor(token, { timeoutMs: 30_000, pollIntervalMs: 100 });
    receiver.setThrottle(0);
    expect(final.uploads[0]).toMatchObject({ state: 'completed', attempts: 1 });
    expect(receiver.requests.filter((r) => r.path === '/long')).toHaveLength(1);
  });

  it('aborts an upload whose lock was lost, and the job runs again once and completes', async () => {
    const file = harness.writeSource('lost.bin', 4 * MiB);
    receiver.setThrottle(MiB);
    const { token, uploads } = await submit(file.name, '/lost');
    const deadline = Date.now() + 10_000;
    while (!receiver.requests.some((r) => r.path === '/lost' && r.bodyBytes > 256 * 1024) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Another worker "took" the job: its lock is gone, so this worker's next renewal fails.
    await redis.del(`${harness.config.prefix}:upload-http:${uploads[0]!.job_id}:lock`);
    const deadline2 = Date.now() + 10_000;
    while (!receiver.requests.some((r) => r.path === '/lost' && !r.complete && r.bodyBytes > 0) && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 20));
    // The first request must end unfinished: the upload was aborted, not completed twice.
    const first = receiver.requests.find((r) => r.path === '/lost')!;
    const aborted = Date.now() + 10_000;
    while (receiver.requests.filter((r) => r.path === '/lost').length < 2 && Date.now() < aborted) await new Promise((r) => setTimeout(r, 20));
    receiver.setThrottle(0);
    expect(first.complete).toBe(false);
    expect(first.bodyBytes).toBeLessThan(file.size);

    const final = await harness.fleet.producer.waitFor(token, { timeoutMs: 30_000, pollIntervalMs: 100 });
    expect(final.state).toBe('completed');
    const complete = receiver.requests.filter((r) => r.path === '/lost' && r.complete);
    expect(complete).toHaveLength(1);
    expect(complete[0]!.sha256).toBe(file.sha256);
  });
});
