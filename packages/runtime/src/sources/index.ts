import type { NetworkGuard, Source } from '@upload-fleet/core';
import type { UploadSource } from '@upload-fleet/destinations';
import { openPathSource } from './path-source.js';
import type { SourceFileCalls } from './file-calls.js';
import { openUrlSource } from './url-source.js';

/**
 * Sources: where the rendered file is read from. A `{ path }` under SOURCE_ROOT or an
 * http(s) `{ url }`. Both become an UploadSource: a size known before the upload starts
 * (destinations need it for Content-Length and resumable sessions) and an `open(offset)`
 * that returns a fresh stream, so a retry or a resume never reuses a half-read one.
 */
export interface OpenSourceOptions {
  /** SOURCE_ROOT: `path` sources must resolve (symlinks included) inside this folder. */
  sourceRoot: string;
  /** For `path` sources: their file calls inline or in the thread pool (file-calls.ts); `auto` when unset. */
  fileCalls?: SourceFileCalls;
  /** Applied to `url` sources, their redirects and every connection they open. */
  network: NetworkGuard;
  /** For `url` sources: connect and time-to-response-headers limit per request. Default 30 s. */
  requestTimeoutMs?: number;
  /**
   * For `path` sources: keep the checked file open for the first read (openPathSource). The
   * caller then closes the source when it is done with it.
   */
  holdOpen?: boolean;
}

/**
 * Opens a source without reading it: validates where it is and learns its size. Throws
 * FleetErrors: UF_SOURCE_NOT_FOUND, UF_SOURCE_FORBIDDEN and UF_BLOCKED_ADDRESS (permanent),
 * or transient network errors for a URL whose server fails.
 */
export async function openSource(source: Source, options: OpenSourceOptions): Promise<UploadSource> {
  if ('path' in source) return openPathSource(source.path, options.sourceRoot, { holdOpen: options.holdOpen ?? false, fileCalls: options.fileCalls ?? 'auto' });
  return openUrlSource(source.url, { network: options.network, requestTimeoutMs: options.requestTimeoutMs });
}

export { inlineFileCallsUnder, type SourceFileCalls } from './file-calls.js';
export { openPathSource } from './path-source.js';
export { digestingSource, type DigestingSource } from './source-digest.js';
export { openUrlSource, type UrlSourceOptions } from './url-source.js';
