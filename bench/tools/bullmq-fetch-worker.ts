/**
 * Reference for the tiny deliveries: a BullMQ worker written the obvious way. Each job
 * carries a file path and a URL; the processor reads the file and PUTs it with fetch.
 * env: REDIS_URL, BENCH_QUEUE, BENCH_CONCURRENCY.
 */
import { readFile } from 'node:fs/promises';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
const worker = new Worker<{ path: string; url: string }>(
  process.env.BENCH_QUEUE!,
  async (job) => {
    const response = await fetch(job.data.url, { method: 'PUT', body: await readFile(job.data.path) });
    if (!response.ok) throw new Error(`PUT ${job.data.url}: ${response.status}`);
    return { status: response.status, body: await response.text() };
  },
  { connection, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50) },
);
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
