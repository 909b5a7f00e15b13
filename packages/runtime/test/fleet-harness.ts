import { randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, SecretBox } from '@upload-fleet/core';
import { defaultDestinationsConfig } from '@upload-fleet/destinations';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import { startWorkerFleet, type WorkerConfig, type WorkerFleet } from '../src/index.js';

/** A worker fleet in this process, on the test Redis, with short timings for tests. */
export interface FleetHarness {
  fleet: WorkerFleet;
  config: WorkerConfig & { redisUrl: string };
  sourceRoot: string;
  /** Writes a file of random bytes under the source root; answers its name and sha256. */
  writeSource(name: string, size: number): { name: string; sha256: string; size: number };
  restart(): Promise<WorkerFleet>;
  dispose(): Promise<void>;
}

export const WEBHOOK_SECRET = 'test-webhook-secret-123456';

export function testConfig(prefix: string, sourceRoot: string, overrides: Partial<WorkerConfig> = {}): WorkerConfig & { redisUrl: string } {
  return {
    redisUrl: testRedisUrl(),
    prefix,
    secretBox: new SecretBox([{ id: 'test', key: Buffer.alloc(32, 3) }]),
    webhookSecret: WEBHOOK_SECRET,
    pools: [{ type: 'http', concurrency: 2 }],
    sourceRoot,
    allowedPrivateHosts: ['127.0.0.1', 'localhost'],
    maxAttempts: 3,
    uploadTimeoutMs: 60_000,
    shutdownGraceMs: 2_000,
    lockDurationMs: 5_000,
    stalledIntervalMs: 2_000,
    maxStalledCount: 3,
    backoff: { baseDelayMs: 400, maxDelayMs: 5_000 },
    defaultRateLimitDelayMs: 1_000,
    webhookTimeoutMs: 5_000,
    webhookMaxAttempts: 3,
    webhookBackoffMs: 300,
    checkpointTtlSeconds: 3_600,
    destinations: defaultDestinationsConfig(),
    limitRules: {},
    leaseTtlMs: 5_000,
    ...overrides,
  };
}

export async function startFleetHarness(name: string, overrides: Partial<WorkerConfig> = {}): Promise<FleetHarness> {
  const prefix = uniquePrefix(name);
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-sources-'));
  const config = testConfig(prefix, sourceRoot, overrides);
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let fleet = await startWorkerFleet(config, logger);
  return {
    get fleet() {
      return fleet;
    },
    config,
    sourceRoot,
    writeSource(fileName, size) {
      const bytes = randomBytes(size);
      writeFileSync(join(sourceRoot, fileName), bytes);
      return { name: fileName, size, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
    async restart() {
      fleet = await startWorkerFleet(config, logger);
      return fleet;
    },
    async dispose() {
      await fleet.close();
      await deletePrefix(config.redisUrl, prefix);
      rmSync(sourceRoot, { recursive: true, force: true });
    },
  };
}
