import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { contentTypeFor, createNetworkGuard, createScrubbingLogger, createLogger, type UploadResult } from '@upload-fleet/core';
import type { Destination } from '@upload-fleet/destinations/definitions';
import type { CheckpointStore, CredentialProvider, UploadContext, UploadSource } from '../../src/index.js';
import type { BehaviourTarget } from './target.js';

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

/** Polls until `probe` answers (the testkit's; here for the destination tests that import it from this harness). */
export { until } from '@upload-fleet/testkit';
