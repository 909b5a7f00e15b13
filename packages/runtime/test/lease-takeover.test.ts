import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '@upload-fleet/producer';
import { startHttpReceiver, until, type HttpReceiver } from '@upload-fleet/testkit';
import { parseLimitRules } from '../src/index.js';
import { startFleetHarness, type FleetHarness } from './fleet-harness.js';

/** Far longer than any wait below: a job that waited for this lease to lapse would time the test out. */
const LEASE_TTL_MS = 60_000;

/**
 * A worker killed mid-upload leaves its concurrency lease behind until the lease lapses.
 * The job's next run (on another worker) must take that lease over at once; any other job
 * must still wait for it, or the cap (Dropbox: 1 per account) would not hold.
 */
describe('a concurrency lease left by a killed attempt', () => {
  let harness: FleetHarness;
  let receiver: HttpReceiver;
  let redis: Redis;
  let producer: Producer;

  beforeAll(async () => {
    harness = await startFleetHarness('lease-takeover', { limitRules: parseLimitRules(JSON.stringify({ http: { concurrency: 1 } }), {}), leaseTtlMs: LEASE_TTL_MS });
    // No worker runs while the leases of the "killed" attempts are laid out.
    await harness.fleet.close();
    receiver = await startHttpReceiver();
    redis = new Redis(harness.config.redisUrl);
    producer = new Producer({ connection: redis, prefix: harness.config.prefix, secretBox: harness.config.secretBox });
  });
  afterAll(async () => {
    await producer?.close();
    redis?.disconnect();
    await harness?.dispose();
    await receiver?.close();
  });

  const leasesKey = () => `${harness.config.prefix}:limit:{http:${new URL(receiver.url).host}}:leases`;
  /** What a worker killed while holding the lease leaves in Redis: the lease, still valid for a minute. */
  const leaveLease = async (holder: string) => redis.zadd(leasesKey(), Date.now() + LEASE_TTL_MS, holder);
  const submit = (path: string) => {
    const file = harness.writeSource(`${path}.bin`, 1000);
    return producer.enqueue({ source: { path: file.name }, upload: { destination: { type: 'http', url: `${receiver.url}/${path}`, filename: file.name, method: 'PUT' } } });
  };

  it('does not defer the same job: its re-run takes the lease over and completes', async () => {
    const { token, uploads } = await submit('resumed');
    const jobId = uploads[0]!.job_id;
    await leaveLease(jobId);
    await harness.restart();

    const final = await producer.waitFor(token, { timeoutMs: 20_000, pollIntervalMs: 100 });
    expect(final.uploads[0]).toMatchObject({ state: 'completed', attempts: 1 });
    const { logs } = await producer.queue('http').getJobLogs(jobId);
    expect(logs.filter((line) => line.includes('deferred'))).toEqual([]);
    // The lease ended with the upload: the key is free for the next job at once.
    expect(await redis.zscore(leasesKey(), jobId)).toBeNull();
  });

  it('still defers a different job while the lease is held', async () => {
    await leaveLease('some-other-job-0');
    const { token, uploads } = await submit('other');
    const waiting = await until('the upload to be deferred', async () => {
      const status = await producer.get(token);
      return status.uploads[0]?.state === 'deferred' ? status.uploads[0] : undefined;
    });
    expect(waiting).toMatchObject({ deferred_reason: 'rate_limited' });
    const { logs } = await producer.queue('http').getJobLogs(uploads[0]!.job_id);
    expect(logs.some((line) => line.includes('deferred (concurrency)'))).toBe(true);
    expect(receiver.requests.some((r) => r.path === '/other')).toBe(false);
  });
});
