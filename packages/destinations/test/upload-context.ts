import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { contentTypeFor, createLogger, createNetworkGuard, createScrubbingLogger, type NetworkGuard, type ScopedLogger } from '@upload-fleet/core';
import type { Destination } from '../src/definitions.js';
import type { CheckpointStore, CredentialProvider, UploadContext, UploadSource } from '../src/index.js';

/**
 * The context the runtime hands an adapter, built for tests: the one builder every
 * adapter test and the behaviour suite use. Each option defaults to what a plain first
 * attempt gets; a test names only what it is about.
 */
export interface TestContextOptions {
  source: UploadSource;
  /** Default: what the runtime derives (the destination's own field, else the extension). */
  contentType?: string;
  /** Default: mp4. */
  extension?: string;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
  /** Default: a silent scrubbing logger (TEST_LOG_LEVEL shows it) that removes `secrets`. */
  log?: ScopedLogger;
  secrets?: readonly string[];
  /** Default: a fresh memoryCheckpoints(). */
  checkpoint?: CheckpointStore;
  attempt?: number;
  lastAttempt?: boolean;
  /** Default: the real guard, opened for 127.0.0.1 only (the local servers' address). */
  network?: NetworkGuard;
  /** Default: a provider that fails the upload, naming the test that gave it none. */
  credentials?: CredentialProvider;
  /** Opens the other files a destination names (YouTube's thumbnail and captions); default: none. */
  openFile?: UploadContext<Destination>['openFile'];
}

export function testUploadContext<D extends Destination>(destination: D, options: TestContextOptions): UploadContext<D> {
  const extension = options.extension ?? 'mp4';
  return {
    destination,
    source: options.source,
    contentType: options.contentType ?? contentTypeFor(destination, extension),
    extension,
    signal: options.signal ?? new AbortController().signal,
    reportProgress: (bytes) => options.onProgress?.(bytes),
    log: options.log ?? createScrubbingLogger(createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), options.secrets ?? []),
    checkpoint: options.checkpoint ?? memoryCheckpoints(),
    attempt: options.attempt ?? 1,
    lastAttempt: options.lastAttempt ?? false,
    network: options.network ?? loopbackGuard,
    ...(options.openFile ? { openFile: options.openFile } : {}),
    credentials: options.credentials ?? noCredentials(destination.type),
  };
}

const loopbackGuard = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1'] });

function noCredentials(type: string): CredentialProvider {
  return {
    accessToken: () => Promise.reject(new Error(`this test gave the ${type} upload no credential provider`)),
  };
}

/** A file as an upload source, opened anew (optionally at an offset) for each read. */
export function fileSource(file: { path: string; name: string }): UploadSource {
  return {
    size: statSync(file.path).size,
    description: file.name,
    open: async (offset = 0) => createReadStream(file.path, { start: offset }),
  };
}

/**
 * A file as the runtime's path sources are: a stream for `open`, and positional reads into
 * the caller's buffers (`openReader`), which writeSource and SourceRangeReader prefer.
 */
export function fileReaderSource(file: { path: string; name: string }): UploadSource {
  return {
    ...fileSource(file),
    openReader: async () => {
      const handle = await open(file.path);
      return {
        read: async (buffer: Uint8Array, position: number) => (await handle.read(buffer, 0, buffer.byteLength, position)).bytesRead,
        close: () => handle.close(),
      };
    },
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
