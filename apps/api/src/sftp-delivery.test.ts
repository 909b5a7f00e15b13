/**
 * The SFTP destination end to end: submitted through the HTTP API, delivered by a real
 * worker process to Debian's OpenSSH server (the testkit's startSshd), the status read
 * back through the API.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdUnavailable, startSshd, storedFile, until, type Sshd, type WorkerProcess } from '@upload-fleet/testkit';
import { asAlice, postDelivery, startHarness, startHarnessWorker, type Harness } from './test-harness.js';

describe.skipIf(sshdUnavailable !== undefined)('an SFTP delivery through the API', () => {
  let h: Harness;
  let server: Sshd;
  let worker: WorkerProcess;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness('api-sftp');
    server = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'upload-fleet-api-sftp-'));
    worker = startHarnessWorker(h, 'sftp', dir);
  }, 60_000);
  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await worker?.exited;
    await server?.close();
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('uploads byte for byte with the parameters honoured, and shows the result without the password', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    writeFileSync(join(dir, 'welcome.mp4'), bytes);
    const file = { name: 'welcome.mp4', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    const filename = join(server.root, 'api/renders/welcome.mp4');
    const res = await postDelivery(h, {
      source: { path: file.name },
      upload: {
        extension: 'mp4',
        destination: { type: 'sftp', host: server.host, filename, user: server.user, password: server.password, host_key: server.hostKeyFingerprint, file_mode: '0600' },
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    const { token } = res.json<{ token: string }>();

    const status = await until(
      'the delivery to finish',
      async () => {
        const body = (await h.app.inject({ method: 'GET', url: `/v1/deliveries/${token}`, headers: asAlice })).json<{ state: string }>();
        return ['completed', 'failed'].includes(body.state) ? body : undefined;
      },
      90_000,
    );
    expect(status, worker.output().slice(-2000)).toMatchObject({
      state: 'completed',
      result: { bytes: file.size, host_key: server.hostKeyFingerprint, host_key_verified: true, url: `sftp://${server.host}${filename}` },
    });
    expect(JSON.stringify(status)).not.toContain(server.password);
    expect(await storedFile(filename)).toEqual({ size: file.size, sha256: file.sha256 });
    expect(statSync(filename).mode & 0o777).toBe(0o600);
    expect(worker.output()).not.toContain(server.password);
  }, 120_000);
});
