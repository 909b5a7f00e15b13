/**
 * Submit-path benchmark: POST /v1/deliveries of the fleet's API against a minimal Fastify
 * route that validates the same zod request schema and adds one BullMQ job (no
 * encryption, no idempotency, no record, no index): the floor the real path is measured
 * against. Same Redis, same load generator, same concurrency; then the batch route
 * (POST /v1/deliveries:batch, 100 deliveries a request).
 * Prints a markdown table and, last, one JSON line with every figure.
 *
 *   pnpm bench:submit                 (BENCH_QUICK=1: shorter runs)
 *   BENCH_ROUTES=minimal,fleet        (some of minimal, fleet, keyed, batch; default all)
 *   BENCH_ROUNDS=5 BENCH_SECONDS=3    (rounds of every route in turn, seconds each; default 3 x 5 s, quick 1 x 4 s)
 *
 * The load generator runs in a child process (tools/submit-load.ts), so this process runs
 * only the two servers and its CPU time while a route is under load is that route's cost:
 * "API CPU ms per delivery", the figure to read on a shared machine, beside the ratio of
 * the rates (Redis and the load generator share the cores, so absolute rates depend on what
 * else runs). Profile the servers with
 * `node --cpu-prof --conditions=development --import tsx submit.ts` (the child is not profiled).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApi } from '@upload-fleet/api';
import { createLogger, SecretBox } from '@upload-fleet/core';
import { deliveryRequestSchema } from '@upload-fleet/destinations/definitions';
import { Producer } from '@upload-fleet/producer';
import { startEmbeddedRedis } from '@upload-fleet/redis';
import { ScriptProcess } from './lib/script-process.js';
import { writeBenchSection } from './lib/sections.js';

const QUICK = process.env.BENCH_QUICK === '1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 4 : 5));
const WARM_SECONDS = Math.min(2, SECONDS);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUTES = new Set((process.env.BENCH_ROUTES ?? 'minimal,fleet,keyed,batch').split(','));
const BATCH = 100;
const API_KEY = { name: 'bench', key: 'bench-submit-key-3f9a2c' };

interface LoadResult {
  deliveriesPerSecond: number;
  failed: number;
  /** CPU (user + system) of this process, the servers', per delivery accepted. */
  apiCpuMsPerDelivery: number;
  /** CPU (user + system) of redis-server per delivery accepted, from its INFO cpu. */
  redisCpuMsPerDelivery: number;
}

