import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type DeliveryStatus } from '@upload-fleet/core';
import { loadWorkerConfig, startWorkerFleet, type WorkerFleet } from '@upload-fleet/runtime';
import { deletePrefix, startHttpReceiver, testRedisUrl, uniquePrefix, until, type HttpReceiver } from '@upload-fleet/testkit';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './server.js';
import { ALICE, asAlice } from './test-harness.js';

const PASSWORD = 'pw-echoed-by-the-endpoint-41';
const QUERY_TOKEN = 'sig-in-the-query-string-77';
const HEADER_TOKEN = 'hdr-token-echoed-back-93';

/** The endpoint says why it refused, echoes what it was sent, and goes on for a while. */
const REFUSAL = JSON.stringify({
  error: 'metadata.title is required',
  echoed: { password: PASSWORD, query: QUERY_TOKEN, authorization: `Bearer ${HEADER_TOKEN}` },
  trace: 'x'.repeat(2000),
});

describe('an HTTP destination that answers 4xx', () => {
  const prefix = uniquePrefix('api-4xx');
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-4xx-'));
  let fleet: WorkerFleet;
  let app: FastifyInstance;
  let receiver: HttpReceiver;
  let hook: Server;
  const hookBodies: string[] = [];

  beforeAll(async () => {
    writeFileSync(join(sourceRoot, 'refused.mp4'), Buffer.alloc(4096, 1));
    receiver = await startHttpReceiver();
    hook = createServer((request, response) => {
      let body = '';
      request.on('data', (d: Buffer) => (body += d.toString()));
      request.on('end', () => {
        hookBodies.push(body);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const config = loadWorkerConfig({
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 5).toString('base64')}`,
      WEBHOOK_SECRET: 'failure-details-webhook-secret',
      WORKER_POOLS: 'http',
      SOURCE_ROOT: sourceRoot,
      ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
    });
    fleet = await startWorkerFleet(config, createLogger({ level: 'silent' }));
    app = buildApi({ producer: fleet.producer, apiKeys: [ALICE], logger: createLogger({ level: 'silent' }) });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await fleet?.close();
    await deletePrefix(testRedisUrl(), prefix);
    await receiver?.close();
    await new Promise((resolve) => hook?.close(resolve));
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it('shows the start of the endpoint\'s answer, without secrets, in the failure\'s details in the status and the webhook', async () => {
    receiver.setFaults([{ status: 422, body: REFUSAL }]);
    const url = new URL(`${receiver.url}/refuse?sig=${QUERY_TOKEN}`);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/deliveries',
      headers: asAlice,
      payload: {
        source: { path: 'refused.mp4' },
        upload: { destination: { type: 'http', url: url.toString(), method: 'PUT', filename: 'refused.mp4', user: 'bob', password: PASSWORD, headers: { authorization: `Bearer ${HEADER_TOKEN}` } } },
        callback_url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`,
      },
    });
    expect(created.statusCode, created.body).toBe(202);
    const { token } = created.json<{ token: string }>();

    const failed = await until('the upload to fail', async () => {
      const res = await app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice });
      const status = res.json<DeliveryStatus>();
      return status.uploads[0]?.state === 'failed' ? { status, body: res.body } : undefined;
    });
    const error = failed.status.uploads[0]!.error!;
    expect(error).toMatchObject({ code: 'UF_DESTINATION_REJECTED', status: 422 });
    expect(error.details).toContain('metadata.title is required');
    // About 500 characters of the answer, marked as cut.
    expect(error.details!.length).toBeLessThanOrEqual(501);
    expect(error.details!.endsWith('…')).toBe(true);
    for (const secret of [PASSWORD, QUERY_TOKEN, HEADER_TOKEN]) expect(failed.body).not.toContain(secret);

    const webhook = await until('the webhook', () => hookBodies.find((body) => body.includes(token)));
    expect(JSON.parse(webhook)).toMatchObject({ delivery: { uploads: [{ error: { details: error.details } }] } });
    for (const secret of [PASSWORD, QUERY_TOKEN, HEADER_TOKEN]) expect(webhook).not.toContain(secret);
  });
});
