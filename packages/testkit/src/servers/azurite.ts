import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { freePort } from './ports.js';

/** azurite's blob service as a child process: the Azure stand-in of the tests and of `pnpm demo`. */

export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  /** Port of the blob service on 127.0.0.1. */
  readonly port: number;
  /** azurite's process (the bench reads its CPU). */
  readonly pid: number;
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
  const port = await freePort();
  const main = createRequire(import.meta.url).resolve('azurite/dist/src/blob/main.js');
  const child = spawn(
    process.execPath,
    [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--disableTelemetry', '--skipApiVersionCheck', '--silent'],
    // detached: its own process group, so a Ctrl-C of `pnpm demo` does not kill it under the
    // uploads the demo is draining; close() stops it.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
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
    pid: child.pid!,
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

