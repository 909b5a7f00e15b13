/**
 * Submit-path benchmark: POST /v1/deliveries of the fleet's API against a minimal Fastify
 * route that validates the same zod request schema and adds one BullMQ job (no
 * encryption, no idempotency, no record, no index): the floor the real path is measured
 * against. Same Redis, same load generator, same concurrency; then the batch route
 * (POST /v1/deliveries:batch, 100 deliveries a request).
 * Prints a markdown table and, last, one JSON line with every figure.
 *
 *   pnpm bench:submit                 (BENCH_QUICK=1: shorter runs)
 *
 * The servers, Redis and the load generator share this machine's cores, so the absolute
 * rates depend on what else runs; the ratio between the two routes is the figure to read.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApi } from '@upload-fleet/api';
import { createLogger, SecretBox } from '@upload-fleet/core';
import { deliveryRequestSchema } from '@upload-fleet/destinations/definitions';
import { Producer } from '@upload-fleet/producer';
import { startEmbeddedRedis } from '@upload-fleet/redis';

const QUICK = process.env.BENCH_QUICK === '1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 4 : 15));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const BATCH = 100;
const API_KEY = { name: 'bench', key: 'bench-submit-key-3f9a2c' };
const headers = { authorization: `Bearer ${API_KEY.key}`, 'content-type': 'application/json' };

const delivery = (n: number) => ({
  source: { path: `renders/${n}.mp4` },
  upload: { extension: 'mp4', destination: { type: 'http', url: 'https://uploads.example.com/in', filename: `${n}.mp4`, headers: { Authorization: 'Bearer destination-token' } } },
});

/** Sends `body(n)` to `url` from `concurrency` loops for `seconds`; answers requests per second (failures counted apart). */
async function load(url: string, body: (n: number) => unknown, concurrency: number, seconds: number): Promise<{ perSecond: number; failed: number }> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let failed = 0;
  let n = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body(n++)) });
        await response.arrayBuffer();
        if (response.status < 300) done += 1;
        else failed += 1;
      }
    }),
  );
  return { perSecond: done / ((Date.now() - started) / 1000), failed };
}

async function listen(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' });
}

const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-bench-submit-'));
const redisServer = await startEmbeddedRedis({ dataDir: join(dir, 'redis'), persist: false });
const connection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
const producer = new Producer({ connection, prefix: 'bench-submit', secretBox: new SecretBox([{ id: 'k', key: randomBytes(32) }]) });
const api = buildApi({ producer, apiKeys: [API_KEY], logger: createLogger({ level: 'silent' }) });

// The floor: the same zod schema and one BullMQ job per request, nothing else.
const minimalQueue = new Queue('upload-http', { connection, prefix: 'bench-minimal' });
const minimal = Fastify({ logger: false });
minimal.post('/v1/deliveries', async (request, reply) => {
  const parsed = deliveryRequestSchema.safeParse(request.body);
  if (!parsed.success) return reply.code(400).send({ problems: parsed.error.issues });
  const job = await minimalQueue.add('upload-http', parsed.data);
  return reply.code(202).send({ token: job.id });
});

try {
  const [apiUrl, minimalUrl] = await Promise.all([listen(api), listen(minimal)]);
  // Warm both (JIT, BullMQ's script loading), then measure each on its own.
  await load(`${minimalUrl}/v1/deliveries`, delivery, CONCURRENCY, 1);
  await load(`${apiUrl}/v1/deliveries`, delivery, CONCURRENCY, 1);
  const floor = await load(`${minimalUrl}/v1/deliveries`, delivery, CONCURRENCY, SECONDS);
  const fleet = await load(`${apiUrl}/v1/deliveries`, delivery, CONCURRENCY, SECONDS);
  const keyed = await load(`${apiUrl}/v1/deliveries`, (n) => ({ ...delivery(n), idempotency_key: `bench-${n}-${randomBytes(4).toString('hex')}` }), CONCURRENCY, SECONDS);
  const batchConcurrency = Math.max(1, Math.round(CONCURRENCY / 8));
  const batch = await load(`${apiUrl}/v1/deliveries:batch`, (n) => ({ deliveries: Array.from({ length: BATCH }, (_, k) => delivery(n * BATCH + k)) }), batchConcurrency, SECONDS);

  const rows = [
    { route: 'minimal Fastify route (zod + one BullMQ add)', concurrency: CONCURRENCY, deliveries_per_s: floor.perSecond, failed: floor.failed },
    { route: 'POST /v1/deliveries', concurrency: CONCURRENCY, deliveries_per_s: fleet.perSecond, failed: fleet.failed },
    { route: 'POST /v1/deliveries with idempotency_key', concurrency: CONCURRENCY, deliveries_per_s: keyed.perSecond, failed: keyed.failed },
    { route: `POST /v1/deliveries:batch (${BATCH} a request)`, concurrency: batchConcurrency, deliveries_per_s: batch.perSecond * BATCH, failed: batch.failed },
  ];
  console.log(`\nSubmit path, one Redis, ${SECONDS} s each (${QUICK ? 'quick' : 'full'} mode)\n`);
  console.log('| route | concurrent requests | deliveries/s | vs minimal route | failed requests |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.route} | ${r.concurrency} | ${r.deliveries_per_s.toFixed(0)} | ${(r.deliveries_per_s / floor.perSecond).toFixed(2)}x | ${r.failed} |`);
  console.log(`\n${JSON.stringify({ bench: 'submit', quick: QUICK, seconds: SECONDS, ratio_to_minimal: fleet.perSecond / floor.perSecond, rows })}`);
} finally {
  await api.close();
  await minimal.close();
  await minimalQueue.close();
  await producer.close();
  connection.disconnect();
  await redisServer.stop();
  rmSync(dir, { recursive: true, force: true });
}
