import http from 'node:http';
import https from 'node:https';
import { BlockBlobClient, StorageSharedKeyCredential, type StoragePipelineOptions } from '@azure/storage-blob';
import type { FleetError, NetworkGuard } from '@upload-fleet/core';
import type { BlobAddress } from './blob-address.js';
import { errorForAzure } from './errors.js';

/**
 * The SDK client of one upload, and the one way the adapter calls it (`call`): with an
 * abort signal, a deadline, and its failure classified.
 */
export interface BlobConnection {
  readonly client: BlockBlobClient;
  /**
   * Runs one SDK call. Its signal fires when `parent` does, or when `idleMs` pass without a
   * `touch()` (each upload progress event touches). A failure is thrown as a FleetError,
   * unless `recover` turns the raw SDK error into a value (e.g. 404 BlobNotFound into "none").
   */
  call<T>(parent: AbortSignal, idleMs: number, fn: (signal: AbortSignal, touch: () => void) => Promise<T>, recover?: (error: unknown) => T | undefined): Promise<T>;
  /** Errors of this upload in the taxonomy (the same classification `call` uses). */
  classify(error: unknown): FleetError;
  close(): void;
}

/**
 * Options that @azure/storage-blob hands on to @azure/core-rest-pipeline's
 * createPipelineFromOptions without declaring them in StoragePipelineOptions (it spreads
 * its options into that call; see Pipeline.js getCoreClientOptions). `agent` is the
 * documented PipelineOptions.agent of core-rest-pipeline; azureblob.test.ts checks that
 * connections really go through it, so an SDK update that drops it fails a test.
 */
interface CorePipelineOptions {
  agent: http.Agent;
  redirectOptions: { maxRetries: number };
}

export function openConnection(address: BlobAddress, key: string, network: NetworkGuard, uploadSignal: AbortSignal): BlobConnection {
  // Every connection resolves its host through the fleet's network guard, like the other
  // adapters, although the endpoint is the operator's: the account name chooses the host.
  // A custom agent also takes precedence over HTTP(S)_PROXY in the SDK's proxy policy.
  const agentOptions = { keepAlive: true, lookup: network.lookup };
  const agent = address.serviceUrl.startsWith('https:') ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const options: StoragePipelineOptions & CorePipelineOptions = {
    // BullMQ retries the job with backoff, and the checkpoint keeps the staged blocks:
    // retries inside the SDK would hide attempts and hold a worker slot meanwhile.
    retryOptions: { maxTries: 1 },
    agent,
    // The blob service does not redirect; following one would send signed requests elsewhere.
    redirectOptions: { maxRetries: 0 },
  };
  const client = new BlockBlobClient(address.url, new StorageSharedKeyCredential(address.account, key), options);
  const classify = (error: unknown, timedOut = false) => errorForAzure(error, address, { signal: uploadSignal, timedOut });

  return {
    client,
    classify,
    async call(parent, idleMs, fn, recover) {
      const deadline = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        deadline.abort(new Error(`no progress for ${idleMs} ms`));
      }, idleMs);
      try {
        return await fn(AbortSignal.any([parent, deadline.signal]), () => timer.refresh());
      } catch (error) {
        const recovered = recover?.(error);
        if (recovered !== undefined) return recovered;
        throw classify(error, timedOut);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      agent.destroy();
    },
  };
}
