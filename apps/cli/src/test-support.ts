/**
 * Test support (not exported by the package): the real API on a real Producer, a real
 * worker fleet with the HTTP destination, a local HTTP receiver, and the CLI run as a child
 * process exactly as a user runs it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApi, type ApiKey } from '@upload-fleet/api';
import { SecretBox, createLogger } from '@upload-fleet/core';
import { loadWorkerConfig, startWorkerFleet, type WorkerFleet } from '@upload-fleet/runtime';
import { deletePrefix, startHttpReceiver, testRedisUrl, uniquePrefix, type HttpReceiver } from '@upload-fleet/testkit';

export const KEY: ApiKey = { name: 'cli-test', key: 'cli-test-key-5b7e1f9a3c' };

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const main = fileURLToPath(new URL('./main.ts', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliHarness {
  apiUrl: string;
  receiver: HttpReceiver;
  fleet: WorkerFleet;
  /** A scratch folder: the CLI's working directory, and where request files go. */
  workDir: string;
  /** Writes `size` random bytes under the fleet's source root; answers the name to use as source.path. */
  writeSource(name: string, size: number): string;
  /** Writes a file in the work folder; answers its name. */
  writeFile(name: string, text: string): string;
  /** Runs `upload-fleet <args>` against this API (key and URL in the environment unless `env` says otherwise). */
  cli(args: string[], options?: { env?: Record<string, string>; stdin?: string }): Promise<CliRun>;
  close(): Promise<void>;
}

export async function startCliHarness(name: string): Promise<CliHarness> {
  const redisUrl = testRedisUrl();
  const prefix = uniquePrefix(name);
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-cli-sources-'));
  const workDir = mkdtempSync(join(tmpdir(), 'upload-fleet-cli-work-'));
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const receiver = await startHttpReceiver();
  const config = loadWorkerConfig(
    {
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      ENCRYPTION_KEYS: `test:${SecretBox.generateKey()}`,
      WEBHOOK_SECRET: 'cli-test-webhook-secret-1234',
      WORKER_POOLS: 'http',
      SOURCE_ROOT: sourceRoot,
      ALLOWED_PRIVATE_HOSTS: '127.0.0.1,localhost',
      UPLOAD_MAX_ATTEMPTS: '2',
      BACKOFF_BASE_MS: '200',
      BACKOFF_MAX_MS: '1000',
      SHUTDOWN_GRACE_MS: '2000',
    },
    ['http'],
  );
  const fleet = await startWorkerFleet({ ...config, redisUrl }, logger);
  const api = buildApi({ producer: fleet.producer, apiKeys: [KEY], logger });
  await api.listen({ port: 0, host: '127.0.0.1' });
  const apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;

  return {
    apiUrl,
    receiver,
    fleet,
    workDir,
    writeSource(fileName, size) {
      writeFileSync(join(sourceRoot, fileName), randomBytes(size));
      return fileName;
    },
    writeFile(fileName, text) {
      writeFileSync(join(workDir, fileName), text);
      return fileName;
    },
    cli(args, options = {}) {
      return runCliProcess(args, workDir, { UPLOAD_FLEET_API_URL: apiUrl, UPLOAD_FLEET_API_KEY: KEY.key, ...options.env }, options.stdin);
    },
    async close() {
      await api.close();
      await fleet.close();
      await receiver.close();
      await deletePrefix(redisUrl, prefix);
      rmSync(sourceRoot, { recursive: true, force: true });
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** `node tsx/cli main.ts <args>` with only the given environment (no INIT_CWD, no stray keys from the test's own). */
export function runCliProcess(args: string[], cwd: string, env: Record<string, string>, stdin?: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsxCli, '--conditions=development', main, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(stdin ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
