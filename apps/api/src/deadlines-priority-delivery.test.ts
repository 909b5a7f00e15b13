/**
 * Deadlines and priority end to end: deliveries submitted through the HTTP API while no
 * worker runs, then one real worker process (concurrency 1) takes them. `priority: high`
 * passes the backlog of its pool, `low` waits behind it; an upload that has not started by
 * its `expires_at` fails with UF_EXPIRED and sends nothing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpReceiver, type HttpReceiver } from '@upload-fleet/testkit';
import { finishedStatus, jobsOfToken, postDelivery, startHarnessWithWorker, type HarnessWithWorker } from './test-harness.js';

describe('deadlines and priority through the API and a worker', () => {
  let h: HarnessWithWorker;
  let receiver: HttpReceiver;

  beforeAll(async () => {
    h = await startHarnessWithWorker('api-deadlines', 'http', { WORKER_CONCURRENCY: '1' }, { deferWorker: true });
    receiver = await startHttpReceiver();
    writeFileSync(join(h.sourceRoot, 'clip.mp4'), Buffer.alloc(8192, 1));
  }, 60_000);
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  const submit = async (path: string, extra: Record<string, unknown> = {}) => {
    const res = await postDelivery(h, { source: { path: 'clip.mp4' }, upload: { destination: { type: 'http', url: `${receiver.url}${path}`, filename: 'clip.mp4' } }, ...extra });
    expect(res.statusCode, res.body).toBe(202);
    return res.json<{ token: string }>().token;
  };

  it('runs high before the backlog and low after it, and fails an upload not started by expires_at with UF_EXPIRED', async () => {
    const expiring = await submit('/expiring', { expires_at: new Date(Date.now() + 1_500).toISOString() });
    const backlog = [];
    for (let i = 0; i < 3; i += 1) backlog.push(await submit(`/normal-${i}`, i === 1 ? { priority: 'normal' } : {}));
    const low = await submit('/low', { priority: 'low', expires_at: new Date(Date.now() + 10 * 60_000).toISOString() });
    const high = await submit('/high', { priority: 'high' });

    // Every job waits in the queue's prioritized set, with its delivery's priority.
    const priorities = await Promise.all([expiring, ...backlog, low, high].map(async (token) => {
      const [job] = await jobsOfToken(h, 'http', token);
      return [job!.opts.priority, await job!.getState()];
    }));
    expect(priorities).toEqual([[2, 'prioritized'], [2, 'prioritized'], [2, 'prioritized'], [2, 'prioritized'], [3, 'prioritized'], [1, 'prioritized']]);

    await sleep(1_700); // past the expiring delivery's expires_at, nothing started yet
    h.startWorker();
    const statuses = await Promise.all([expiring, ...backlog, low, high].map((token) => finishedStatus(h, token)));

    const expired = statuses[0]!;
    expect(expired.state, h.worker.output().slice(-2000)).toBe('failed');
    expect(expired.uploads[0]!.error).toMatchObject({ code: 'UF_EXPIRED', category: 'permanent', message: expect.stringContaining('had not started by the delivery\'s expires_at') });
    expect(expired.uploads[0]!.attempts).toBe(1);
    expect(receiver.requests.filter((r) => r.path === '/expiring')).toEqual([]);

    for (const status of statuses.slice(1)) expect(status.state).toBe('completed');
    // One upload at a time: the order the receiver saw them is the order they ran.
    expect(receiver.requests.map((r) => r.path)).toEqual(['/high', '/normal-0', '/normal-1', '/normal-2', '/low']);
  }, 90_000);

  it('answers 400 for an expires_at in the past or malformed and for an unknown priority, naming the field', async () => {
    const res = await postDelivery(h, { source: { path: 'clip.mp4' }, upload: { destination: { type: 'http', url: `${receiver.url}/x`, filename: 'x.mp4' } }, expires_at: new Date(Date.now() - 1000).toISOString(), priority: 'urgent' });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { problems: unknown[] } }>().error.problems).toEqual([
      { path: 'expires_at', message: expect.stringContaining('expires_at is in the past') },
      { path: 'priority', message: 'priority must be "high", "normal" or "low"' },
    ]);
    const malformed = await postDelivery(h, { source: { path: 'clip.mp4' }, upload: { destination: { type: 'http', url: `${receiver.url}/x`, filename: 'x.mp4' } }, expires_at: 'tomorrow' });
    expect(malformed.json<{ error: { problems: unknown[] } }>().error.problems).toEqual([{ path: 'expires_at', message: expect.stringContaining('ISO 8601') }]);
  });
});
