import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpPrefix } from '@upload-fleet/testkit';
import type { DeliveryAccepted } from './server.js';
import {
  SOURCE,
  asAlice,
  deliveryCount,
  jobsOfToken,
  keysOf,
  postDelivery,
  s3Destination,
  s3Request,
  startHarness,
  type Harness,
} from './test-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-deliveries');
});
afterAll(async () => {
  await h?.close();
});

const S3_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const HTTP_AUTHORIZATION = 'Bearer http-dest-token-5b9d1e7f3a';
const FTP_PASSWORD = 'ftp-pass-C0rrectHorse';

/** One delivery to three destinations, each with a credential. */
const threeDestinations = {
  source: SOURCE,
  uploads: [
    { extension: 'mp4', destination: s3Destination({ aws_secret_access_key: S3_SECRET, acl: 'private' }) },
    {
      destination: {
        type: 'http',
        url: 'https://uploads.example.com/api/videos',
        filename: 'welcome.mp4',
        method: 'put',
        headers: { Authorization: HTTP_AUTHORIZATION },
      },
    },
    { destination: { type: 'ftp', host: 'ftp.example.com', filename: '/videos/welcome.mp4', user: 'ftpuser', password: FTP_PASSWORD } },
  ],
  metadata: { customer: 'acme' },
};