/** redis-server's own CPU seconds so far (INFO cpu: used_cpu_user + used_cpu_sys). */
async function redisCpuSeconds(): Promise<number> {
  const info = await connection.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** The child that sends the requests; its own CPU is not counted. */
const loader = new ScriptProcess(join(import.meta.dirname, 'tools/submit-load.ts'), { NODE_OPTIONS: '' });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Loads `url` with `body` requests from the child, measuring this process's CPU meanwhile. */
async function load(url: string, body: 'single' | 'keyed' | 'batch', concurrency: number, seconds: number): Promise<LoadResult> {
  const perRequest = body === 'batch' ? BATCH : 1;
  const redisBefore = await redisCpuSeconds();
  const cpuBefore = process.cpuUsage();
  const { result } = await loader.measure<{ done: number; failed: number; seconds: number }>({ url, body, batch: BATCH, concurrency, seconds, authorization: `Bearer ${API_KEY.key}` });
  const cpu = process.cpuUsage(cpuBefore);
  const redisCpuMs = ((await redisCpuSeconds()) - redisBefore) * 1000;
  const deliveries = result.done * perRequest;
  return { deliveriesPerSecond: deliveries / result.seconds, failed: result.failed, apiCpuMsPerDelivery: (cpu.user + cpu.system) / 1000 / Math.max(1, deliveries), redisCpuMsPerDelivery: redisCpuMs / Math.max(1, deliveries) };
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
  const batchConcurrency = Math.max(1, Math.round(CONCURRENCY / 8));
  const plan = [
    { name: 'minimal', route: 'minimal Fastify route (zod + one BullMQ add)', url: `${minimalUrl}/v1/deliveries`, body: 'single', concurrency: CONCURRENCY },
    { name: 'fleet', route: 'POST /v1/deliveries', url: `${apiUrl}/v1/deliveries`, body: 'single', concurrency: CONCURRENCY },
    { name: 'keyed', route: 'POST /v1/deliveries with idempotency_key', url: `${apiUrl}/v1/deliveries`, body: 'keyed', concurrency: CONCURRENCY },
    { name: 'batch', route: `POST /v1/deliveries:batch (${BATCH} a request)`, url: `${apiUrl}/v1/deliveries:batch`, body: 'batch', concurrency: batchConcurrency },
  ] as const;
  const steps = plan.filter((p) => ROUTES.has(p.name));
  // Warm every route first (JIT, BullMQ's script loading), so the first measured is not the least optimized; then measure each on its own.
  for (const step of steps) await load(step.url, step.body, step.concurrency, WARM_SECONDS);
  // Rounds in turn (minimal, fleet, keyed, batch, minimal, ...), the median of each route:
  // what else runs on the machine changes by the second, and so would a route measured alone.
  const measured = new Map<string, LoadResult[]>(steps.map((step) => [step.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const step of steps) measured.get(step.name)!.push(await load(step.url, step.body, step.concurrency, SECONDS));
  }
  const rows = steps.map((step) => {
    const results = measured.get(step.name)!;
    return {
      name: step.name,
      route: step.route,
      concurrency: step.concurrency,
      deliveries_per_s: median(results.map((r) => r.deliveriesPerSecond)),
      api_cpu_ms_per_delivery: median(results.map((r) => r.apiCpuMsPerDelivery)),
      redis_cpu_ms_per_delivery: median(results.map((r) => r.redisCpuMsPerDelivery)),
      failed: results.reduce((sum, r) => sum + r.failed, 0),
    };
  });
  const floor = rows.find((r) => r.name === 'minimal');
  const fleet = rows.find((r) => r.name === 'fleet');
  const versus = (value: number, of: number | undefined) => (of === undefined ? '-' : `${(value / of).toFixed(2)}x`);

  const ratio = floor && fleet ? fleet.deliveries_per_s / floor.deliveries_per_s : undefined;
  const batch = rows.find((r) => r.name === 'batch');
  const lines = [
    '## Submit path (`bench/submit.ts`)',
    '',
    `One redis-server; the API and the minimal route in one process, the load generator in a child process; median of ${ROUNDS} rounds of ${SECONDS} s each (${QUICK ? 'quick' : 'full'} mode). Written ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} after.`,
    '',
    '| route | concurrent requests | deliveries/s | vs minimal route | API CPU ms per delivery | vs minimal route | Redis CPU ms per delivery | failed requests |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.route} | ${r.concurrency} | ${r.deliveries_per_s.toFixed(0)} | ${versus(r.deliveries_per_s, floor?.deliveries_per_s)} | ${r.api_cpu_ms_per_delivery.toFixed(3)} | ${versus(r.api_cpu_ms_per_delivery, floor?.api_cpu_ms_per_delivery)} | ${r.redis_cpu_ms_per_delivery.toFixed(3)} | ${r.failed} |`,
    ),
    '',
    '| what | figure | target | met |',
    '|---|---|---|---|',
    `| Submit: POST /v1/deliveries / minimal route, equal concurrency | ${ratio === undefined ? '-' : ratio.toFixed(2)} | ≥ 0.5 | ${ratio === undefined ? 'not measured' : ratio >= 0.5 ? 'yes' : '**no**'} |`,
    `| Batch submit: deliveries/s (${BATCH} a request) / minimal route | ${batch && floor ? (batch.deliveries_per_s / floor.deliveries_per_s).toFixed(2) : '-'} | reported | - |`,
    '',
  ];
  console.log(`\n${lines.join('\n')}`);
  const summary = { bench: 'submit', quick: QUICK, seconds: SECONDS, rounds: ROUNDS, ratio_to_minimal: ratio, rows };
  console.log(`\n${JSON.stringify(summary)}`);
  if (ROUTES.size === plan.length) writeBenchSection('submit', lines, summary);
} finally {
  await loader.close();
  await api.close();
  await minimal.close();
  await minimalQueue.close();
  await producer.close();
  connection.disconnect();
  await redisServer.stop();
  rmSync(dir, { recursive: true, force: true });
}
