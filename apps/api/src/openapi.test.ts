import type { LightMyRequestResponse } from 'fastify';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '@upload-fleet/runtime/metrics';
import { registeredRoutes } from './openapi.js';
import { ALICE, asAlice, asBob, postDelivery, s3Request, startHarness, type Harness } from './test-harness.js';

type Operation = { responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> };
type Document = { paths: Record<string, Record<string, Operation>>; components: Record<string, unknown> };

const METRICS_TOKEN = 'metrics-token-openapi-test-1';
// Fastify's "::" is a literal ":" (POST /v1/deliveries:batch); ":name" a parameter.
const openApiPath = (url: string) => url.split('::').map((part) => part.replace(/:(\w+)/g, '{$1}')).join(':');

describe('the OpenAPI document, generated from the routes', () => {
  let h: Harness;
  let doc: Document;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const validators = new Map<string, ValidateFunction>();

  /** Checks an answer against the schema its route declares for its status and content type. */
  function expectDeclared(method: string, route: string, res: LightMyRequestResponse): void {
    const where = `${method} ${route} -> ${res.statusCode}`;
    const declared = doc.paths[route]?.[method.toLowerCase()]?.responses[String(res.statusCode)];
    expect(declared, `${where} is not declared`).toBeDefined();
    const contentType = String(res.headers['content-type'] ?? '').split(';')[0]!;
    const content = declared!.content?.[contentType];
    expect(content, `${where}: ${contentType} is not declared`).toBeDefined();
    if (contentType !== 'application/json') return;
    const key = `${where} ${contentType}`;
    let validate = validators.get(key);
    if (!validate) {
      const schema = content!.schema;
      validate = ajv.compile(typeof schema.$ref === 'string' ? { $ref: `openapi${schema.$ref}` } : schema);
      validators.set(key, validate);
    }
    expect(validate(res.json()), `${where}: ${JSON.stringify(validate.errors)}\n${res.body.slice(0, 2000)}`).toBe(true);
  }

  beforeAll(async () => {
    h = await startHarness('openapi', { metrics: createMetrics({ defaultMetrics: false }), metricsToken: METRICS_TOKEN });
    doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json<Document>();
    ajv.addSchema({ $id: 'openapi', components: doc.components });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('documents every registered route, GET /metrics included, and nothing else', () => {
    const routes = registeredRoutes(h.app).map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`);
    expect(routes).toContain('get /metrics');
    expect(routes.length).toBeGreaterThanOrEqual(12);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    expect(documented.sort()).toEqual(routes.sort());
  });

  it('has schemas that reject what a route does not answer (the checks below can fail)', () => {
    const status = ajv.compile({ $ref: 'openapi#/components/schemas/DeliveryStatus' });
    expect(status({ token: 'dlv_x', state: 'completed', created_at: new Date().toISOString(), uploads: [] })).toBe(true);
    expect(status({ token: 'dlv_x', state: 'expired', created_at: new Date().toISOString(), uploads: [] })).toBe(false);
    expect(status({ token: 'dlv_x', state: 'completed', created_at: 'yesterday', uploads: [{ index: 0 }] })).toBe(false);
  });

  it('shows the S3 and Azure Blob parameters beyond the spec, and acl\'s spec default', () => {
    /** The destination schema of a type inside the request schema, wherever the generator put it. */
    const destinationOf = (type: string): { properties: Record<string, { default?: unknown; enum?: unknown[] }> } | undefined => {
      const seen: unknown[] = [doc];
      while (seen.length > 0) {
        const node = seen.pop();
        if (!node || typeof node !== 'object') continue;
        const props = (node as { properties?: Record<string, { const?: unknown; enum?: unknown[] }> }).properties;
        const literal = props?.type?.const ?? (props?.type?.enum?.length === 1 ? props.type.enum[0] : undefined);
        if (literal === type && props?.filename) return node as never;
        seen.push(...Object.values(node as object));
      }
      return undefined;
    };
    const s3 = destinationOf('s3');
    for (const field of ['storage_class', 'sse', 'sse_kms_key_id', 'tags', 'session_token', 'sign_urls_for', 'url_prefix']) expect(s3?.properties, field).toHaveProperty(field);
    expect(s3?.properties.acl).toMatchObject({ default: 'public-read', enum: expect.arrayContaining(['bucket-default', 'public-read']) });
    const azure = destinationOf('azureblob');
    for (const field of ['cachecontrol', 'contentdisposition', 'metadata', 'access_tier', 'sas_url_for']) expect(azure?.properties, field).toHaveProperty(field);
  });

  it('shows the request fields beyond the spec: filename templates on every target path, expires_at and priority', () => {
    const request = (doc.components.schemas as Record<string, { properties: Record<string, { properties?: Record<string, { oneOf?: { properties: Record<string, { const?: string; enum?: string[]; description?: string }> }[] }> }> }>).DeliveryRequest!;
    const destinations = request.properties.upload!.properties!.destination!.oneOf!;
    const described = destinations.filter((d) => d.properties.filename?.description?.includes('${date:YYYY/MM/DD}')).map((d) => d.properties.type!.const ?? d.properties.type!.enum?.[0]);
    expect(described.sort()).toEqual(['azureblob', 'dropbox', 'ftp', 'gcs', 'googledrive', 'http', 's3', 'sftp', 'webdav']);
    // Deadlines and priority.
    expect(request.properties.expires_at).toMatchObject({ type: 'string', format: 'date-time' });
    expect(request.properties.priority).toMatchObject({ enum: ['high', 'normal', 'low'] });
  });

  it('refuses to build an API with a route that declares no answers', async () => {
    const { buildApi } = await import('./server.js');
    const app = buildApi({ producer: h.producer, apiKeys: [ALICE] });
    expect(() => app.get('/undocumented', async () => ({}))).toThrow(/GET \/undocumented has no schema: declare its answers/);
    await app.close();
  });

  it('answers what the routes declare: deliveries', async () => {
    const created = await postDelivery(h, s3Request({ idempotency_key: 'openapi-1', metadata: { job: 7, draft: false } }));
    expect(created.statusCode).toBe(202);
    expectDeclared('POST', '/v1/deliveries', created);
    const { token } = created.json<{ token: string }>();
    const replay = await postDelivery(h, s3Request({ idempotency_key: 'openapi-1', metadata: { job: 7, draft: false } }));
    expect(replay.statusCode).toBe(200);
    expectDeclared('POST', '/v1/deliveries', replay);
    for (const bad of [await postDelivery(h, { source: {} }), await postDelivery(h, s3Request({ idempotency_key: 'openapi-1' })), await postDelivery(h, s3Request(), {})]) {
      expectDeclared('POST', '/v1/deliveries', bad);
    }
    expectDeclared('POST', '/v1/deliveries', await h.app.inject({ method: 'POST', url: '/v1/deliveries', headers: { ...asAlice, 'content-type': 'text/plain' }, payload: 'x' }));

    const batch = (payload: unknown) => h.app.inject({ method: 'POST', url: '/v1/deliveries:batch', headers: asAlice, payload: payload as object });
    const mixed = await batch({ deliveries: [s3Request(), { source: {} }, s3Request({ idempotency_key: 'openapi-1' })] });
    expect(mixed.json<{ results: { status: number }[] }>().results.map((r) => r.status)).toEqual([202, 400, 409]);
    expectDeclared('POST', '/v1/deliveries:batch', mixed);
    expectDeclared('POST', '/v1/deliveries:batch', await batch({ deliveries: [] }));

    expectDeclared('GET', '/v1/deliveries/{token}', await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice }));
    expectDeclared('GET', '/v1/deliveries/{token}', await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asBob }));
    expectDeclared('GET', '/v1/deliveries/{token}', await h.app.inject({ method: 'GET', url: '/v1/deliveries/dlv_unknown', headers: asAlice }));

    // A completed and a failed upload, with every field the status can carry.
    const two = await postDelivery(h, { source: { path: 'a.mp4' }, uploads: [{ destination: s3Request().upload.destination }, { destination: { type: 'http', url: 'https://example.com/in', filename: 'a.mp4' } }] });
    const twoToken = two.json<{ token: string }>().token;
    const finished_at = new Date().toISOString();
    await h.producer.deliveries.recordFinal(twoToken, 0, { state: 'completed', result: { url: 'https://b.s3.amazonaws.com/a.mp4', bytes: 10, bucket: 'b' }, attempts: 1, finished_at });
    await h.producer.deliveries.recordFinal(twoToken, 1, {
      state: 'failed',
      error: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: 'The HTTP destination example.com answered 422.', destination: 'http', status: 422, details: '{"error":"title is required"}' },
      attempts: 1,
      finished_at,
    });
    const status = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${twoToken}`, headers: asAlice });
    expect(status.json()).toMatchObject({ state: 'partially_failed' });
    expectDeclared('GET', '/v1/deliveries/{token}', status);

    expectDeclared('GET', '/v1/deliveries', await h.app.inject({ method: 'GET', url: '/v1/deliveries?limit=1', headers: asAlice }));
    expectDeclared('GET', '/v1/deliveries', await h.app.inject({ method: 'GET', url: '/v1/deliveries?state=completed&type=s3', headers: asAlice }));
    expectDeclared('GET', '/v1/deliveries', await h.app.inject({ method: 'GET', url: '/v1/deliveries?limit=0', headers: asAlice }));
    expectDeclared('POST', '/v1/deliveries/{token}/webhook', await h.app.inject({ method: 'POST', url: `/v1/deliveries/${twoToken}/webhook`, headers: asAlice }));
    const hooked = (await postDelivery(h, s3Request({ callback_url: 'https://example.com/hook' }))).json<{ token: string }>().token;
    await h.producer.deliveries.recordFinal(hooked, 0, { state: 'cancelled', attempts: 0, finished_at });
    expectDeclared('POST', '/v1/deliveries/{token}/webhook', await h.app.inject({ method: 'POST', url: `/v1/deliveries/${hooked}/webhook`, headers: asAlice }));
    expectDeclared('POST', '/v1/deliveries/{token}/webhook', await h.app.inject({ method: 'POST', url: `/v1/deliveries/${token}/webhook`, headers: asBob }));

    expectDeclared('POST', '/v1/deliveries/{token}/retry', await h.app.inject({ method: 'POST', url: `/v1/deliveries/${twoToken}/retry`, headers: asAlice }));
    expectDeclared('DELETE', '/v1/deliveries/{token}', await h.app.inject({ method: 'DELETE', url: `/v1/deliveries/${token}`, headers: asAlice }));
  });

  it('answers what the routes declare: connect flow, health, metrics and the document itself', async () => {
    // This harness has no OAuth client: the connect routes answer 503 or 404.
    expectDeclared('POST', '/v1/connect/{platform}', await h.app.inject({ method: 'POST', url: '/v1/connect/youtube', headers: asAlice }));
    expectDeclared('POST', '/v1/connect/{platform}', await h.app.inject({ method: 'POST', url: '/v1/connect/gopher', headers: asAlice }));
    expectDeclared('GET', '/v1/connect/{platform}/callback', await h.app.inject({ method: 'GET', url: '/v1/connect/dropbox/callback?state=x', headers: { accept: 'application/json' } }));
    expectDeclared('GET', '/v1/connect/{platform}/callback', await h.app.inject({ method: 'GET', url: '/v1/connect/dropbox/callback?state=x', headers: { accept: 'text/html' } }));
    expectDeclared('GET', '/v1/connect/credentials/{credential_id}', await h.app.inject({ method: 'GET', url: '/v1/connect/credentials/abc', headers: asAlice }));
    expectDeclared('DELETE', '/v1/connect/credentials/{credential_id}', await h.app.inject({ method: 'DELETE', url: '/v1/connect/credentials/abc', headers: asAlice }));

    expectDeclared('GET', '/healthz', await h.app.inject({ method: 'GET', url: '/healthz' }));
    expectDeclared('GET', '/readyz', await h.app.inject({ method: 'GET', url: '/readyz' }));
    expectDeclared('GET', '/metrics', await h.app.inject({ method: 'GET', url: '/metrics' }));
    expectDeclared('GET', '/metrics', await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } }));
    expectDeclared('GET', '/openapi.json', await h.app.inject({ method: 'GET', url: '/openapi.json' }));
  });
});
