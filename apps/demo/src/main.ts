/**
 * `pnpm demo`: the whole fleet on this machine with a local stand-in for every destination
 * type, and one delivery fanned out to all of them, with live progress.
 *
 * It starts s3rver (delivered to as Amazon S3, as MinIO and as Cloudflare R2), azurite, ftp-srv, an HTTP receiver and the YouTube, Facebook,
 * Dropbox, Cloud Storage, Mux and Vimeo fakes, and as root Debian's sshd for SFTP and Apache mod_dav for WebDAV
 * (each on 127.0.0.1, free ports), an embedded redis-server, every worker
 * pool, the API and the dashboard; writes a demo video under a temporary SOURCE_ROOT;
 * submits one delivery through the API; prints a line per upload state change; then the
 * result URLs and the dashboard's login. It keeps running until Ctrl-C, or exits when the
 * delivery has ended with `--exit` (status 0 when every upload completed). The stand-ins
 * take about 3 MiB/s each so the progress is worth watching; `--fast` lifts that.
 *
 * Nothing here is kept: keys, Redis data and the stand-ins' files live in temporary folders.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApi, loadApiConfig } from '@upload-fleet/api';
import { MAX_UPLOADS_PER_DELIVERY, SecretBox, createLogger, type DeliveryStatus } from '@upload-fleet/core';
import { loadDashboardConfig, startDashboard } from '@upload-fleet/dashboard';
import { startEmbeddedRedis } from '@upload-fleet/redis';
import { loadWorkerConfig, startWorkerFleet } from '@upload-fleet/runtime';
import { ProgressPrinter } from './progress-printer.js';
import { startStandIns } from './stand-ins.js';

const MiB = 1024 * 1024;
const FILE_NAME = 'welcome.mp4';
/** Over 5 MiB, so S3 goes multipart and Azure stages several blocks. */
const FILE_SIZE = 6 * MiB + 123;
const POLL_INTERVAL_MS = 250;
const DELIVERY_TIMEOUT_MS = 120_000;

/** Each stand-in takes the file at this pace, so the progress lines have something to show. */
const DEMO_BYTES_PER_SECOND = 3 * MiB;

