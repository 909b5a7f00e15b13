import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { once } from 'node:events';
import {
  contentTypeFor,
  createNetworkGuard,
  createScrubbingLogger,
  createLogger,
  type Destination,
  type UploadResult,
} from '@upload-fleet/core';
import type { CheckpointStore, CredentialProvider, UploadContext, UploadSource } from '../../src/index.js';
import type { BehaviourTarget } from './target.js';

export const repoRoot = resolve(import.meta.dirname, '../../../..');

export interface SourceFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

/** Writes `size` random bytes to a file in chunks (never all in memory) and hashes them. */
export async function writeRandomFile(dir: string, name: string, size: number): Promise<SourceFile> {
  const path = join(dir, name);
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  const chunk = 4 * 1024 * 1024;
  for (let written = 0; written < size; written += chunk) {
    const bytes = randomBytes(Math.min(chunk, size - written));
    hash.update(bytes);
    if (!out.write(bytes)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { path, name, size, sha256: hash.digest('hex') };
}

export function fileSource(file: SourceFile): UploadSource {
  return {
    size: statSync(file.path).size,
    description: file.name,
    open: async (offset = 0) => createReadStream(file.path, { start: offset }),
  };
}

/** A checkpoint store in memory; `freeze()` stops persisting saves, as a killed process would. */
export function memoryCheckpoints(): CheckpointStore & { state: unknown; freeze(): void; saves: number } {
  let frozen = false;
  const store = {
    state: undefined as unknown,
    saves: 0,
    freeze() {
      frozen = true;
    },
    async load<T>() {
      return store.state === undefined ? undefined : (structuredClone(store.state) as T);
    },
    async save<T>(state: T) {
      if (frozen) return;
      store.saves += 1;
      store.state = structuredClone(state);
    },
    async clear() {
      if (!frozen) store.state = undefined;
    },
  };
  return store;
}

export interface RunOptions {
  signal?: AbortSignal;
  checkpoint?: CheckpointStore;
  onProgress?: (bytes: number) => void;
  extension?: string;
  /** For auth_secret destinations; by default every auth_secret is unknown. */
  credentials?: CredentialProvider;
}

const noCredentials: CredentialProvider = {
  async accessToken() {
    throw new Error('this test gave the upload no credential provider');
  },
};

/** Runs one adapter upload in this process, with the context the runtime would give it. */
export function runUpload(target: BehaviourTarget, destination: Destination, file: SourceFile, options: RunOptions = {}): Promise<UploadResult> {
  const context: UploadContext<Destination> = {
    destination,
    source: fileSource(file),
    contentType: contentTypeFor(destination, options.extension ?? 'mp4'),
    extension: options.extension ?? 'mp4',
    signal: options.signal ?? new AbortController().signal,
    reportProgress: (bytes) => options.onProgress?.(bytes),
    log: createScrubbingLogger(createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), []),
    checkpoint: options.checkpoint ?? memoryCheckpoints(),
    attempt: 1,
    lastAttempt: false,
    network: createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1', 'localhost', '::1'] }),
    credentials: options.credentials ?? noCredentials,
  };
  return target.adapter.upload(context as never);
}

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts apps/worker as its own OS process (node with tsx as a loader, so SIGKILL reaches it). */
export function startWorkerProcess(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', join(repoRoot, 'apps/worker/src/main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, HEALTH_PORT: '0', HEALTH_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
