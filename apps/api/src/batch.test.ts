import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAlice, asBob, s3Request, startHarness, type Harness } from './test-harness.js';

/** POST /v1/deliveries:batch: up to 100 deliveries, each with its own result. */
describe('POST /v1/deliveries:batch', () => {
  let h: Harness;
  const post = (payload: unknown, headers: Record<string, string> = asAlice) => h.app.inject({ method: 'POST', url: '/v1/deliveries:batch', headers, payload: payload as object });

  beforeAll(async () => {
    h = await startHarness('api-batch');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('submits each delivery on its own: results in order, a bad one refused with its problems, the others enqueued', async () => {
    const secret = 'batch-secret-never-echoed-9a7c';
    const bad = { source: { path: 'a.mp4' }, upload: { destination: { type: 's3', bucket: '', filename: 'x.mp4', aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: secret } } };
    const response = await post({ deliveries: [s3Request(), bad, s3Request({ idempotency_key: 'batch-1' }), s3Request({ idempotency_key: 'batch-1' })] });
    expect(response.statusCode, response.body).toBe(200);
    const { results } = response.json<{ results: { index: number; status: number; delivery?: { token: string; created: boolean; uploads: unknown[] }; error?: { error: { code: string; problems?: { path: string }[] } } }[] }>();
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(results[0]).toMatchObject({ status: 202, delivery: { created: true, uploads: [{ index: 0, type: 's3', state: 'queued' }] } });
    expect(results[1]).toMatchObject({ status: 400, error: { error: { code: 'UF_INVALID_REQUEST' } } });
    expect(results[1]!.error!.error.problems!.map((p) => p.path)).toContain('upload.destination.bucket');
    expect(response.body).not.toContain(secret);
    // One idempotency_key twice in one batch: one delivery, created once, answered twice.
    expect(results[2]!.delivery!.token).toBe(results[3]!.delivery!.token);
    expect([results[2]!.status, results[3]!.status].sort()).toEqual([200, 202]);
    // What was accepted is real: readable, and owned by the caller.
    const status = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${results[0]!.delivery!.token}`, headers: asAlice });
    expect(status.statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: `/v1/deliveries/${results[0]!.delivery!.token}`, headers: asBob })).statusCode).toBe(403);
    // An idempotency_key reused for another request is that item's 409, not the batch's.
    const conflict = await post({ deliveries: [s3Request({ idempotency_key: 'batch-1', metadata: { other: true } }), s3Request()] });
    expect(conflict.json<{ results: { status: number }[] }>().results.map((r) => r.status)).toEqual([409, 202]);
  });

  it('refuses a body that is not 1 to 100 deliveries, naming the field, and enqueues nothing', async () => {
    const before = await h.producer.index.count();
    for (const [payload, message] of [
      [{ deliveries: [] }, /deliveries must be a list of 1 to 100/],
      [{ deliveries: Array.from({ length: 101 }, () => s3Request()) }, /got 101.*split a longer list/],
      [{}, /deliveries must be a list of 1 to 100/],
      [{ deliveries: [s3Request()], extra: 1 }, /unknown field "extra"/],
    ] as const) {
      const response = await post(payload);
      expect(response.statusCode, response.body).toBe(400);
      const { error } = response.json<{ error: { code: string; problems: { path: string; message: string }[] } }>();
      expect(error.code).toBe('UF_INVALID_REQUEST');
      expect(error.problems.map((p) => `${p.path}: ${p.message}`).join('\n')).toMatch(message);
    }
    expect(await h.producer.index.count()).toBe(before);
    expect((await post({ deliveries: [s3Request()] }, {})).statusCode).toBe(401);
  });
});