const exitWhenDone = process.argv.includes('--exit');
const fullSpeed = process.argv.includes('--fast');
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'upload-fleet-demo-'));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(work, { recursive: true, force: true })];
  let stopping: Promise<number> | undefined;
  const stop = (code: number) =>
    (stopping ??= (async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => console.error(`clean-up: ${error.message}`));
      return code;
    })());
  // Ctrl-C drains like SIGTERM: the fleet hands its uploads back, then the embedded Redis
  // (its own process group, so the terminal's SIGINT does not reach it) stops. `on`, not
  // `once`: a repeated signal must not kill the drain half-way; `stop` runs once.
  process.on('SIGINT', () => void stop(0).then((code) => process.exit(code)));
  process.on('SIGTERM', () => void stop(0).then((code) => process.exit(code)));

  try {
    say('Starting the stand-ins of every destination ...');
    const standIns = await startStandIns(FILE_NAME);
    cleanups.push(() => standIns.close());
    for (const [type, where] of Object.entries(standIns.endpoints)) say(`  ${type.padEnd(9)} ${where}`);
    if (!fullSpeed) standIns.throttle(DEMO_BYTES_PER_SECOND);

    const redis = await startEmbeddedRedis({ dataDir: join(work, 'redis'), persist: false });
    cleanups.push(() => redis.stop());

    const sourceRoot = join(work, 'renders');
    mkdirSync(sourceRoot);
    writeFileSync(join(sourceRoot, FILE_NAME), randomBytes(FILE_SIZE));

    const apiKey = randomBytes(18).toString('base64url');
    const dashboardPassword = randomBytes(12).toString('base64url');
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...standIns.env,
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'upload-fleet-demo',
      ENCRYPTION_KEYS: `demo:${randomBytes(32).toString('base64')}`,
      WEBHOOK_SECRET: randomBytes(18).toString('base64url'),
      API_KEYS: `demo:${apiKey}`,
      DASHBOARD_USERS: `admin:${dashboardPassword}`,
      SOURCE_ROOT: sourceRoot,
      WORKER_POOLS: 'all',
      HOST: '127.0.0.1',
      PORT: '0',
      DASHBOARD_HOST: '127.0.0.1',
      DASHBOARD_PORT: '0',
    };

    await standIns.connectAccounts({ redisUrl: redis.url, prefix: env.REDIS_PREFIX!, secretBox: SecretBox.fromConfig(env.ENCRYPTION_KEYS!) });

    const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', base: { service: 'upload-fleet-demo' } });
    const workerConfig = loadWorkerConfig(env);
    const fleet = await startWorkerFleet({ ...workerConfig, redisUrl: redis.url }, logger, { metricsLabels: { service: 'demo' } });
    cleanups.push(() => fleet.close());
    const apiConfig = loadApiConfig(env);
    const api = buildApi({
      producer: fleet.producer,
      apiKeys: apiConfig.apiKeys,
      logger,
      readiness: async () => ({ ready: fleet.isReady(), checks: { redis: fleet.isReady() ? 'ok' : 'unavailable' } }),
      metrics: fleet.metrics,
    });
    await api.listen({ port: apiConfig.port, host: apiConfig.host });
    cleanups.push(() => api.close());
    const apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
    const dashboard = await startDashboard({ ...loadDashboardConfig(env), logger });
    cleanups.push(() => dashboard.close());
    say(`Fleet running: API ${apiUrl} (key: ${apiKey}), pools: ${workerConfig.pools.map((p) => p.type).join(', ')}`);

    // Through the API, as a render pipeline would submit it: one delivery per
    // MAX_UPLOADS_PER_DELIVERY destinations (the API's limit for one delivery).
    const batches: (typeof standIns.destinations)[] = [];
    for (let i = 0; i < standIns.destinations.length; i += MAX_UPLOADS_PER_DELIVERY) batches.push(standIns.destinations.slice(i, i + MAX_UPLOADS_PER_DELIVERY));
    const tokens: string[] = [];
    for (const [batch, destinations] of batches.entries()) {
      const response = await fetch(`${apiUrl}/v1/deliveries`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ source: { path: FILE_NAME }, uploads: destinations.map((destination) => ({ extension: 'mp4', destination })), idempotency_key: `pnpm-demo-${batch}` }),
      });
      const accepted = (await response.json()) as { token?: string; error?: { message: string } };
      if (!response.ok || !accepted.token) throw new Error(`the API refused the delivery (${response.status}): ${accepted.error?.message ?? JSON.stringify(accepted)}`);
      tokens.push(accepted.token);
      say(`Submitted delivery ${accepted.token}: ${FILE_NAME} (${FILE_SIZE} bytes) to ${destinations.length} destinations`);
    }

    const printer = new ProgressPrinter(say);
    const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
    let status: DeliveryStatus;
    for (;;) {
      // The uploads of every delivery, numbered in one sequence for the printer.
      const statuses = await Promise.all(tokens.map((token) => fleet.producer.get(token)));
      status = { ...statuses[0]!, uploads: statuses.flatMap((s, batch) => s.uploads.map((u) => ({ ...u, index: u.index + batch * MAX_UPLOADS_PER_DELIVERY }))) };
      printer.update(status);
      if (status.uploads.every((u) => ['completed', 'failed', 'cancelled'].includes(u.state))) break;
      if (Date.now() > deadline) throw new Error(`the deliveries did not end within ${DELIVERY_TIMEOUT_MS / 1000} s`);
      await sleep(POLL_INTERVAL_MS);
    }

    say('');
    printer.summary(status);
    say('');
    say(`Dashboard: ${dashboard.url}  (login: admin / ${dashboardPassword})`);
    for (const token of tokens) say(`Status:    curl -s ${apiUrl}/v1/deliveries/${token} -H 'Authorization: Bearer ${apiKey}'`);
    say(`Metrics:   ${apiUrl}/metrics`);
    const completed = status.uploads.filter((u) => u.state === 'completed').length;
    const code = completed === status.uploads.length ? 0 : 1;

    if (exitWhenDone) return await stop(code);
    say('');
    say('Running until Ctrl-C.');
    return await new Promise<number>(() => undefined);
  } catch (error) {
    console.error(`pnpm demo failed: ${(error as Error).message}`);
    return stop(1);
  }
}

void main().then((code) => process.exit(code));
