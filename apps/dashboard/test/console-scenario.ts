/**
 * A fleet at work for the console's browser test and its screenshots: Redis (the testkit's),
 * an HTTP worker pool with a local receiver, and the dashboard with its console on loopback.
 * It leaves four deliveries in four moments: one uploading (held by the receiver until
 * released), one deferred (the receiver answered 429 with a long Retry-After, so its account
 * is paused), one failed (400 with a body quoting a secret) and one completed (its webhook
 * delivered). Secrets are planted in destinations, headers, passwords and URLs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { SecretBox, createLogger } from '@upload-fleet/core';
import { defaultDestinationsConfig } from '@upload-fleet/destinations';
import { parseLimitRules, startWorkerFleet, type WorkerFleet } from '@upload-fleet/runtime';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import { startDashboard, type RunningDashboard } from '../src/dashboard.js';

export const LOGIN = { name: 'ops', password: 'console-ops-password-1' };

/** Values that must appear in no page and no answer. */
export const SECRETS = {
  bearer: 'Bearer-planted-7d1c0a9e',
  password: 'planted-password-4f2b',
  querySig: 'plantedSig0123456789',
  apiKey: 'planted-api-key-99aa',
  echoed: 'planted-echo-secret-5e5e',
};

export interface ConsoleScenario {
  dashboard: RunningDashboard;
  fleet: WorkerFleet;
  tokens: { active: string; deferred: string; failed: string; completed: string; cancelled: string };
  /** Lets the held upload finish. */
  releaseActive(): void;
  close(): Promise<void>;
}

const ACTIVE_SIZE = 24 * 1024 * 1024;

export async function startConsoleScenario(): Promise<ConsoleScenario> {
  const redisUrl = testRedisUrl();
  const prefix = uniquePrefix('console');
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-console-'));
  writeFileSync(join(sourceRoot, 'big.mp4'), randomBytes(ACTIVE_SIZE));
  writeFileSync(join(sourceRoot, 'small.mp4'), randomBytes(64 * 1024));

  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const receiver = await listen(createServer((req, res) => void receive(req, res, released)));
  const port = (receiver.address() as AddressInfo).port;
  const limitRules = parseLimitRules(JSON.stringify({ http: { windows: ['50/1h', '400/24h'] } }), {});

  const fleet = await startWorkerFleet(
    {
      redisUrl,
      prefix,
      secretBox: new SecretBox([{ id: 'console', key: Buffer.alloc(32, 9) }]),
      webhookSecret: 'console-webhook-secret-123456',
      pools: [{ type: 'http', concurrency: 4 }],
      sourceRoot,
      allowedPrivateHosts: ['127.0.0.1', 'localhost'],
      maxAttempts: 3,
      uploadTimeoutMs: 120_000,
      shutdownGraceMs: 1_000,
      lockDurationMs: 10_000,
      stalledIntervalMs: 5_000,
      maxStalledCount: 3,
      backoff: { baseDelayMs: 400, maxDelayMs: 5_000 },
      defaultRateLimitDelayMs: 3_600_000,
      webhookTimeoutMs: 5_000,
      webhookMaxAttempts: 3,
      webhookBackoffMs: 300,
      checkpointTtlSeconds: 3_600,
      destinations: defaultDestinationsConfig(),
      limitRules,
      leaseTtlMs: 10_000,
    },
    createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  );
  const dashboard = await startDashboard({
    redisUrl,
    prefix,
    port: 0,
    host: '127.0.0.1',
    auth: { type: 'basic', users: [LOGIN] },
    readOnly: true,
    limitRules,
    logger: createLogger({ level: 'silent' }),
  });

  const at = (host: string, path: string) => `http://${host}:${port}${path}?sig=${SECRETS.querySig}`;
  const destination = (host: string, path: string) => ({
    type: 'http',
    url: at(host, path),
    filename: 'welcome.mp4',
    user: 'uploader',
    password: SECRETS.password,
    headers: { Authorization: `Bearer ${SECRETS.bearer}`, 'X-Api-Key': SECRETS.apiKey },
  });
  const producer = fleet.producer;
  const submit = async (source: string, host: string, path: string, metadata: Record<string, string>, callback = false) =>
    (await producer.enqueue({ source: { path: source }, upload: { destination: destination(host, path) }, metadata, ...(callback ? { callback_url: `http://127.0.0.1:${port}/hook` } : {}) })).token;

  const completed = await submit('small.mp4', '127.0.0.1', '/ok', { customer: 'acme', render: 'intro' }, true);
  const failed = await submit('small.mp4', '127.0.0.1', '/reject', { customer: 'globex', render: 'teaser' });
  // "localhost" is its own limit key (the host), so its pause holds back only these two.
  const deferred = await submit('small.mp4', 'localhost', '/busy', { customer: 'initech', render: 'trailer' });
  const active = await submit('big.mp4', '127.0.0.1', '/hold', { customer: 'acme', render: 'feature' });

  await until(async () => (await producer.get(completed)).webhook?.state === 'delivered', 'the completed delivery and its webhook');
  await until(async () => (await producer.get(failed)).state === 'failed', 'the failed delivery');
  await until(async () => (await producer.get(deferred)).uploads[0]?.state === 'deferred', 'the deferred delivery');
  await until(async () => ((await producer.get(active)).uploads[0]?.progress?.bytes_sent ?? 0) > 0, 'progress of the active upload');
  // Deferred behind the paused account, then cancelled before it ran: it stays in the console.
  const cancelled = await submit('small.mp4', 'localhost', '/busy', { customer: 'initech', render: 'cancelled cut' });
  await until(async () => (await producer.get(cancelled)).uploads[0]?.state === 'deferred', 'the second deferred delivery');
  await producer.cancel(cancelled);

  return {
    dashboard,
    fleet,
    tokens: { active, deferred, failed, completed, cancelled },
    releaseActive: release,
    async close() {
      release();
      await dashboard.close();
      await fleet.close();
      await new Promise((resolve) => receiver.close(resolve));
      receiver.closeAllConnections();
      await deletePrefix(redisUrl, prefix);
      rmSync(sourceRoot, { recursive: true, force: true });
    },
  };
}

/** The receiver: /ok and /hook accept, /reject answers 400 echoing a secret once the body is in, /busy 429, /hold reads slowly until released. */
async function receive(req: IncomingMessage, res: ServerResponse, released: Promise<void>): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/busy') {
    req.resume();
    return void res.writeHead(429, { 'retry-after': '3600' }).end('slow down');
  }
  if (path === '/reject') {
    // Like a form handler, it refuses once it has read the form: the file's bytes reached it,
    // so the attempt counts against the account's limits (one that never sent a byte would not).
    req.resume();
    return void req.on('end', () =>
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'filename must end in .mov', password: SECRETS.echoed, auth: `Bearer ${SECRETS.bearer}` })),
    );
  }
  if (path === '/hold') {
    // A slow reader until released: bytes keep trickling in, so the upload stays active and
    // its progress moves (a reader that stopped would leave no progress to report).
    let free = false;
    void released.then(() => {
      free = true;
      req.resume();
    });
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (free || received < 1024 * 1024) return;
      req.pause();
      setTimeout(() => req.resume(), 250);
    });
  } else {
    req.resume();
  }
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'video-42', stored: true })));
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(100);
  }
}
