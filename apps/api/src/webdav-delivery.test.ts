/**
 * A WebDAV delivery end to end through the fleet: submitted to the HTTP API, uploaded by
 * a real worker process (WORKER_POOLS=webdav) to Debian's Apache with mod_dav, read back
 * through the status API. The password and the headers never come back out.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASIC_PASSWORD, BASIC_USER, DIGEST_PASSWORD, DIGEST_USER, startApacheWebdav, type ApacheWebdav, type WorkerProcess } from '@upload-fleet/testkit';
import { asAlice, deliveryEnd, startHarness, startHarnessWorker, type Harness } from './test-harness.js';

describe('a WebDAV delivery through the API', () => {
  let server: ApacheWebdav;
  let h: Harness;
  let worker: WorkerProcess;
  const sourceRoot = mkdtempSync(join(tmpdir(), 'upload-fleet-api-webdav-'));
  const bytes = randomBytes(3 * 1024 * 1024 + 11);
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  beforeAll(async () => {
    writeFileSync(join(sourceRoot, 'welcome.mp4'), bytes);
    server = await startApacheWebdav();
    h = await startHarness('api-webdav');
    worker = startHarnessWorker(h, 'webdav', sourceRoot);
  }, 60_000);
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await worker?.exited;
    await h?.close();
    await server?.close();
    rmSync(sourceRoot, { recursive: true, force: true });
  });

  it('delivers to Basic and Digest collections, byte for byte, and reports each file URL without a credential', async () => {
    const submitted = await h.app.inject({
      method: 'POST',
      url: '/v1/deliveries',
      headers: asAlice,
      payload: {
        source: { path: 'welcome.mp4' },
        uploads: [
          { destination: { type: 'webdav', url: `${server.url}/basic/`, filename: 'api/welcome.mp4', user: BASIC_USER, password: BASIC_PASSWORD } },
          { destination: { type: 'webdav', url: `${server.url}/digest/`, filename: 'api/welcome.mp4', user: DIGEST_USER, password: DIGEST_PASSWORD, overwrite: false } },
        ],
      },
    });
    expect(submitted.statusCode, submitted.body).toBe(202);
    const { token } = submitted.json<{ token: string }>();

    const status = await deliveryEnd(h, token);
    expect(status.body.state, `${status.text}\n${worker.output().slice(-2000)}`).toBe('completed');
    expect(status.body.uploads.map((u) => u.result)).toEqual([
      { url: `${server.url}/basic/api/welcome.mp4`, bytes: bytes.length, sha256 },
      { url: `${server.url}/digest/api/welcome.mp4`, bytes: bytes.length, sha256 },
    ]);
    expect(await server.stored('/basic/api/welcome.mp4')).toEqual({ size: bytes.length, sha256 });
    expect(await server.stored('/digest/api/welcome.mp4')).toEqual({ size: bytes.length, sha256 });
    for (const secret of [BASIC_PASSWORD, DIGEST_PASSWORD]) {
      expect(status.text).not.toContain(secret);
      expect(worker.output()).not.toContain(secret);
    }
  }, 120_000);
});
