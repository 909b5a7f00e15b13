/**
 * SFTP-specific behaviour against Debian's OpenSSH server (the testkit's startSshd; the
 * shared suite in ./behaviour covers what every adapter does): password and key logins,
 * host key pinning and reporting, folders, file_mode, the temporary name, resume after a
 * reset, a stalled connection, and OpenSSH's real errors (read-only folder, full disk).
 */
import { readdirSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetError, type ScopedLogger, type UploadResult } from '@upload-fleet/core';
import { sshdUnavailable, startSsh2SftpServer, startSshd, storedFile, type Ssh2SftpServer, type Sshd } from '@upload-fleet/testkit';
import type { CheckpointStore } from '../src/adapter.js';
import { sftpDestinationSchema, type SftpDestination } from '../src/sftp/definition.js';
import { createSftpAdapter, WRITE_CHUNK_BYTES, type SftpCheckpoint } from '../src/sftp/index.js';
import { fileSource, memoryCheckpoints, until, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { testUploadContext } from './upload-context.js';

const MiB = 1024 * 1024;

interface LogEntry {
  level: string;
  fields: Record<string, unknown>;
  message: string | undefined;
}

/** Keeps everything the adapter logs, unscrubbed. */
function capturingLogger(entries: LogEntry[]): ScopedLogger {
  const at = (level: string) => (fields: object, message?: string) => entries.push({ level, fields: fields as Record<string, unknown>, message });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

interface RunOptions {
  signal?: AbortSignal;
  checkpoint?: CheckpointStore;
  timeoutMs?: number;
  logs?: LogEntry[];
}

function upload(destination: SftpDestination, file: SourceFile, options: RunOptions = {}): Promise<UploadResult> {
  const { timeoutMs = 10_000, logs = [], ...rest } = options;
  const context = testUploadContext(destination, { source: fileSource(file), log: capturingLogger(logs), ...rest });
  return createSftpAdapter({ timeoutMs, requestsInFlight: 64 }).upload(context);
}

async function failure(promise: Promise<unknown>): Promise<FleetError> {
  const error = await promise.then(
    () => new Error('the upload succeeded'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

describe.skipIf(sshdUnavailable !== undefined)('the SFTP destination against OpenSSH', () => {
  let server: Sshd;
  let dir: string;
  let small: SourceFile;
  let medium: SourceFile;

  const destination = (name: string, fields: Record<string, unknown> = {}): SftpDestination =>
    sftpDestinationSchema.parse({ type: 'sftp', host: server.host, filename: join(server.root, name), user: server.user, private_key: server.privateKey, ...fields });

  beforeAll(async () => {
    server = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'upload-fleet-sftp-test-'));
    small = await writeRandomFile(dir, 'small.mp4', 100 * 1024 + 7);
    medium = await writeRandomFile(dir, 'medium.mp4', 16 * MiB + 11);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs in with a password (OpenSSH without PAM, the test\'s own shadow entry)', async () => {
    const result = await upload(destination('password/a.mp4', { private_key: undefined, password: server.password, host_key: server.hostKeyFingerprint }), small);
    expect(await storedFile(join(server.root, 'password/a.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
    expect(result).toMatchObject({ bytes: small.size, host_key: server.hostKeyFingerprint, host_key_verified: true });
  });

  it('logs in with an encrypted PEM key and its passphrase', async () => {
    await upload(destination('pem/a.mp4', { private_key: server.encryptedPemKey, passphrase: server.passphrase }), small);
    expect(await storedFile(join(server.root, 'pem/a.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it('without host_key, accepts the server and reports its fingerprint in the result and the log', async () => {
    const logs: LogEntry[] = [];
    const result = await upload(destination('unpinned.mp4'), small, { logs });
    expect(result).toMatchObject({ host_key: server.hostKeyFingerprint, host_key_verified: false });
    expect(result.url).toBe(`sftp://${server.host}${join(server.root, 'unpinned.mp4')}`);
    const warning = logs.find((entry) => entry.level === 'warn' && entry.fields.host_key === server.hostKeyFingerprint);
    expect(warning?.message).toContain('unverified');
  });

  it('refuses a server whose host key is not the pinned one, naming both fingerprints, before logging in', async () => {
    const pinned = 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8';
    const error = await failure(upload(destination('pinned/a.mp4', { host_key: pinned }), small));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error.message).toContain(pinned);
    expect(error.message).toContain(server.hostKeyFingerprint);
    // Refused during the handshake: the folder was never created.
    expect(readdirSync(server.root)).not.toContain('pinned');
  });

  it('classifies a wrong password and an unreadable key as UF_CREDENTIALS_INVALID, without either in the message', async () => {
    const password = 'wrong password 7f3a';
    const wrong = await failure(upload(destination('e.mp4', { private_key: undefined, password }), small));
    expect({ code: wrong.code, category: wrong.category }).toEqual({ code: 'UF_CREDENTIALS_INVALID', category: 'permanent' });
    expect(wrong.message).not.toContain(password);

    const garbage = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key 9c1d\n-----END OPENSSH PRIVATE KEY-----\n';
    const unreadable = await failure(upload(destination('e.mp4', { private_key: garbage }), small));
    expect({ code: unreadable.code, category: unreadable.category }).toEqual({ code: 'UF_CREDENTIALS_INVALID', category: 'permanent' });
    expect(unreadable.message).toContain('private_key');
    expect(unreadable.message).not.toContain('9c1d');

    const passphrase = 'not the passphrase 55e0';
    const locked = await failure(upload(destination('e.mp4', { private_key: server.encryptedPemKey, passphrase }), small));
    expect(locked.code).toBe('UF_CREDENTIALS_INVALID');
    expect(locked.message).not.toContain(passphrase);
  });

  it('creates missing folders, writes under a hidden temporary name in the same folder, and sets file_mode', async () => {
    const name = 'deep/er/still/video.mp4';
    await upload(destination(name, { file_mode: '0640' }), small);
    const folder = join(server.root, 'deep/er/still');
    expect(readdirSync(folder)).toEqual(['video.mp4']);
    expect(statSync(join(folder, 'video.mp4')).mode & 0o777).toBe(0o640);
  });

  it('refuses writes into a read-only folder: UF_PERMISSION_DENIED, permanent', async () => {
    const error = await failure(upload(destination('x', { filename: join(server.readOnlyFolder, 'a.mp4') }), small));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_PERMISSION_DENIED', category: 'permanent' });
    expect(error.message).toContain('Permission denied');
  });

  it('reads a full disk ("Failure" from OpenSSH, ENOSPC underneath) as transient', async () => {
    const checkpoint = memoryCheckpoints();
    const error = await failure(upload(destination('x', { filename: join(server.fullFolder, 'big.mp4') }), medium, { checkpoint }));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' });
    expect(error.message).toContain('full disk');
    expect(error.message).toContain('write to');
  });

  it('after a connection reset mid-upload (transient), resumes from the temporary file\'s size', async () => {
    const name = 'reset/video.mp4';
    const checkpoint = memoryCheckpoints();
    const before = server.meter.bytes;
    server.meter.setRate(4 * MiB);
    const first = upload(destination(name), medium, { checkpoint });
    first.catch(() => undefined);
    await until('half of the file to arrive', () => server.meter.bytes - before > medium.size / 2);
    server.cutAll();
    const error = await failure(first);
    server.meter.setRate(0);
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_NETWORK', category: 'transient' });
    const saved = checkpoint.state as SftpCheckpoint;
    expect(saved).toMatchObject({ size: medium.size });
    expect(saved.tempPath).toMatch(/\/reset\/\.video\.mp4\.uploading-[0-9a-f]{16}$/);
    // sshd still writes what it had received when the connection was cut: wait until the size holds still.
    let tempSize = -1;
    await until('the temporary file to stop growing', async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const now = statSync(saved.tempPath).size;
      const still = now === tempSize;
      tempSize = now;
      return still;
    });
    expect(tempSize).toBeGreaterThan(0);

    const logs: LogEntry[] = [];
    await upload(destination(name), medium, { checkpoint, logs });
    expect(await storedFile(join(server.root, name))).toEqual({ size: medium.size, sha256: medium.sha256 });
    const resumed = logs.find((entry) => entry.message === 'resuming the SFTP upload');
    // From the temporary file's size, less at most the bytes that can be in flight.
    expect(resumed?.fields.resume_from).toBeGreaterThanOrEqual(tempSize - 64 * WRITE_CHUNK_BYTES);
    expect(resumed?.fields.resume_from).toBeLessThanOrEqual(tempSize);
    expect((server.meter.bytes - before) / medium.size).toBeLessThan(1.5);
    expect(readdirSync(join(server.root, 'reset'))).toEqual(['video.mp4']);
  }, 60_000);

  it('gives up on a stalled connection: UF_TIMEOUT, transient', async () => {
    const before = server.meter.bytes;
    server.meter.setRate(2 * MiB);
    const stalled = upload(destination('stall/video.mp4'), medium, { timeoutMs: 1500 });
    stalled.catch(() => undefined);
    await until('some of the file to arrive', () => server.meter.bytes - before > MiB);
    server.stall(true);
    const error = await failure(stalled);
    server.stall(false);
    server.meter.setRate(0);
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_TIMEOUT', category: 'transient' });
  }, 60_000);

  it('replaces an existing file under the final name (posix-rename)', async () => {
    const other = await writeRandomFile(dir, 'other.mp4', 1234);
    await upload(destination('replace.mp4'), small);
    await upload(destination('replace.mp4'), other);
    expect(await storedFile(join(server.root, 'replace.mp4'))).toEqual({ size: other.size, sha256: other.sha256 });
  });
});

/**
 * Against ssh2's own Server in this process (the testkit's startSsh2SftpServer, over a real
 * folder): a server without posix-rename@openssh.com, whose RENAME refuses an existing
 * target as OpenSSH's does, and one that takes passwords only as keyboard-interactive.
 */
describe('the SFTP destination against a server without posix-rename (ssh2\'s Server)', () => {
  let dir: string;
  let first: SourceFile;
  let second: SourceFile;
  const servers: Ssh2SftpServer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'upload-fleet-sftp-ssh2-'));
    first = await writeRandomFile(dir, 'first.mp4', 200 * 1024 + 1);
    second = await writeRandomFile(dir, 'second.mp4', 300 * 1024 + 3);
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const serverWith = async (options: { keyboardInteractiveOnly?: boolean } = {}) => {
    const server = await startSsh2SftpServer({ user: 'alice', password: 'alice pw', ...options });
    servers.push(server);
    return server;
  };
  const destinationOn = (server: Ssh2SftpServer, fields: Record<string, unknown> = {}) =>
    sftpDestinationSchema.parse({ type: 'sftp', host: server.host, filename: '/renders/video.mp4', user: 'alice', password: 'alice pw', ...fields });

  it('renames a new file in place, and replaces an existing one by removing it first', async () => {
    const server = await serverWith();
    await upload(destinationOn(server), first);
    expect(server.requests).toContain('RENAME');
    expect(server.requests).not.toContain('REMOVE');
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: first.size, sha256: first.sha256 });

    server.requests.length = 0;
    await upload(destinationOn(server), second);
    // The protocol's RENAME was refused (the target exists), then REMOVE and RENAME again.
    expect(server.requests.filter((name) => ['RENAME', 'REMOVE'].includes(name))).toEqual(['RENAME', 'REMOVE', 'RENAME']);
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: second.size, sha256: second.sha256 });
    expect(readdirSync(join(server.root, 'renders'))).toEqual(['video.mp4']);
  });

  it('keeps at most SFTP_REQUESTS_IN_FLIGHT writes unacknowledged (memory bounded whatever the file size)', async () => {
    const server = await serverWith();
    const large = await writeRandomFile(dir, 'large.mp4', 4 * MiB);
    server.holdWriteAcks(true);
    const context = testUploadContext(destinationOn(server, { filename: '/bounded.mp4' }), { source: fileSource(large) });
    const uploading = createSftpAdapter({ timeoutMs: 20_000, requestsInFlight: 8 }).upload(context);
    const writes = () => server.requests.filter((name) => name === 'WRITE').length;
    await until('8 writes to arrive', () => writes() >= 8);
    // Nothing more comes while none is acknowledged: give the client time to send more if it would.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(writes()).toBe(8);
    server.holdWriteAcks(false);
    await uploading;
    // One request per chunk: ssh2 split none of them.
    expect(writes()).toBe(Math.ceil(large.size / WRITE_CHUNK_BYTES));
    expect(await storedFile(join(server.root, 'bounded.mp4'))).toEqual({ size: large.size, sha256: large.sha256 });
  });

  it('answers a keyboard-interactive password prompt (servers with PAM only), and fails a wrong password there too', async () => {
    const server = await serverWith({ keyboardInteractiveOnly: true });
    await upload(destinationOn(server), first);
    expect(server.methods).toContain('keyboard-interactive');
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: first.size, sha256: first.sha256 });

    const error = await failure(upload(destinationOn(server, { password: 'wrong pw' }), first));
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_CREDENTIALS_INVALID', category: 'permanent' });
  });
});
