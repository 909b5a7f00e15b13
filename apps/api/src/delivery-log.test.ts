/**
 * The delivery log end to end: GET /v1/deliveries lists the caller's deliveries newest first
 * with filters and cursor pages, and POST /v1/deliveries/{token}/webhook sends a finished
 * delivery's webhook again, delivered by a real worker process (HTTP pool and webhook sender)
 * to a local HTTP receiver.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryStatus } from '@upload-fleet/core';
import { startHttpReceiver, until, type HttpReceiver } from '@upload-fleet/testkit';
import { asAlice, asBob, finishedStatus, postDelivery, s3Request, startHarnessWithWorker, type HarnessWithWorker } from './test-harness.js';

describe('the delivery log and webhook replay through the API and a worker', () => {
  let h: HarnessWithWorker;
  let receiver: HttpReceiver;
  const tokens: Record<string, string> = {};

  const list = async (query = '', headers = asAlice) => {
    const res = await h.app.inject({ method: 'GET', url: `/v1/deliveries${query}`, headers });
    return { res, page: res.json<{ deliveries: DeliveryStatus[]; next_cursor?: string }>() };
  };
  const submit = async (body: unknown, headers = asAlice) => {
    const res = await postDelivery(h, body, headers);
    expect(res.statusCode, res.body).toBe(202);
    return res.json<{ token: string }>().token;
  };

  beforeAll(async () => {
    h = await startHarnessWithWorker('api-delivery-log', 'http');
    receiver = await startHttpReceiver();
    writeFileSync(join(h.sourceRoot, 'clip.mp4'), Buffer.alloc(4096, 7));
    const http = { type: 'http', url: `${receiver.url}/in`, filename: 'clip.mp4' };
    // Oldest first; each one a millisecond apart at least, so "newest first" is well defined.
    tokens.httpDone = await submit({ source: { path: 'clip.mp4' }, upload: { destination: http } });
    await finishedStatus(h, tokens.httpDone);
    tokens.bobs = await submit({ source: { path: 'clip.mp4' }, upload: { destination: http } }, asBob);
    // No s3 pool runs: this one stays pending.
    tokens.s3Pending = await submit(s3Request({ callback_url: `${receiver.url}/hooks` }));
    tokens.hooked = await submit({ source: { path: 'clip.mp4' }, upload: { destination: http }, callback_url: `${receiver.url}/hooks` });
    await finishedStatus(h, tokens.hooked);
  }, 90_000);
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('lists only the caller\'s deliveries, newest first, each as GET /v1/deliveries/{token} answers it', async () => {
    const { res, page } = await list();
    expect(res.statusCode).toBe(200);
    expect(page.deliveries.map((d) => d.token)).toEqual([tokens.hooked, tokens.s3Pending, tokens.httpDone]);
    expect(page.next_cursor).toBeUndefined();
    const single = (await h.app.inject({ method: 'GET', url: `/v1/deliveries/${tokens.httpDone}`, headers: asAlice })).json<DeliveryStatus>();
    expect(page.deliveries[2]).toEqual(single);
    expect(JSON.stringify(page)).not.toContain('wJalrXUtnFEMI');
    expect((await list('', asBob)).page.deliveries.map((d) => d.token)).toEqual([tokens.bobs]);
  });

  it('filters by state, destination type and time range', async () => {
    expect((await list('?state=completed')).page.deliveries.map((d) => d.token)).toEqual([tokens.hooked, tokens.httpDone]);
    expect((await list('?state=pending,failed')).page.deliveries.map((d) => d.token)).toEqual([tokens.s3Pending]);
    expect((await list('?type=s3')).page.deliveries.map((d) => d.token)).toEqual([tokens.s3Pending]);
    const created = (await list()).page.deliveries.map((d) => d.created_at);
    // Inclusive bounds: from the middle one's time, up to it.
    expect((await list(`?created_after=${created[1]}`)).page.deliveries.map((d) => d.token)).toEqual([tokens.hooked, tokens.s3Pending]);
    expect((await list(`?created_before=${created[1]}`)).page.deliveries.map((d) => d.token)).toEqual([tokens.s3Pending, tokens.httpDone]);
    expect((await list(`?created_after=${new Date(Date.parse(created[0]!) + 1).toISOString()}`)).page.deliveries).toEqual([]);
  });

  it('pages with a cursor: every delivery once, in order, filters kept', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 5; pages += 1) {
      const { page } = await list(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.deliveries.map((d) => d.token));
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([tokens.hooked, tokens.s3Pending, tokens.httpDone]);
    const first = await list('?state=completed&limit=1');
    expect(first.page.deliveries.map((d) => d.token)).toEqual([tokens.hooked]);
    expect((await list(`?state=completed&limit=1&cursor=${first.page.next_cursor}`)).page.deliveries.map((d) => d.token)).toEqual([tokens.httpDone]);
  });

  it('answers 400 naming each bad parameter', async () => {
    const { res } = await list('?state=done&limit=1000&type=gopher&created_after=yesterday&cursor=not-ours&sort=asc');
    expect(res.statusCode).toBe(400);
    const paths = res.json<{ error: { problems: { path: string }[] } }>().error.problems.map((p) => p.path);
    expect(paths.sort()).toEqual(['created_after', 'limit', 'sort', 'state.0', 'type']);
    const cursor = await list('?cursor=not-ours');
    expect(cursor.res.statusCode).toBe(400);
    expect(cursor.res.json<{ error: { problems: unknown[] } }>().error.problems).toEqual([{ path: 'cursor', message: expect.stringContaining('next_cursor') }]);
  });

  it('sends a finished delivery\'s webhook again, signed, and the status shows it delivered', async () => {
    const hooks = () => receiver.requests.filter((r) => r.path === '/hooks' && r.headers['upload-fleet-delivery'] === tokens.hooked && r.complete);
    await until('the first webhook', () => (hooks().length === 1 ? true : undefined));
    const replay = await h.app.inject({ method: 'POST', url: `/v1/deliveries/${tokens.hooked}/webhook`, headers: asAlice });
    expect(replay.statusCode, replay.body).toBe(202);
    expect(replay.json()).toEqual({ token: tokens.hooked, webhook_job_id: expect.stringMatching(new RegExp(`^${tokens.hooked}-webhook-replay-`)) });
    await until('the replayed webhook', () => (hooks().length === 2 ? true : undefined), 30_000);
    const [, again] = hooks();
    expect(again!.headers['upload-fleet-event']).toBe('delivery.finished');
    expect(again!.headers['upload-fleet-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const status = await until('the webhook outcome', async () => {
      const s = (await h.app.inject({ method: 'GET', url: `/v1/deliveries/${tokens.hooked}`, headers: asAlice })).json<DeliveryStatus>();
      return s.webhook?.state === 'delivered' ? s : undefined;
    });
    expect(status.webhook).toMatchObject({ state: 'delivered', last_status: 200 });
  }, 60_000);

  it('refuses a replay with a clear 4xx: no callback_url, not finished, another key\'s delivery', async () => {
    const replay = (token: string, headers = asAlice) => h.app.inject({ method: 'POST', url: `/v1/deliveries/${token}/webhook`, headers });
    const none = await replay(tokens.httpDone!);
    expect(none.statusCode).toBe(409);
    expect(none.json()).toMatchObject({ error: { code: 'UF_NO_CALLBACK_URL', message: expect.stringContaining('no callback_url') } });
    const pending = await replay(tokens.s3Pending!);
    expect(pending.statusCode).toBe(409);
    expect(pending.json()).toMatchObject({ error: { code: 'UF_DELIVERY_NOT_FINISHED', message: expect.stringContaining('is pending') } });
    expect((await replay(tokens.hooked!, asBob)).statusCode).toBe(403);
    expect((await replay('dlv_unknown')).statusCode).toBe(404);
  });
});