describe('POST /v1/deliveries', () => {
  it('answers 202 with the token, one queued upload per destination and the status URL, and enqueues each job with its data', async () => {
    const res = await postDelivery(h, threeDestinations);
    expect(res.statusCode).toBe(202);
    const body = res.json<DeliveryAccepted>();
    expect(body.token).toMatch(/^dlv_[A-Za-z0-9_-]+$/);
    expect(body.created).toBe(true);
    expect(body.status_url).toBe(`/v1/deliveries/${body.token}`);
    expect(res.headers.location).toBe(body.status_url);
    expect(body.uploads).toEqual([
      { index: 0, type: 's3', job_id: `${body.token}-0`, state: 'queued' },
      { index: 1, type: 'http', job_id: `${body.token}-1`, state: 'queued' },
      { index: 2, type: 'ftp', job_id: `${body.token}-2`, state: 'queued' },
    ]);

    const s3Job = await h.producer.queue('s3').getJob(`${body.token}-0`);
    expect(await s3Job?.getState()).toBe('prioritized');
    expect(s3Job?.data).toMatchObject({
      token: body.token,
      index: 0,
      source: SOURCE,
      extension: 'mp4',
      destination: { type: 's3', bucket: 'my-videos', filename: 'renders/welcome.mp4', acl: 'private' },
      secrets: { v: 1, kid: 'test' },
    });
    expect(s3Job?.data.destination).not.toHaveProperty('aws_secret_access_key');
    expect(s3Job?.data.destination).not.toHaveProperty('aws_access_key_id');

    const httpJob = await h.producer.queue('http').getJob(`${body.token}-1`);
    expect(await httpJob?.getState()).toBe('prioritized');
    expect(httpJob?.data.destination).toMatchObject({ type: 'http', url: 'https://uploads.example.com/api/videos', method: 'PUT' });
    expect(httpJob?.data.destination).not.toHaveProperty('headers');

    const ftpJob = await h.producer.queue('ftp').getJob(`${body.token}-2`);
    expect(await ftpJob?.getState()).toBe('prioritized');
    expect(ftpJob?.data.destination).toMatchObject({ type: 'ftp', host: 'ftp.example.com', user: 'ftpuser' });
    expect(ftpJob?.data.destination).not.toHaveProperty('password');
  });

  it('stores no plaintext secret anywhere under the prefix, and answers none', async () => {
    const res = await postDelivery(h, threeDestinations);
    expect(res.statusCode).toBe(202);
    const status = await h.app.inject({ method: 'GET', url: res.json<DeliveryAccepted>().status_url, headers: asAlice });
    const dump = await dumpPrefix(h.redisUrl, h.prefix);
    expect(dump.size).toBeGreaterThan(0);
    const everything = [...dump].map(([key, value]) => `${key}\n${value}`).join('\n');
    for (const secret of ['AKIAIOSFODNN7EXAMPLE', S3_SECRET, HTTP_AUTHORIZATION, 'http-dest-token-5b9d1e7f3a', FTP_PASSWORD]) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
      expect(res.body).not.toContain(secret);
      expect(status.body).not.toContain(secret);
    }
  });

  describe('refuses bad input with every problem by field path and enqueues nothing', () => {
    const cases: { name: string; body: unknown; paths: string[] }[] = [
      { name: 'unknown top-level field', body: s3Request({ colour: 'red' }), paths: ['colour'] },
      {
        name: 'unknown destination field (a typo of a secret field)',
        body: { source: SOURCE, upload: { destination: { ...s3Destination(), aws_secret_acess_key: 'typo-secret-value-123' } } },
        paths: ['upload.destination.aws_secret_acess_key'],
      },
      { name: 'unknown destination type', body: { source: SOURCE, upload: { destination: { type: 'gdrive', filename: 'x.mp4' } } }, paths: ['upload.destination.type'] },
      {
        name: 'missing required field',
        body: { source: SOURCE, upload: { destination: { type: 's3', filename: 'x.mp4', aws_use_policy: true } } },
        paths: ['upload.destination.bucket'],
      },
      { name: 'bad enum value', body: { source: SOURCE, upload: { destination: s3Destination({ acl: 'everyone' }) } }, paths: ['upload.destination.acl'] },
      {
        name: 'GET method for an http destination',
        body: { source: SOURCE, upload: { destination: { type: 'http', url: 'https://uploads.example.com/v', filename: 'v.mp4', method: 'GET' } } },
        paths: ['upload.destination.method'],
      },
      { name: 'both upload and uploads', body: { ...s3Request(), uploads: [{ destination: s3Destination() }] }, paths: ['uploads'] },
      { name: '11 uploads', body: { source: SOURCE, uploads: Array.from({ length: 11 }, () => ({ destination: s3Destination() })) }, paths: ['uploads'] },
      { name: 'neither upload nor uploads', body: { source: SOURCE }, paths: ['upload'] },
      { name: 'a JSON array instead of an object', body: [], paths: ['(body)'] },
      {
        name: 'several problems at once',
        body: { source: {}, uploads: [{ destination: s3Destination({ acl: 'x' }) }, { destination: { type: 'ftp', filename: '/x' } }] },
        paths: ['source', 'uploads.0.destination.acl', 'uploads.1.destination.host'],
      },
    ];

    for (const c of cases) {
      it(`400 for ${c.name}`, async () => {
        const before = await keysOf(h);
        const res = await postDelivery(h, c.body);
        expect(res.statusCode).toBe(400);
        const { error } = res.json<{ error: { code: string; message: string; problems: { path: string; message: string }[] } }>();
        expect(error.code).toBe('UF_INVALID_REQUEST');
        expect(error.problems.map((p) => p.path).sort()).toEqual([...c.paths].sort());
        for (const p of error.problems) expect(p.message.length).toBeGreaterThan(0);
        expect(res.body).not.toContain(S3_SECRET);
        expect(res.body).not.toContain('typo-secret-value-123');
        expect(await keysOf(h)).toEqual(before);
      });
    }

    it('400 for invalid JSON, naming where it broke without quoting the body', async () => {
      const before = await keysOf(h);
      const res = await h.app.inject({
        method: 'POST',
        url: '/v1/deliveries',
        headers: { ...asAlice, 'content-type': 'application/json' },
        payload: `{"source": {"url": "https://x.example/v.mp4"}, "upload": {"destination": {"aws_secret_access_key": "${S3_SECRET}",}}}`,
      });
      expect(res.statusCode).toBe(400);
      const { error } = res.json<{ error: { code: string; problems: { path: string; message: string }[] } }>();
      expect(error.code).toBe('UF_INVALID_REQUEST');
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]?.path).toBe('(body)');
      expect(error.problems[0]?.message).toMatch(/not valid JSON: .* at line 1 column \d+/);
      expect(res.body).not.toContain(S3_SECRET);
      expect(await keysOf(h)).toEqual(before);
    });

    it('400 for invalid JSON whose V8 message would quote the body', async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/v1/deliveries',
        headers: { ...asAlice, 'content-type': 'application/json' },
        payload: 'password=hunter2-secret-value',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.problems[0].message).toMatch(/not valid JSON/);
      expect(res.body).not.toContain('hunter2');
    });

    it('400 for a __proto__ key', async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/v1/deliveries',
        headers: { ...asAlice, 'content-type': 'application/json' },
        payload: '{"source": {"url": "https://x.example/v.mp4"}, "__proto__": {"polluted": true}}',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.problems[0].message).toMatch(/__proto__/);
    });

    it('400 naming the field for text that is not well-formed Unicode (a lone surrogate), in a secret too', async () => {
      const before = await keysOf(h);
      // JSON allows the escape; the string it makes cannot be UTF-8 or percent-encoded.
      const payload = JSON.stringify(s3Request({ metadata: { title: 'ok' } }))
        .replace(S3_SECRET, 'pass\\ud800word')
        .replace('"title":"ok"', '"title":"a\\udfffb"');
      const res = await h.app.inject({ method: 'POST', url: '/v1/deliveries', headers: { ...asAlice, 'content-type': 'application/json' }, payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.problems).toEqual([
        { path: 'upload.destination.aws_secret_access_key', message: expect.stringMatching(/not well-formed Unicode/) },
        { path: 'metadata.title', message: expect.stringMatching(/not well-formed Unicode/) },
      ]);
      expect(await keysOf(h)).toEqual(before);
    });

    it('400 naming the path of a nested __proto__ or constructor key', async () => {
      const before = await keysOf(h);
      const request = JSON.stringify(s3Request()).replace('"bucket":', '"__proto__":{"polluted":true},"bucket":');
      const res = await h.app.inject({ method: 'POST', url: '/v1/deliveries', headers: { ...asAlice, 'content-type': 'application/json' }, payload: request });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.problems).toEqual([{ path: 'upload.destination.__proto__', message: expect.stringMatching(/"__proto__" is not allowed/) }]);
      const withConstructor = await h.app.inject({
        method: 'POST',
        url: '/v1/deliveries',
        headers: { ...asAlice, 'content-type': 'application/json' },
        payload: JSON.stringify({ ...s3Request(), metadata: { constructor: { prototype: { polluted: true } } } }),
      });
      expect(withConstructor.statusCode).toBe(400);
      expect(withConstructor.json().error.problems).toEqual([{ path: 'metadata.constructor', message: expect.stringMatching(/"constructor" is not allowed/) }]);
      expect(await keysOf(h)).toEqual(before);
    });

    it('400 for an empty body', async () => {
      const before = await keysOf(h);
      const res = await h.app.inject({ method: 'POST', url: '/v1/deliveries', headers: { ...asAlice, 'content-type': 'application/json' }, payload: '' });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.problems.map((p: { path: string }) => p.path)).toEqual(['(body)']);
      expect(await keysOf(h)).toEqual(before);
    });

    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      it(`415 for Content-Type ${contentType}`, async () => {
        const before = await keysOf(h);
        const res = await h.app.inject({
          method: 'POST',
          url: '/v1/deliveries',
          headers: { ...asAlice, 'content-type': contentType },
          payload: JSON.stringify(s3Request()),
        });
        expect(res.statusCode).toBe(415);
        expect(res.json().error.code).toBe('UF_UNSUPPORTED_MEDIA_TYPE');
        expect(res.json().error.message).toContain('application/json');
        expect(await keysOf(h)).toEqual(before);
      });
    }

    it('413 for a body over the limit, naming the limit', async () => {
      const before = await keysOf(h);
      const res = await postDelivery(h, s3Request({ metadata: { padding: 'x'.repeat(1024 * 1024 + 1) } }));
      expect(res.statusCode).toBe(413);
      expect(res.json().error.code).toBe('UF_PAYLOAD_TOO_LARGE');
      expect(res.json().error.message).toContain('1048576 bytes');
      expect(await keysOf(h)).toEqual(before);
    });
  });

  describe('idempotency_key', () => {
    it('the same key twice returns the same token with created:false (200) and only one set of jobs', async () => {
      const deliveriesBefore = await deliveryCount(h);
      const request = { ...threeDestinations, idempotency_key: 'render-42' };
      const first = await postDelivery(h, request);
      const second = await postDelivery(h, request);
      expect(first.statusCode).toBe(202);
      expect(second.statusCode).toBe(200);
      const a = first.json<DeliveryAccepted>();
      const b = second.json<DeliveryAccepted>();
      expect(a.created).toBe(true);
      expect(b.created).toBe(false);
      expect(b.token).toBe(a.token);
      expect(b.uploads).toEqual(a.uploads);
      expect(b.status_url).toBe(a.status_url);
      expect(await deliveryCount(h)).toBe(deliveriesBefore + 1);
      for (const type of ['s3', 'http', 'ftp'] as const) expect(await jobsOfToken(h, type, a.token)).toHaveLength(1);
    });

    it('the same key with a different request is a 409 naming the earlier delivery', async () => {
      const first = await postDelivery(h, s3Request({ idempotency_key: 'render-43' }));
      const before = await keysOf(h);
      const second = await postDelivery(h, s3Request({ idempotency_key: 'render-43', metadata: { changed: true } }));
      expect(second.statusCode).toBe(409);
      expect(second.json().error).toMatchObject({ code: 'UF_IDEMPOTENCY_CONFLICT', token: first.json<DeliveryAccepted>().token });
      expect(await keysOf(h)).toEqual(before);
    });

    it('20 concurrent calls with one key create exactly one delivery', async () => {
      const deliveriesBefore = await deliveryCount(h);
      const request = s3Request({ idempotency_key: 'render-concurrent' });
      const answers = await Promise.all(Array.from({ length: 20 }, () => postDelivery(h, request)));
      const bodies = answers.map((r) => r.json<DeliveryAccepted>());
      expect(new Set(bodies.map((b) => b.token)).size).toBe(1);
      expect(answers.filter((r) => r.statusCode === 202)).toHaveLength(1);
      expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(19);
      expect(bodies.filter((b) => b.created)).toHaveLength(1);
      expect(await deliveryCount(h)).toBe(deliveriesBefore + 1);
      expect(await jobsOfToken(h, 's3', bodies[0]!.token)).toHaveLength(1);
    });
  });
});

