import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryStatus } from '@upload-fleet/core';
import type { DeliveryAccepted } from './server.js';
import { asAlice, asBob, postDelivery, s3Destination, s3Request, SOURCE, startHarness, type Harness } from './test-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-status');
});
afterAll(async () => {
  await h?.close();
});

const twoUploads = {
  source: SOURCE,
  uploads: [{ destination: s3Destination() }, { destination: { type: 'dropbox', filename: 'Videos/welcome.mp4', oauth_token: 'sl.dropbox-token-abcdef' } }],
};

async function create(body: unknown = twoUploads): Promise<DeliveryAccepted> {
  const res = await postDelivery(h, body);
  expect(res.statusCode).toBe(202);
  return res.json<DeliveryAccepted>();
}

describe('GET /v1/deliveries/:token', () => {
  it('shows a queued delivery as pending with state queued per upload, and no secrets', async () => {
    const { token } = await create();
    const res = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice });
    expect(res.statusCode).toBe(200);
    const status = res.json<DeliveryStatus>();
    expect(status).toMatchObject({ token, state: 'pending' });
    expect(status.uploads.map((u) => [u.index, u.type, u.job_id, u.state])).toEqual([
      [0, 's3', `${token}-0`, 'queued'],
      [1, 'dropbox', `${token}-1`, 'queued'],
    ]);
    expect(res.body).not.toContain('sl.dropbox-token-abcdef');
    expect(res.body).not.toContain('wJalrXUtnFEMI');
  });

  it('keeps the spec\'s { token, upload: URL } shape at the top level for a completed single upload', async () => {
    const { token } = await create(s3Request());
    const url = 'https://my-videos.s3.amazonaws.com/renders/welcome.mp4';
    await h.producer.deliveries.recordFinal(token, 0, {
      state: 'completed',
      result: { url, bytes: 1234, bucket: 'my-videos', key: 'renders/welcome.mp4' },
      attempts: 1,
      finished_at: new Date().toISOString(),
    });
    const res = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ token, state: 'completed', upload: url, result: { url, bytes: 1234 }, uploads: [{ state: 'completed', upload: url }] });
  });

  it('answers 404 UF_DELIVERY_NOT_FOUND for an unknown token (GET, DELETE and retry)', async () => {
    for (const [method, url] of [
      ['GET', '/v1/deliveries/dlv_doesnotexist'],
      ['DELETE', '/v1/deliveries/dlv_doesnotexist'],
      ['POST', '/v1/deliveries/dlv_doesnotexist/retry'],
      ['GET', '/v1/deliveries/not%20a%20token'],
    ] as const) {
      const res = await h.app.inject({ method, url, headers: asAlice });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().error.code).toBe('UF_DELIVERY_NOT_FOUND');
    }
  });

  it('answers 403 UF_DELIVERY_FORBIDDEN when the delivery belongs to another API key, and changes nothing', async () => {
    const { token } = await create();
    for (const [method, url] of [
      ['GET', `/v1/deliveries/${token}`],
      ['DELETE', `/v1/deliveries/${token}`],
      ['POST', `/v1/deliveries/${token}/retry`],
    ] as const) {
      const res = await h.app.inject({ method, url, headers: asBob });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error.code).toBe('UF_DELIVERY_FORBIDDEN');
    }
    expect(await (await h.producer.queue('s3').getJob(`${token}-0`))?.getState()).toBe('prioritized');
    expect(await (await h.producer.queue('dropbox').getJob(`${token}-1`))?.getState()).toBe('prioritized');
  });

  it('scopes idempotency keys to the API key: the same key from another owner makes another delivery', async () => {
    const request = s3Request({ idempotency_key: 'shared-key' });
    const a = await postDelivery(h, request, asAlice);
    const b = await postDelivery(h, request, asBob);
    expect(a.statusCode).toBe(202);
    expect(b.statusCode).toBe(202);
    expect(b.json<DeliveryAccepted>().token).not.toBe(a.json<DeliveryAccepted>().token);
  });
});

describe('DELETE /v1/deliveries/:token', () => {
  it('cancels the queued uploads, after which GET shows them cancelled', async () => {
    const { token } = await create();
    const res = await h.app.inject({ method: 'DELETE', url: `/v1/deliveries/${token}`, headers: asAlice });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ cancelled: [0, 1], not_cancelled: [] });
    expect(await h.producer.queue('s3').getJob(`${token}-0`)).toBeUndefined();
    expect(await h.producer.queue('dropbox').getJob(`${token}-1`)).toBeUndefined();

    const status = (await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice })).json<DeliveryStatus>();
    expect(status.state).toBe('cancelled');
    expect(status.uploads.map((u) => u.state)).toEqual(['cancelled', 'cancelled']);

    const again = await h.app.inject({ method: 'DELETE', url: `/v1/deliveries/${token}`, headers: asAlice });
    expect(again.json()).toEqual({ cancelled: [], not_cancelled: [{ index: 0, state: 'cancelled' }, { index: 1, state: 'cancelled' }] });
  });
});
