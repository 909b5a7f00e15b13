/**
 * Runs inside a network namespace of its own (`unshare -n`, started by ssrf.test.ts), where
 * 10.0.0.1 and 169.254.169.254 are addresses of the namespace's loopback: listeners there
 * count every connection, and nothing can leave the machine. A worker fleet on a
 * redis-server of its own is handed uploads whose URL and host fields spell those addresses
 * (and 127.0.0.1) every way a URL parser accepts, and sources that redirect to them.
 * Prints one JSON line: the connections each listener saw and how each upload ended.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createLogger } from '@upload-fleet/core';
import { Producer } from '@upload-fleet/producer';
import { startTestRedis, uniquePrefix } from '@upload-fleet/testkit';
import { startWorkerFleet } from '../../src/index.js';
import { testConfig } from '../fleet-harness.js';

/** 24 spellings of the three listening addresses, each a host a URL may carry. */
export const SPELLINGS = [
  '10.0.0.1', '0x0a.0.0.1', '0x0a000001', '167772161', '012.0.0.1', '10.1', '10.0.1', '[::ffff:10.0.0.1]', '[::ffff:a00:1]',
  '169.254.169.254', '0xa9fea9fe', '2852039166', '0251.0376.0251.0376', '169.254.43518', '[::ffff:169.254.169.254]', '[::ffff:a9fe:a9fe]',
  '127.0.0.1', '127.1', '0x7f000001', '2130706433', '0177.0.0.1', '[::1]', 'localhost', '[::ffff:127.0.0.1]',
];
const LISTEN_ON = ['10.0.0.1', '169.254.169.254', '127.0.0.1', '::1'];
const PORTS = [80, 443, 21];

