/**
 * Test support (not exported by the package): a real Producer on the test Redis under a
 * prefix of its own, and the API built on it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { SecretBox, createLogger, type DeliveryStatus } from '@upload-fleet/core';
import type { DestinationType } from '@upload-fleet/destinations/definitions';
import { Producer, type ProducerOptions } from '@upload-fleet/producer';
import { deletePrefix, dumpPrefix, startWorker, testRedisUrl, uniquePrefix, until, type WorkerProcess } from '@upload-fleet/testkit';
import type { ApiKey } from './config.js';
import { buildApi, type BuildApiOptions } from './server.js';

export const ALICE: ApiKey = { name: 'alice', key: 'alice-key-6f1c2b9e4d7a' };
export const BOB: ApiKey = { name: 'bob', key: 'bob-key-0a8e3f5c7b1d9' };

export const asAlice = { authorization: `Bearer ${ALICE.key}` };
export const asBob = { authorization: `Bearer ${BOB.key}` };

export interface Harness {
  app: FastifyInstance;
  producer: Producer;
  redisUrl: string;
  prefix: string;
  /** ENCRYPTION_KEYS of the producer's SecretBox, for a worker process that must read its jobs. */
  encryptionKeys: string;
  /** A second connection for inspecting Redis directly. */
  redis: Redis;
  close(): Promise<void>;
}

export async function startHarness(name: string, options: Partial<BuildApiOptions> = {}, producerOptions: Partial<ProducerOptions> = {}): Promise<Harness> {
  const redisUrl = testRedisUrl();
  const prefix = uniquePrefix(name);
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const redis = new Redis(redisUrl);
  const encryptionKeys = `test:${randomBytes(32).toString('base64')}`;
  const producer = new Producer({ connection, prefix, secretBox: SecretBox.fromConfig(encryptionKeys), ...producerOptions });
  const app = buildApi({ producer, apiKeys: [ALICE, BOB], logger: createLogger({ level: 'silent' }), ...options });
  await app.ready();
  return {
    app,
    producer,
    redisUrl,
    prefix,
    encryptionKeys,
    redis,
    async close() {
      await app.close();
      await producer.close();
      await deletePrefix(redisUrl, prefix);
      connection.disconnect();
      redis.disconnect();
    },
  };
}

/** Every key under the harness's prefix, sorted: equal before and after means nothing was written. */
export async function keysOf(h: Harness): Promise<string[]> {
  return [...(await dumpPrefix(h.redisUrl, h.prefix)).keys()].sort();
}

/**
 * A real worker process (apps/worker) on the harness's Redis, prefix and encryption keys, so
 * it takes the jobs the API submits: the pools named, files under `sourceRoot`, loopback
 * destinations allowed, and the destination settings of `env`.
 */
export function startHarnessWorker(h: Harness, pools: string, sourceRoot: string, env: Record<string, string> = {}): WorkerProcess {
  return startWorker({
    REDIS_URL: h.redisUrl,
    REDIS_PREFIX: h.prefix,
    ENCRYPTION_KEYS: h.encryptionKeys,
    WEBHOOK_SECRET: `${h.prefix}-webhook-secret`,
    WORKER_POOLS: pools,
    SOURCE_ROOT: sourceRoot,
    ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
    ...env,
  });
}

/** Polls the status API (as alice) until the delivery ended (completed, failed, partially failed or cancelled): its status, and the answer's text (to look for secrets in). */
export function deliveryEnd(h: Harness, token: string, timeoutMs = 90_000): Promise<{ body: DeliveryStatus; text: string }> {
  return until(
    `delivery ${token} to end`,
    async () => {
      const answer = await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice });
      const body = answer.json<DeliveryStatus>();
      return ['completed', 'failed', 'partially_failed', 'cancelled'].includes(body.state) ? { body, text: answer.body } : undefined;
    },
    timeoutMs,
  );
}

/** How many delivery records exist under the prefix. */
export async function deliveryCount(h: Harness): Promise<number> {
  return (await keysOf(h)).filter((k) => k.startsWith(`${h.prefix}:delivery:`)).length;
}

/** The jobs of one delivery in a destination type's queue, whatever their state. */
export async function jobsOfToken(h: Harness, type: DestinationType, token: string) {
  const jobs = await h.producer.queue(type).getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
  return jobs.filter((job) => job.data.token === token);
}

export const SOURCE = { url: 'https://media.example.com/renders/welcome.mp4' };

export function s3Destination(overrides: Record<string, unknown> = {}) {
  return {
    type: 's3',
    bucket: 'my-videos',
    filename: 'renders/welcome.mp4',
    aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE',
    aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ...overrides,
  };
}

/** A valid single-upload request to S3. */
export function s3Request(overrides: Record<string, unknown> = {}) {
  return { source: SOURCE, upload: { extension: 'mp4', destination: s3Destination() }, ...overrides };
}

export function postDelivery(h: Harness, body: unknown, headers: Record<string, string> = asAlice): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: 'POST', url: '/v1/deliveries', headers, payload: body as object });
}

/**
 * Submits a delivery (which must be accepted) and polls its status until it has ended:
 * the status, and the status answer's text (to check that no secret is in it).
 */
export async function deliverAndWait(h: Harness, body: unknown, timeoutMs = 60_000): Promise<{ status: DeliveryStatus; body: string }> {
  const res = await postDelivery(h, body);
  if (res.statusCode !== 202) throw new Error(`the delivery was not accepted (${res.statusCode}): ${res.body}`);
  const ended = await deliveryEnd(h, res.json<{ token: string }>().token, timeoutMs);
  return { status: ended.body, body: ended.text };
}

export interface HarnessWithWorker extends Harness {
  /** The worker process (throws before `startWorker` when it was deferred). */
  readonly worker: WorkerProcess;
  /** Starts the worker process (once); for tests that queue jobs before any worker takes them. */
  startWorker(): WorkerProcess;
  /** The worker's SOURCE_ROOT, a temporary folder: write source files here. */
  sourceRoot: string;
}

/**
 * A harness and a real worker process (apps/worker) on its Redis and prefix, running the
 * pools named (and the webhook sender), with a temporary SOURCE_ROOT and 127.0.0.1 allowed;
 * started at once unless `deferWorker`. `close` stops the worker, removes the folder and
 * closes the harness.
 */
export async function startHarnessWithWorker(
  name: string,
  pools: string,
  env: Record<string, string> = {},
  options: { deferWorker?: boolean; api?: Partial<BuildApiOptions> } = {},
): Promise<HarnessWithWorker> {
  const h = await startHarness(name, options.api ?? {});
  const sourceRoot = mkdtempSync(join(tmpdir(), `upload-fleet-${name}-`));
  let worker: WorkerProcess | undefined;
  const start = () => (worker ??= startHarnessWorker(h, pools, sourceRoot, env));
  if (!options.deferWorker) start();
  return {
    ...h,
    get worker() {
      if (!worker) throw new Error('the worker was deferred: call startWorker() first');
      return worker;
    },
    startWorker: start,
    sourceRoot,
    async close() {
      worker?.child.kill('SIGKILL');
      await worker?.exited;
      await h.close();
      rmSync(sourceRoot, { recursive: true, force: true });
    },
  };
}

/** The delivery's status once every upload has ended (through GET /v1/deliveries/{token}). */
export async function finishedStatus(h: Harness, token: string, timeoutMs = 60_000): Promise<DeliveryStatus> {
  return (await deliveryEnd(h, token, timeoutMs)).body;
}
