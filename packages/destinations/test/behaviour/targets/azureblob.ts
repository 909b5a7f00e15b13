import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { azureBlobDestinationSchema, type AzureBlobDestination } from '@upload-fleet/core';
import { startTcpProxy } from '@upload-fleet/testkit';
import type { DestinationAdapter } from '../../../src/index.js';
import { createAzureBlobAdapter } from '../../../src/azureblob/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

/** Azurite's development account and its well-known key (public: the Azure storage emulator documents both). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * The Azure Blob destination against azurite's blob service (a child process), behind the
 * testkit's TCP proxy, which counts the bytes uploads send and can slow them down. The
 * adapter reaches azurite path-style through the proxy (`http://127.0.0.1:<port>/{account}`);
 * the target's own checks (`stored`) talk to azurite directly.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const azurite = await startAzurite();
  const proxy = await startTcpProxy(azurite.port);
  const endpoint = `http://127.0.0.1:${proxy.port}/{account}`;
  const container = 'behaviour';
  await azurite.service.getContainerClient(container).create();

  const adapter = createAzureBlobAdapter({ endpoint, blocksInFlight: 4 });
  // The "closed port" case needs an adapter configured for another endpoint (endpoints are
  // operator configuration, not part of a destination): used for exactly one upload.
  let nextAdapter: DestinationAdapter<'azureblob'> | undefined;
  const target: DestinationAdapter<'azureblob'> = {
    type: 'azureblob',
    upload(context) {
      const chosen = nextAdapter ?? adapter;
      nextAdapter = undefined;
      return chosen.upload(context);
    },
  };

  const destination = (name: string, overrides: Partial<AzureBlobDestination> = {}) =>
    azureBlobDestinationSchema.parse({ type: 'azureblob', account: AZURITE_ACCOUNT, key: AZURITE_KEY, container, filename: name, ...overrides });

  return {
    type: 'azureblob',
    resumable: true,
    adapter: target as BehaviourTarget['adapter'],
    destination: (name) => destination(name),
    stored: (name) => azurite.stored(container, name),
    bytesReceived: () => proxy.bytesUp,
    throttle: (bytesPerSecond) => proxy.setThrottle(bytesPerSecond),
    workerEnv: () => ({ AZURE_BLOB_ENDPOINT: endpoint }),
    async errorCases(): Promise<ErrorCase[]> {
      const closedPort = await unusedPort();
      const wrongKey = Buffer.alloc(64, 7).toString('base64');
      return [
        // Azurite checks shared-key signatures and answers 403 AuthorizationFailure (Azure: 403 AuthenticationFailed).
        { name: 'wrong key (403)', destination: destination('e403.mp4', { key: wrongKey }), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
        { name: 'missing container (404 ContainerNotFound)', destination: destination('e404.mp4', { container: 'no-such-container' }), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent' },
        {
          name: 'closed port',
          destination: destination('closed.mp4'),
          code: 'UF_NETWORK',
          category: 'transient',
          before: () => {
            nextAdapter = createAzureBlobAdapter({ endpoint: `http://127.0.0.1:${closedPort}/{account}`, blocksInFlight: 4 });
          },
        },
      ];
    },
    async close() {
      await proxy.close();
      await azurite.close();
    },
  };
}

export interface Azurite {
  /** Port of the blob service on 127.0.0.1. */
  readonly port: number;
  /** A client of the development account, straight to azurite (no proxy). */
  readonly service: BlobServiceClient;
  /** Size and SHA-256 of a blob, read from azurite; undefined when there is none. */
  stored(container: string, name: string): Promise<{ size: number; sha256: string } | undefined>;
  close(): Promise<void>;
}

/**
 * Starts azurite's blob service on 127.0.0.1 with a free port and its data in a temporary
 * folder, and waits until it answers. `--skipApiVersionCheck`: @azure/storage-blob sends
 * service versions newer than azurite knows. `--disableTelemetry`: azurite would report
 * to Microsoft otherwise (and no network is reachable here).
 */
export async function startAzurite(): Promise<Azurite> {
  const location = mkdtempSync(join(tmpdir(), 'upload-fleet-azurite-'));
  const port = await unusedPort();
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js');
  const child = spawn(
    process.execPath,
    [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--disableTelemetry', '--skipApiVersionCheck', '--silent'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await waitUntilAnswering(child, port, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(location, { recursive: true, force: true });
    throw error;
  }

  const service = new BlobServiceClient(`http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), {
    retryOptions: { maxTries: 1 },
  });
  return {
    port,
    service,
    async stored(container, name) {
      const blob = service.getContainerClient(container).getBlobClient(name);
      let body: NodeJS.ReadableStream | undefined;
      try {
        body = (await blob.download()).readableStreamBody;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw error;
      }
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
      }
      return { size, sha256: hash.digest('hex') };
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const stopped = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
        if (!stopped) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      rmSync(location, { recursive: true, force: true });
    },
  };
}

async function waitUntilAnswering(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`azurite exited before answering:\n${output()}`);
    // Any answer will do (an unsigned request gets 403): the service is up.
    const answered = await new Promise<boolean>((resolve) => {
      const request = get({ host: '127.0.0.1', port, path: `/${AZURITE_ACCOUNT}?comp=list`, timeout: 1000 }, (response) => {
        response.resume();
        resolve(true);
      });
      request.on('error', () => resolve(false));
      request.on('timeout', () => request.destroy());
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`azurite did not answer on port ${port} within 30 s:\n${output()}`);
    await sleep(100);
  }
}

/** A port nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
