/**
 * Runs one adapter upload in a process of its own and prints its peak RSS, so the
 * benchmark measures the worker side only (the server under test runs in the parent).
 * argv: <file path>; env: BENCH_DESTINATION (JSON), plus the destinations' own settings.
 */
import { createReadStream, statSync } from 'node:fs';
import { contentTypeFor, createLogger, createNetworkGuard, createScrubbingLogger } from '@upload-fleet/core';
import { destinationSchema, destinationsEnvSchema, loadAdapters, type DestinationAdapter } from '@upload-fleet/destinations';

const file = process.argv[2]!;
const destination = destinationSchema.parse(JSON.parse(process.env.BENCH_DESTINATION!));
const adapter = (await loadAdapters([destination.type], destinationsEnvSchema.parse(process.env)))[destination.type] as DestinationAdapter | undefined;
if (!adapter) throw new Error(`no adapter for ${destination.type}`);
const size = statSync(file).size;
let lastProgress = 0;
const started = Date.now();
let checkpoint: unknown;
await adapter.upload({
  destination: destination as never,
  source: { size, description: file, open: async (offset = 0) => createReadStream(file, { start: offset }) },
  contentType: contentTypeFor(destination, 'mp4'),
  extension: 'mp4',
  signal: new AbortController().signal,
  reportProgress: (bytes) => (lastProgress = bytes),
  log: createScrubbingLogger(createLogger({ level: 'silent' }), []),
  checkpoint: { load: async () => checkpoint as never, save: async (s) => void (checkpoint = s), clear: async () => void (checkpoint = undefined) },
  attempt: 1,
  lastAttempt: false,
  network: createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1', 'localhost'] }),
  credentials: { accessToken: async () => process.env.BENCH_ACCESS_TOKEN ?? '' },
});
const seconds = (Date.now() - started) / 1000;
// maxRSS is in kilobytes.
console.log(JSON.stringify({ bytes: lastProgress, seconds, peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024) }));
