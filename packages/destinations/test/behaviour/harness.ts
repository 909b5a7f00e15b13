import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createNetworkGuard, type UploadResult } from '@upload-fleet/core';
import type { Destination } from '../../src/definitions.js';
import type { CheckpointStore, CredentialProvider } from '../../src/index.js';
import { fileSource, memoryCheckpoints, testUploadContext } from '../upload-context.js';
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

export interface RunOptions {
  signal?: AbortSignal;
  checkpoint?: CheckpointStore;
  onProgress?: (bytes: number) => void;
  extension?: string;
  /** For auth_secret destinations; by default every auth_secret is unknown. */
  credentials?: CredentialProvider;
}

export { fileSource, memoryCheckpoints };

/** Runs one adapter upload in this process, with the context the runtime would give it. */
export function runUpload(target: BehaviourTarget, destination: Destination, file: SourceFile, options: RunOptions = {}): Promise<UploadResult> {
  const context = testUploadContext(destination, {
    source: fileSource(file),
    ...options,
    network: createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1', 'localhost', '::1'] }),
  });
  return target.adapter.upload(context as never);
}

/** Polls until `probe` answers (the testkit's; here for the destination tests that import it from this harness). */
export { until } from '@upload-fleet/testkit';