describe('submit-time refusals (ALLOWED_PRIVATE_HOSTS given to the producer, as main.ts does)', () => {
  let guarded: Harness;
  beforeAll(async () => {
    guarded = await startHarness('api-submit-refusals', {}, { allowedPrivateHosts: ['127.0.0.1:9000'] });
  });
  afterAll(async () => {
    await guarded?.close();
  });

  it('400 for a source.path that escapes the root and for blocked address literals, each by field path; nothing enqueued', async () => {
    const before = await keysOf(guarded);
    const res = await postDelivery(guarded, {
      source: { path: '../../etc/passwd' },
      uploads: [
        { destination: s3Destination({ s3host: '169.254.169.254' }) },
        { destination: { type: 'http', url: 'http://0x0a000001/upload', filename: 'v.mp4' } },
      ],
      callback_url: 'http://[::1]:8080/hook',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.problems.map((p: { path: string }) => p.path)).toEqual(['source.path']);
    const addresses = await postDelivery(guarded, {
      source: { url: 'http://127.0.0.1:6379/' },
      uploads: [
        { destination: s3Destination({ s3host: '169.254.169.254' }) },
        { destination: { type: 'http', url: 'http://0x0a000001/upload', filename: 'v.mp4' } },
        { destination: { type: 'http', url: 'http://127.0.0.1:9000/upload', filename: 'v.mp4' } },
      ],
      callback_url: 'http://[::1]:8080/hook',
    });
    expect(addresses.statusCode).toBe(400);
    expect(addresses.json().error.problems).toEqual([
      { path: 'source.url', message: expect.stringMatching(/loopback/) },
      { path: 'uploads.0.destination.s3host', message: expect.stringMatching(/cloud metadata/) },
      { path: 'uploads.1.destination.url', message: expect.stringMatching(/private/) },
      { path: 'callback_url', message: expect.stringMatching(/loopback/) },
    ]);
    expect(await keysOf(guarded)).toEqual(before);
  });
});
