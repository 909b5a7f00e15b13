import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { SecretBox } from '@upload-fleet/core';
import type { DestinationType } from '@upload-fleet/destinations/definitions';
import { Producer } from '@upload-fleet/producer';
import { cpuSecondsOf, machineCpuSeconds, peakRssMiBOf, rssMiBOf, threadCpuSecondsOf, type Measurement } from './measure.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
/** The name the worker gives its SHA-256 thread (runtime's sources/sha256-thread.ts). */
const SHA256_THREAD_NAME = 'upload-fleet sha256';
const ENCRYPTION_KEYS = `bench:${Buffer.alloc(32, 5).toString('base64')}`;

/** BENCH_WORKER_ENV: settings for the workers alone, for an A/B of one of them, e.g. "SOURCE_FILE_CALLS=thread-pool". */
function workerEnvOfBench(): Record<string, string> {
  const pairs = process.env.BENCH_WORKER_ENV?.split(' ').filter(Boolean) ?? [];
  return Object.fromEntries(
    pairs.map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 1) throw new Error(`BENCH_WORKER_ENV takes NAME=value pairs separated by spaces; "${pair}" is not one`);
      return [pair.slice(0, equals), pair.slice(equals + 1)];
    }),
  );
}

/**
 * The fleet as an operator runs it: worker processes of the built JS
 * (`node apps/worker/dist/main.js`, default settings but for what `env` sets), deliveries
 * submitted through the producer library on the same Redis.
 */
export class Fleet {
  readonly producer: Producer;
  private readonly redis: Redis;
  private readonly workers: { child: ChildProcess; output: string }[] = [];
  private readonly events = new Map<DestinationType, { events: QueueEvents; connection: Redis }>();

  constructor(
    private readonly options: { redisUrl: string; prefix: string; sourceRoot: string; env?: Record<string, string>; processes?: number },
  ) {
    this.redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.producer = new Producer({ connection: this.redis, prefix: options.prefix, secretBox: SecretBox.fromConfig(ENCRYPTION_KEYS) });
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!);
  }

  async start(): Promise<void> {
    for (let i = 0; i < (this.options.processes ?? 1); i += 1) {
      // BENCH_WORKER_NODE_ARGS: Node options for the workers alone, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
      // The worker runs with the young-generation cap the image gives it (deploy/docker-entrypoint.sh).
      const nodeArgs = ['--max-semi-space-size=8', ...(process.env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
      const child = spawn(process.execPath, [...nodeArgs, join(repoRoot, 'apps/worker/dist/main.js')], {
        cwd: repoRoot,
        env: {
          PATH: process.env.PATH,
          REDIS_URL: this.options.redisUrl,
          REDIS_PREFIX: this.options.prefix,
          ENCRYPTION_KEYS,
          WEBHOOK_SECRET: 'bench-webhook-secret-0123456789',
          SOURCE_ROOT: this.options.sourceRoot,
          ALLOWED_PRIVATE_HOSTS: '127.0.0.1,127.0.0.2,localhost',
          HEALTH_PORT: '0',
          HEALTH_HOST: '127.0.0.1',
          ...this.options.env,
          ...workerEnvOfBench(),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const worker = { child, output: '' };
      const keep = (d: Buffer) => (worker.output = (worker.output + d.toString()).slice(-20_000));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      this.workers.push(worker);
    }
    const deadline = Date.now() + 60_000;
    for (const worker of this.workers) {
      while (!worker.output.includes('worker pools started')) {
        if (worker.child.exitCode !== null || Date.now() > deadline) throw new Error(`the worker did not start:\n${worker.output}`);
        await sleep(25);
      }
    }
  }

  /**
   * One delivery of `path` (under SOURCE_ROOT) to `destination`, from enqueue to its job's
   * completed event. Waited for with QueueEvents (one blocking read), not by polling the
   * status: this process also runs the sink, s3rver and the FTP forwarders, and a status read
   * every 20 ms took about 6 % of its one thread, from s3rver most of all (the S3 rows wait on
   * it). The status is read once afterwards, to check the delivery completed.
   */
  async deliver(path: string, destination: Record<string, unknown>): Promise<Measurement> {
    const events = await this.eventsOf(destination.type as DestinationType);
    const cpuBefore = this.cpuSeconds();
    const hashBefore = this.sha256ThreadCpuSeconds();
    const machineBefore = machineCpuSeconds();
    const started = process.hrtime.bigint();
    const { token, uploads } = await this.producer.enqueue({ source: { path }, upload: { destination } });
    const job = await this.producer.queue(destination.type as DestinationType).getJob(uploads[0]!.job_id);
    const failure = await job?.waitUntilFinished(events, 30 * 60_000).then(() => undefined, (error: Error) => error);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const measurement = { seconds, cpuSeconds: this.cpuSeconds() - cpuBefore, peakRssMiB: this.peakRssMiB(), sha256ThreadCpuSeconds: this.sha256ThreadCpuSeconds() - hashBefore, machineCpuSeconds: machineCpuSeconds() - machineBefore };
    const final = await this.producer.get(token);
    if (failure || final.state !== 'completed') throw new Error(`the delivery ended ${final.state}${failure ? ` (${failure.message})` : ''}: ${JSON.stringify(final.uploads[0])}\n${this.workers[0]!.output.slice(-3000)}`);
    return measurement;
  }

  /** The completed and failed events of one destination's queue, read from when it is first asked for. */
  private async eventsOf(type: DestinationType): Promise<QueueEvents> {
    const known = this.events.get(type);
    if (known) return known.events;
    const queue = this.producer.queue(type);
    const connection = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null });
    const events = new QueueEvents(queue.name, { connection, prefix: queue.opts.prefix });
    this.events.set(type, { events, connection });
    await events.waitUntilReady();
    return events;
  }

  /** user + system seconds of the workers' SHA-256 threads so far (runtime's sources/sha256-thread.ts names them). */
  sha256ThreadCpuSeconds(): number {
    return this.pids.reduce((sum, pid) => sum + threadCpuSecondsOf(pid, SHA256_THREAD_NAME), 0);
  }

  /** user + system seconds of all worker processes so far. */
  cpuSeconds(): number {
    return this.pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  }

  /** The largest peak RSS among the worker processes. */
  peakRssMiB(): number {
    return Math.max(...this.pids.map(peakRssMiBOf));
  }

  rssMiB(): number {
    return Math.max(...this.pids.map(rssMiBOf));
  }

  output(): string {
    return this.workers.map((w) => w.output).join('\n');
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(async ({ child }) => {
        if (child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }),
    );
    for (const { events, connection } of this.events.values()) {
      await events.close();
      connection.disconnect();
    }
    await this.producer.close();
    this.redis.disconnect();
  }
}