async function main(): Promise<void> {
  const connections: Record<string, number> = {};
  const listeners: Server[] = [];
  for (const host of LISTEN_ON) {
    for (const port of PORTS) {
      const where = `${host}:${port}`;
      connections[where] = 0;
      const server = createServer((socket) => {
        connections[where]! += 1;
        socket.destroy();
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
      listeners.push(server);
    }
  }
  // Each listener is reachable: a direct connection counts, so a zero below means refused.
  for (const where of Object.keys(connections)) {
    const [host, port] = [where.slice(0, where.lastIndexOf(':')), Number(where.slice(where.lastIndexOf(':') + 1))];
    await new Promise<void>((resolve, reject) => connect({ host, port }).once('connect', function (this: { destroy(): void }) { this.destroy(); resolve(); }).once('error', reject));
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const reachable = Object.values(connections).every((n) => n === 1);
  for (const where of Object.keys(connections)) connections[where] = 0;

  // The one allowed host (by port): a source that redirects to each listening address.
  const redirector = createHttpServer((request, response) => {
    const target = decodeURIComponent((request.url ?? '/').slice('/to/'.length));
    response.writeHead(302, { location: target }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  const redirectorPort = (redirector.address() as { port: number }).port;

  const redis = await startTestRedis();
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-ssrf-'));
  writeFileSync(join(sourceRoot, 'v.mp4'), 'video bytes');
  const config = testConfig(uniquePrefix('ssrf'), sourceRoot, {
    redisUrl: redis.url,
    allowedPrivateHosts: [`127.0.0.1:${redirectorPort}`],
    pools: [{ type: 'http', concurrency: 8 }, { type: 's3', concurrency: 8 }, { type: 'ftp', concurrency: 8 }, { type: 'facebook', concurrency: 8 }],
    maxAttempts: 1,
  });
  const fleet = await startWorkerFleet(config, createLogger({ level: 'silent' }));
  const local = { path: 'v.mp4' };
  const cases: { field: string; host: string; request: Record<string, unknown> }[] = [];
  for (const host of SPELLINGS) {
    cases.push(
      { field: 'source.url', host, request: { source: { url: `http://${host}/v.mp4` }, upload: { destination: { type: 'http', url: `http://127.0.0.1:${redirectorPort}/in`, filename: 'v.mp4' } } } },
      { field: 'http url', host, request: { source: local, upload: { destination: { type: 'http', url: `http://${host}/in`, filename: 'v.mp4', method: 'PUT' } } } },
      { field: 's3 s3host', host, request: { source: local, upload: { destination: { type: 's3', bucket: 'b', filename: 'v.mp4', aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE', aws_secret_access_key: 'x', s3host: host } } } },
      { field: 'ftp host', host, request: { source: local, upload: { destination: { type: 'ftp', host, filename: 'v.mp4', user: 'u', password: 'p' } } } },
      { field: 'facebook endpoint', host, request: { source: local, upload: { destination: { type: 'facebook', title: 't', description: 'd', oauth_access_token: 'EAAB-token', endpoint: `http://${host}` } } } },
      // The upload goes to the allowed redirector (it may fail: the delivery ends either way);
      // the webhook to the private address is what must be stopped.
      { field: 'callback_url', host, request: { source: local, callback_url: `http://${host}/hook`, upload: { destination: { type: 'http', url: `http://127.0.0.1:${redirectorPort}/in`, filename: 'v.mp4' } } } },
    );
  }
  for (const target of ['http://10.0.0.1/latest', 'http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1/', 'http://[::1]/']) {
    cases.push({ field: 'source.url redirect', host: target, request: { source: { url: `http://127.0.0.1:${redirectorPort}/to/${encodeURIComponent(target)}` }, upload: { destination: { type: 'http', url: `http://127.0.0.1:${redirectorPort}/in`, filename: 'v.mp4' } } } });
  }
  // The API's producer refuses what it can see at submit time; the worker's guard is the real
  // defence (a name can resolve anywhere), so every case is also enqueued past that check.
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const unchecked = new Producer({ connection, prefix: config.prefix, secretBox: config.secretBox });
  // `message`: what an upload that did not end as expected says, for the test's failure output.
  const outcomes: { field: string; host: string; refusedAtSubmit: boolean; state: string; code: string | undefined; message?: string }[] = [];
  const accepted = await Promise.all(
    cases.map(async (c) => {
      const refusedAtSubmit = await fleet.producer.enqueue(c.request as never).then(
        () => false,
        (error: { code?: string }) => error.code === 'UF_INVALID_REQUEST',
      );
      // A spelling the schema itself refuses (not a host name at all) never reaches a worker.
      const token = await unchecked.enqueue(c.request as never).then((a) => a.token, () => undefined);
      return { c, refusedAtSubmit, token };
    }),
  );
  for (const { c, refusedAtSubmit, token } of accepted) {
    if (!token) {
      outcomes.push({ field: c.field, host: c.host, refusedAtSubmit, state: 'invalid', code: 'UF_INVALID_REQUEST' });
      continue;
    }
    const final = await fleet.producer.waitFor(token, { timeoutMs: 60_000, pollIntervalMs: 100 });
    if (c.field === 'callback_url') {
      // The webhook's own outcome: sent once the delivery ended, refused by the guard.
      let webhook = final.webhook;
      for (const deadline = Date.now() + 30_000; (!webhook || webhook.state === 'pending') && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        webhook = (await fleet.producer.get(token)).webhook;
      }
      const blocked = webhook?.state === 'failed' && /UF_BLOCKED_ADDRESS/.test(webhook.last_error ?? '');
      outcomes.push({ field: c.field, host: c.host, refusedAtSubmit, state: blocked ? 'failed' : `webhook ${webhook?.state}`, code: blocked ? 'UF_BLOCKED_ADDRESS' : webhook?.last_error });
      continue;
    }
    const { state, error } = final.uploads[0]!;
    outcomes.push({ field: c.field, host: c.host, refusedAtSubmit, state, code: error?.code, ...(error?.code === 'UF_BLOCKED_ADDRESS' ? {} : { message: error?.message }) });
  }
  await unchecked.close();
  connection.disconnect();
  await fleet.close();
  redirector.close();
  for (const server of listeners) server.close();
  await redis.dispose();
  rmSync(sourceRoot, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ reachable, connections, outcomes })}\n`);
}

await main();
