import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryStatus } from '@upload-fleet/core';
import { dumpPrefix, startHttpReceiver, type HttpReceiver } from '@upload-fleet/testkit';
import { SIGNATURE_HEADER } from '../src/index.js';
import { startFleetHarness, WEBHOOK_SECRET, type FleetHarness } from './fleet-harness.js';

const PASSWORD = 'p4ssw0rd-never-stored';
const BEARER = 'Bearer tok-never-stored-123';

describe('a delivery through the worker fleet to a local HTTP server', () => {
  let harness: FleetHarness;
  let receiver: HttpReceiver;

  beforeAll(async () => {
    harness = await startFleetHarness('fleet');
    receiver = await startHttpReceiver();
  });
  afterAll(async () => {
    await harness?.dispose();
    await receiver?.close();
  });

  const submit = (destination: Record<string, unknown>, source: string, extra: Record<string, unknown> = {}) =>
    harness.fleet.producer.enqueue({ source: { path: source }, upload: { extension: 'mp4', destination: { type: 'http', filename: 'welcome.mp4', ...destination } }, ...extra });

  it('POSTs the file as multipart with fields, headers and basic auth, and reports progress then the result', async () => {
    receiver.setThrottle?.(2 * 1024 * 1024); // bytes per second: the upload takes ~5 s
    const file = harness.writeSource('post.mp4', 10 * 1024 * 1024);
    const { token } = await submit(
      { url: `${receiver.url}/upload?via=post`, method: 'POST', fileid: 'video', fields: { title: 'Welcome', n: '7' }, headers: { Authorization: BEARER, 'X-Render': 'r-1' }, user: 'alice', password: PASSWORD },
      file.name,
    );
    const seen: DeliveryStatus[] = [];
    const final = await harness.fleet.producer.waitFor(token, { onProgress: (s) => seen.push(s), pollIntervalMs: 200, timeoutMs: 30_000 });
    receiver.setThrottle?.(0);

    expect(final.state).toBe('completed');
    const request = receiver.requests.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.files).toHaveLength(1);
    expect(request.files[0]).toMatchObject({ field: 'video', filename: 'welcome.mp4', contentType: 'video/mp4', size: file.size, sha256: file.sha256 });
    expect(request.fields).toEqual({ title: 'Welcome', n: '7' });
    expect(request.headers.authorization).toBe(BEARER);
    expect(request.headers['x-render']).toBe('r-1');
    // Basic auth from user/password: Authorization is taken by the custom header, so the
    // adapter must not silently drop one of them; check what arrived.
    const mid = seen.filter((s) => s.uploads[0]?.state === 'active' && (s.uploads[0].progress?.bytes_sent ?? 0) > 0);
    expect(mid.length).toBeGreaterThan(0);
    expect(mid.every((s) => s.uploads[0]!.progress!.bytes_total === file.size)).toBe(true);
    expect(final.upload).toBe(`${receiver.url}/upload?via=post`);
    expect(final.result).toMatchObject({ status: 200, bytes: file.size });
    expect(final.uploads[0]).toMatchObject({ state: 'completed', attempts: 1 });
  });

  it('PUTs the raw bytes with basic auth', async () => {
    const file = harness.writeSource('put.bin', 3 * 1024 * 1024 + 17);
    const { token } = await submit({ url: `${receiver.url}/files/put.bin`, method: 'PUT', user: 'bob', password: PASSWORD }, file.name);
    const final = await harness.fleet.producer.waitFor(token, { pollIntervalMs: 100, timeoutMs: 30_000 });
    expect(final.state).toBe('completed');
    const request = receiver.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'PUT', path: '/files/put.bin', fileSize: file.size, sha256: file.sha256, basicAuth: { user: 'bob', password: PASSWORD } });
    expect(request.headers['content-length']).toBe(String(file.size));
  });

  it('leaves no plaintext secret anywhere under its Redis prefix', async () => {
    const everything = [...(await dumpPrefix(harness.config.redisUrl, harness.config.prefix)).values()].join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of [PASSWORD, BEARER, 'tok-never-stored-123', Buffer.from(`bob:${PASSWORD}`).toString('base64')]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('stores no credential that a 2xx answer echoes back, neither in Redis nor in the status', async () => {
    const basic = Buffer.from(`carol:${PASSWORD}`).toString('base64');
    receiver.setFaults([{ status: 200, headers: { 'x-seen-authorization': `Basic ${basic}` }, body: JSON.stringify({ authorization: `Basic ${basic}`, bearer: BEARER }) }]);
    const file = harness.writeSource('echo.bin', 1000);
    const { token } = await submit({ url: `${receiver.url}/echo`, method: 'PUT', user: 'carol', password: PASSWORD, headers: { 'X-Token': BEARER } }, file.name);
    const final = await harness.fleet.producer.waitFor(token, { pollIntervalMs: 100, timeoutMs: 30_000 });
    expect(final.state).toBe('completed');
    expect(final.result).toMatchObject({ status: 200, headers: { 'x-seen-authorization': '[REDACTED]' } });
    const everything = [...(await dumpPrefix(harness.config.redisUrl, harness.config.prefix)).values()].join('\n') + JSON.stringify(final);
    for (const secret of [basic, PASSWORD, BEARER, 'tok-never-stored-123']) expect(everything).not.toContain(secret);
  });

  it('fails a permanent error after one attempt, with the code and a message that says what to do', async () => {
    const file = harness.writeSource('permanent.mp4', 1000);
    receiver.setFaults([{ status: 400, body: 'bad field' }]);
    const before = receiver.requests.length;
    const { token } = await submit({ url: `${receiver.url}/reject`, method: 'PUT' }, file.name);
    const final = await harness.fleet.producer.waitFor(token, { pollIntervalMs: 100, timeoutMs: 30_000 });
    expect(final.state).toBe('failed');
    expect(final.uploads[0]).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'UF_DESTINATION_REJECTED', category: 'permanent' } });
    expect(final.uploads[0]!.error!.message).toMatch(/400/);
    expect(receiver.requests.length - before).toBe(1);
    const job = await harness.fleet.producer.queue('http').getJob(final.uploads[0]!.job_id);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
  });

  it('retries a transient error with growing delays and then succeeds', async () => {
    const file = harness.writeSource('transient.mp4', 2000);
    receiver.setFaults([{ status: 503 }, { status: 502 }]);
    const before = receiver.requests.length;
    const { token } = await submit({ url: `${receiver.url}/flaky`, method: 'PUT' }, file.name);
    const states: string[] = [];
    const final = await harness.fleet.producer.waitFor(token, { onProgress: (s) => states.push(s.uploads[0]!.state), pollIntervalMs: 50, timeoutMs: 30_000 });
    expect(final.state).toBe('completed');
    expect(final.uploads[0]!.attempts).toBe(3);
    expect(states).toContain('deferred');
    const arrivals = receiver.requests.slice(before).map((r) => r.receivedAt);
    expect(arrivals).toHaveLength(3);
    const firstGap = arrivals[1]! - arrivals[0]!;
    const secondGap = arrivals[2]! - arrivals[1]!;
    // base 400 ms: the first wait is 200..400 ms, the second 400..800 ms.
    expect(firstGap).toBeGreaterThanOrEqual(190);
    expect(secondGap).toBeGreaterThan(firstGap);
    expect(receiver.requests.at(-1)!.sha256).toBe(file.sha256);
  });

  it('defers on 429 for the Retry-After time without using up an attempt', async () => {
    const file = harness.writeSource('limited.mp4', 500);
    receiver.setFaults([{ status: 429, retryAfter: '1' }]);
    const before = receiver.requests.length;
    const { token } = await submit({ url: `${receiver.url}/limited`, method: 'PUT' }, file.name);
    let deferred: DeliveryStatus | undefined;
    const final = await harness.fleet.producer.waitFor(token, {
      onProgress: (s) => {
        if (s.uploads[0]?.state === 'deferred') deferred ??= s;
      },
      pollIntervalMs: 50,
      timeoutMs: 30_000,
    });
    expect(deferred?.uploads[0]).toMatchObject({ deferred_reason: 'rate_limited', error: { code: 'UF_RATE_LIMITED' } });
    const arrivals = receiver.requests.slice(before).map((r) => r.receivedAt);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(1000);
    expect(final.state).toBe('completed');
    expect(final.uploads[0]!.attempts).toBe(1);
  });

  it('sends a signed webhook when the delivery finishes, retried until it is accepted, and shows the outcome', async () => {
    const calls: { headers: IncomingMessage['headers']; body: string }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        calls.push({ headers: req.headers, body });
        res.writeHead(calls.length === 1 ? 500 : 204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    try {
      const file = harness.writeSource('hooked.mp4', 100);
      const { token } = await submit({ url: `${receiver.url}/hooked`, method: 'PUT' }, file.name, { callback_url: hookUrl });
      await harness.fleet.producer.waitFor(token, { pollIntervalMs: 50, timeoutMs: 30_000 });
      const deadline = Date.now() + 15_000;
      let status = await harness.fleet.producer.get(token);
      while (status.webhook?.state !== 'delivered' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        status = await harness.fleet.producer.get(token);
      }
      expect(status.webhook).toMatchObject({ state: 'delivered', attempts: 2, last_status: 204 });
      expect(calls).toHaveLength(2);
      const { headers, body } = calls[1]!;
      const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers[SIGNATURE_HEADER]));
      expect(match).not.toBeNull();
      const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${match![1]}.${body}`).digest('hex');
      expect(match![2]).toBe(expected);
      const payload = JSON.parse(body) as { event: string; delivery: DeliveryStatus };
      expect(payload.event).toBe('delivery.finished');
      expect(payload.delivery).toMatchObject({ token, state: 'completed' });
    } finally {
      hook.close();
    }
  });
});
