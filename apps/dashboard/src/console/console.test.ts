import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, shardFor } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { PLANTED, asOps, startDashboardHarness, type DashboardHarness } from '../test-support.js';
import { ACTION_HEADER, filterOf } from './console-routes.js';

let h: DashboardHarness;
beforeAll(async () => {
  h = await startDashboardHarness('console');
});
afterAll(async () => {
  await h?.close();
});

describe('the console JSON over the planted jobs', () => {
  it('lists the deliveries and shows each, with no planted secret in any answer', async () => {
    const app = await h.dashboard();
    const list = await app.inject({ method: 'GET', url: '/console/api/deliveries', headers: asOps });
    expect(list.statusCode).toBe(200);
    const tokens = list.json<{ deliveries: { token: string }[] }>().deliveries.map((d) => d.token);
    expect(tokens).toContain(h.planted.s3Token);
    const bodies = [list.body];
    for (const path of [...tokens.map((t) => `/console/api/deliveries/${t}`), ...tokens.map((t) => `/console/deliveries/${t}`), '/console', '/console/limits', '/console/pools', '/console/api/limits', '/console/api/pools']) {
      const res = await app.inject({ method: 'GET', url: path, headers: asOps });
      expect(res.statusCode, path).toBe(200);
      bodies.push(res.body);
    }
    for (const body of bodies) for (const value of [...Object.values(PLANTED), h.planted.envelopeCiphertext]) expect(body).not.toContain(value);
    // The failed S3 upload's log is shown, its secrets replaced.
    const s3 = (await app.inject({ method: 'GET', url: `/console/api/deliveries/${h.planted.s3Token}`, headers: asOps })).json<{ uploads: { log: string[] }[] }>();
    expect(s3.uploads[0]!.log.join('\n')).toContain('Authorization: Bearer [REDACTED]');
  });

  it('refuses unknown filters, naming the parameter and what it takes', () => {
    expect(filterOf({ state: 'done' })).toEqual({ error: expect.stringMatching(/^state must be one of pending, in_progress/) });
    expect(filterOf({ type: 'gopher' })).toEqual({ error: expect.stringMatching(/^type must be one of/) });
    expect(filterOf({ from: 'yesterday' })).toEqual({ error: expect.stringMatching(/^from must be a date and time/) });
    expect(filterOf({ state: 'failed,cancelled', from: '2026-12-03T14:00', q: ' acme ' })).toEqual({ states: ['failed', 'cancelled'], fromMs: Date.parse('2026-12-03T14:00Z'), search: 'acme' });
  });
});

describe('console actions', () => {
  it('read-only (the default): cancel and retry are refused, nothing changes, and the page offers no button', async () => {
    const app = await h.dashboard();
    const { token } = await h.failedDelivery();
    for (const action of ['cancel', 'retry']) {
      const res = await app.inject({ method: 'POST', url: `/console/api/deliveries/${token}/${action}`, headers: { ...asOps, [ACTION_HEADER]: '1' } });
      expect(res.statusCode).toBe(403);
      expect(res.json<{ error: string }>().error).toMatch(/read-only/);
    }
    expect((await h.producer.get(token)).state).toBe('failed');
    const page = await app.inject({ method: 'GET', url: `/console/deliveries/${token}`, headers: asOps });
    expect(page.body).not.toContain('data-action="retry"');
  });

  it('DASHBOARD_READ_ONLY=false: retry and cancel as the API does them, only with the page\'s header (no cross-site form can send it)', async () => {
    const app = await h.dashboard({ readOnly: false });
    const { token } = await h.failedDelivery();
    const page = await app.inject({ method: 'GET', url: `/console/deliveries/${token}`, headers: asOps });
    expect(page.body).toContain('data-action="retry"');
    const forged = await app.inject({ method: 'POST', url: `/console/api/deliveries/${token}/retry`, headers: asOps });
    expect(forged.statusCode).toBe(403);
    expect((await h.producer.get(token)).state).toBe('failed');

    const retried = await app.inject({ method: 'POST', url: `/console/api/deliveries/${token}/retry`, headers: { ...asOps, [ACTION_HEADER]: '1' } });
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toEqual({ retried: [0], not_retried: [] });
    expect((await h.producer.get(token)).uploads[0]?.state).toBe('queued');

    const cancelled = await app.inject({ method: 'POST', url: `/console/api/deliveries/${token}/cancel`, headers: { ...asOps, [ACTION_HEADER]: '1' } });
    expect(cancelled.json()).toEqual({ cancelled: [0], not_cancelled: [] });
    expect((await h.producer.get(token)).state).toBe('cancelled');
    const missing = await app.inject({ method: 'POST', url: '/console/api/deliveries/dlv_nope/cancel', headers: { ...asOps, [ACTION_HEADER]: '1' } });
    expect(missing.statusCode).toBe(404);
  });
});

describe('a pool split into shards (POOL_SHARDS)', () => {
  it('shows and counts each shard\'s queue, and finds an upload on its shard', async () => {
    const poolShards = { http: 3 };
    const sharded = new Producer({ connection: h.connection, prefix: h.prefix, secretBox: new SecretBox([{ id: 'test', key: randomBytes(32) }]), poolShards });
    try {
      // An account (the http limit key is the host) that the placement puts on the last shard.
      const host = Array.from({ length: 50 }, (_, i) => `in-${i}.example.com`).find((name) => shardFor(poolShards, 'http', name) === 2)!;
      const { token } = await sharded.enqueue({ source: { url: 'https://media.example.com/a.mp4' }, upload: { destination: { type: 'http', url: `https://${host}/in`, filename: 'a.mp4' } } });
      const job = (await sharded.shardQueues('http')[2]!.getJob(`${token}-0`))!;
      await job.log('waiting on shard 3 of 3');
      const app = await h.dashboard({ poolShards });
      const pools = (await app.inject({ method: 'GET', url: '/console/api/pools', headers: asOps })).json<{ pools: { queue: string; label: string; counts: Record<string, number> }[] }>().pools;
      const http = pools.filter((p) => p.queue.startsWith('upload-http'));
      expect(http.map((p) => [p.queue, p.label])).toEqual([
        ['upload-http', 'HTTP (shard 1 of 3)'],
        ['upload-http-1', 'HTTP (shard 2 of 3)'],
        ['upload-http-2', 'HTTP (shard 3 of 3)'],
      ]);
      expect(http[2]!.counts.prioritized).toBe(1);
      const detail = (await app.inject({ method: 'GET', url: `/console/api/deliveries/${token}`, headers: asOps })).json<{ status: { uploads: { state: string }[] }; uploads: { log: string[] }[] }>();
      expect(detail.status.uploads.map((u) => u.state)).toEqual(['queued']);
      // The job's log comes from its shard's queue.
      expect(detail.uploads[0]!.log).toEqual(['waiting on shard 3 of 3']);
      await sharded.cancel(token);
    } finally {
      await sharded.close();
    }
  });
});
