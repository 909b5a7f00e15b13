import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createLogger, type Logger } from '@upload-fleet/core';
import type { Producer } from '@upload-fleet/producer';
import { bearerTokenOf } from './auth.js';
import { buildApi } from './server.js';
import { ALICE, BOB, asAlice, keysOf, postDelivery, s3Request, startHarness, type Harness } from './test-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('api-server');
});
afterAll(async () => {
  await h?.close();
});

/** A plain pino logger (no redaction of its own) that writes into an array. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('open routes', () => {
  it('GET /healthz answers 200 without an API key', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 503 without an API key when the readiness callback says not ready, 200 when ready', async () => {
    let ready = false;
    const app = buildApi({
      producer: h.producer,
      apiKeys: [ALICE],
      logger: createLogger({ level: 'silent' }),
      readiness: async () => ({ ready, checks: { redis: ready ? 'ok' : 'not connected (reconnecting)' } }),
    });
    const notReady = await app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ ready: false, checks: { redis: 'not connected (reconnecting)' } });
    ready = true;
    const nowReady = await app.inject({ method: 'GET', url: '/readyz' });
    expect(nowReady.statusCode).toBe(200);
    expect(nowReady.json()).toEqual({ ready: true, checks: { redis: 'ok' } });
    await app.close();
  });

  it('GET /readyz answers 503 when the readiness callback throws, without its message', async () => {
    const app = buildApi({
      producer: h.producer,
      apiKeys: [ALICE],
      logger: createLogger({ level: 'silent' }),
      readiness: async () => {
        throw new Error('redis://:hunter2@10.0.0.5 refused');
      },
    });
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().ready).toBe(false);
    expect(res.body).not.toContain('hunter2');
    await app.close();
  });

  it('GET /openapi.json is valid OpenAPI 3.1 JSON without an API key and lists every route with its status codes', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = JSON.parse(res.body) as {
      openapi: string;
      paths: Record<string, Record<string, { responses?: Record<string, unknown>; security?: unknown[] }>>;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, { type?: string; properties?: Record<string, unknown> }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    const expected: [string, string, string[]][] = [
      ['post', '/v1/deliveries', ['200', '202', '400', '401', '409', '413', '415', '500']],
      ['get', '/v1/deliveries/{token}', ['200', '401', '403', '404', '500']],
      ['delete', '/v1/deliveries/{token}', ['200', '401', '403', '404', '500']],
      ['post', '/v1/deliveries/{token}/retry', ['200', '401', '403', '404', '500']],
      ['get', '/v1/deliveries', ['200', '400', '401', '500']],
      ['post', '/v1/deliveries/{token}/webhook', ['202', '401', '403', '404', '409', '500']],
      ['post', '/v1/deliveries:batch', ['200', '400', '401', '413', '415', '500']],
      ['get', '/healthz', ['200']],
      ['get', '/readyz', ['200', '503']],
      ['get', '/openapi.json', ['200']],
      ['post', '/v1/connect/{platform}', ['200', '401', '404', '500', '503']],
      ['get', '/v1/connect/{platform}/callback', ['200', '400', '404', '500', '502', '503']],
      ['get', '/v1/connect/credentials/{credential_id}', ['200', '401', '403', '404', '500', '503']],
      ['delete', '/v1/connect/credentials/{credential_id}', ['200', '401', '403', '404', '500', '503']],
    ];
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).filter((k) => k !== 'parameters').map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(expected.map(([m, p]) => `${m} ${p}`).sort());
    for (const [method, path, statuses] of expected) {
      expect(Object.keys(doc.paths[path]?.[method]?.responses ?? {}).sort(), `${method} ${path}`).toEqual(statuses.sort());
      // Every documented route exists in the app.
      // A literal ":" (POST /v1/deliveries:batch) is "::" in a Fastify path.
      expect(h.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/:/g, '::').replace(/\{(\w+)\}/g, ':$1') }), `${method} ${path}`).toBe(true);
    }
    for (const open of ['/healthz', '/readyz', '/openapi.json', '/v1/connect/{platform}/callback']) expect(doc.paths[open]?.get?.security).toEqual([]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    // The request body schema is generated from the zod schema.
    expect(Object.keys(doc.components.schemas.DeliveryRequest?.properties ?? {})).toEqual(
      expect.arrayContaining(['source', 'upload', 'uploads', 'callback_url', 'idempotency_key', 'metadata']),
    );
    // Every $ref points at a schema that exists.
    for (const [, name] of res.body.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) expect(doc.components.schemas, name).toHaveProperty(name!);
  });
});

describe('authentication', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['no Authorization header', {}, 'Bearer realm="upload-fleet"'],
    ['a wrong key', { authorization: 'Bearer not-a-configured-key-123' }, 'Bearer realm="upload-fleet", error="invalid_token"'],
    ['a configured key with one character changed', { authorization: `Bearer ${ALICE.key.slice(0, -1)}X` }, 'Bearer realm="upload-fleet", error="invalid_token"'],
    ['a Basic header', { authorization: `Basic ${Buffer.from(`alice:${ALICE.key}`).toString('base64')}` }, 'Bearer realm="upload-fleet", error="invalid_token"'],
    ['"Bearer" without a key', { authorization: 'Bearer ' }, 'Bearer realm="upload-fleet", error="invalid_token"'],
  ];
  for (const [name, headers, challenge] of cases) {
    it(`401 UF_UNAUTHORIZED with WWW-Authenticate: Bearer for ${name}, and enqueues nothing`, async () => {
      const before = await keysOf(h);
      const res = await postDelivery(h, s3Request(), headers);
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe(challenge);
      expect(res.json().error.code).toBe('UF_UNAUTHORIZED');
      expect(await keysOf(h)).toEqual(before);
      const read = await h.app.inject({ method: 'GET', url: '/v1/deliveries/dlv_x', headers });
      expect(read.statusCode).toBe(401);
    });
  }

  it('accepts every configured key, case-insensitive "bearer"', async () => {
    for (const headers of [{ authorization: `Bearer ${ALICE.key}` }, { authorization: `bearer ${BOB.key}` }]) {
      const res = await h.app.inject({ method: 'GET', url: '/v1/deliveries/dlv_unknown', headers });
      expect(res.statusCode).toBe(404);
    }
  });

  it('parses only well-formed bearer headers', () => {
    expect(bearerTokenOf('Bearer abc')).toBe('abc');
    expect(bearerTokenOf('Bearer  abc ')).toBe('abc');
    expect(bearerTokenOf('Bearer a b')).toBeUndefined();
    expect(bearerTokenOf('Token abc')).toBeUndefined();
    expect(bearerTokenOf(undefined)).toBeUndefined();
    expect(bearerTokenOf(['Bearer a', 'Bearer b'])).toBeUndefined();
  });
});

describe('errors', () => {
  it('unknown routes answer 404 JSON UF_NOT_FOUND', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v2/whatever?x=1', headers: asAlice });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json().error).toEqual({ code: 'UF_NOT_FOUND', message: expect.stringContaining('GET /v2/whatever.') });
  });

  it('router errors (bad percent-encoding, over-long token) answer 4xx JSON', async () => {
    const badUrl = await h.app.inject({ method: 'GET', url: '/v1/deliveries/%E0%A4%A', headers: asAlice });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.json().error.code).toBe('UF_BAD_REQUEST');
    const longToken = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${'a'.repeat(150)}`, headers: asAlice });
    expect(longToken.statusCode).toBe(414);
    expect(longToken.json().error.code).toBe('UF_BAD_REQUEST');
  });

  it('an unexpected error is a 500 UF_INTERNAL without stack or internals, and is logged', async () => {
    const { logger, lines } = capturingLogger();
    const broken = {
      get: async () => {
        throw new Error('ECONNREFUSED 10.1.2.3:6379 while reading upload-fleet:delivery');
      },
    } as unknown as Producer;
    const app = buildApi({ producer: broken, apiKeys: [ALICE], logger });
    const res = await app.inject({ method: 'GET', url: '/v1/deliveries/dlv_abc', headers: asAlice });
    expect(res.statusCode).toBe(500);
    const { error } = res.json();
    expect(error.code).toBe('UF_INTERNAL');
    expect(error.request_id).toBe(res.headers['x-request-id']);
    expect(res.body).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|stack|at .*\.ts/);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; err?: { message: string } });
    expect(logged.find((l) => l.msg === 'unexpected error')?.err?.message).toContain('ECONNREFUSED');
    await app.close();
  });

  it('logs an unexpected error without the secret fields it carries, at any depth and in any case, whatever logger the API was given', async () => {
    const { logger, lines } = capturingLogger();
    const broken = {
      get: async () => {
        throw Object.assign(new Error('request failed'), {
          config: { headers: { 'X-Token': 'header-secret-1' }, data: { destination: { Password: 'deep-secret-2', aws_secret_access_key: 'deep-secret-3' } } },
        });
      },
    } as unknown as Producer;
    const app = buildApi({ producer: broken, apiKeys: [ALICE], logger });
    const res = await app.inject({ method: 'GET', url: '/v1/deliveries/dlv_abc', headers: asAlice });
    expect(res.statusCode).toBe(500);
    await app.close();
    const log = lines.join('');
    expect(log).toContain('unexpected error');
    expect(log).toContain('"api_key":"alice"');
    expect(log).not.toMatch(/header-secret-1|deep-secret-2|deep-secret-3/);
  });
});

describe('Redis failing in the middle of a request', () => {
  it('is a 503 with Retry-After, not a 500, when the fail-fast connection refuses a command', async () => {
    const broken = {
      get: async () => {
        throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
      },
    } as unknown as Producer;
    const app = buildApi({ producer: broken, apiKeys: [ALICE], logger: createLogger({ level: 'silent' }) });
    const res = await app.inject({ method: 'GET', url: '/v1/deliveries/dlv_abc', headers: asAlice });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.json().error.code).toBe('UF_SERVICE_UNAVAILABLE');
    await app.close();
  });
});

describe('request logging', () => {
  it('logs each request without the authorization header, the body or secrets', async () => {
    const { logger, lines } = capturingLogger();
    const app = buildApi({ producer: h.producer, apiKeys: [ALICE], logger });
    const res = await app.inject({ method: 'POST', url: '/v1/deliveries?debug=wJalr', headers: asAlice, payload: s3Request() });
    expect(res.statusCode).toBe(202);
    const bad = await app.inject({ method: 'POST', url: '/v1/deliveries', headers: asAlice, payload: s3Request({ colour: 'red' }) });
    expect(bad.statusCode).toBe(400);
    await app.close();
    const log = lines.join('');
    expect(log).toContain('request completed');
    expect(log).toContain('"api_key":"alice"');
    expect(log).toContain('"path":"/v1/deliveries"');
    expect(log).not.toContain(ALICE.key);
    expect(log).not.toContain('wJalrXUtnFEMI');
    expect(log).not.toContain('my-videos');
    expect(log).not.toContain('debug=');
  });

  it('logs the method and path of each request through the core logger too (it copies records to redact them, and a copy has no getters)', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = buildApi({ producer: h.producer, apiKeys: [ALICE], logger: createLogger({ level: 'info' }, stream) });
    const res = await app.inject({ method: 'POST', url: '/v1/deliveries?debug=wJalr', headers: asAlice, payload: s3Request() });
    expect(res.statusCode).toBe(202);
    await app.close();
    const incoming = lines.map((l) => JSON.parse(l) as { msg: string; req?: unknown; res?: unknown; api_key?: string });
    expect(incoming.find((l) => l.msg === 'incoming request')?.req).toEqual({ method: 'POST', path: '/v1/deliveries' });
    expect(incoming.find((l) => l.msg === 'request completed')).toMatchObject({ res: { statusCode: 202 }, api_key: 'alice' });
    const log = lines.join('');
    expect(log).not.toContain(ALICE.key);
    expect(log).not.toContain('wJalrXUtnFEMI');
  });
});
