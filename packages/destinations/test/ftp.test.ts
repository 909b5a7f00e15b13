/**
 * FTP-specific behaviour against ftp-srv in this process (the shared suite in ./behaviour
 * covers what every adapter does): folders, the temporary name, resume by APPE, anonymous
 * login, EPSV/PASV, the PASV address, FTPS, and what must never leak.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FleetError, createNetworkGuard, type NetworkGuard, type ScopedLogger, type UploadResult } from '@upload-fleet/core';
import { ftpDestinationSchema } from '../src/ftp/definition.js';
import type { CheckpointStore, UploadSource } from '../src/adapter.js';
import { createFtpAdapter, type FtpAdapterOptions, type FtpCheckpoint, type FtpDestinationWithTls } from '../src/ftp/index.js';
import { fileSource, memoryCheckpoints, until, writeRandomFile, type SourceFile } from './behaviour/harness.js';
import { fileReaderSource, testUploadContext } from './upload-context.js';
import { SOURCE_WRITE_CHUNK_BYTES } from '../src/source-writer.js';
import { REFUSED_FOLDER, startFtpServer, storedFile, freePort, type FtpServerOptions, type LocalFtpServer } from './behaviour/targets/ftp.js';

const MiB = 1024 * 1024;
const PASSWORD = 'p@ss w0rd:/#secret';
const localGuard = createNetworkGuard({ allowedPrivateHosts: ['127.0.0.1', 'localhost'] });

interface LogEntry {
  level: string;
  fields: object;
  message: string | undefined;
}

/** A logger that keeps everything, unscrubbed: what the adapter itself writes. */
function capturingLogger(entries: LogEntry[]): ScopedLogger {
  const at = (level: string) => (fields: object, message?: string) => entries.push({ level, fields, message });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

interface RunOptions {
  signal?: AbortSignal;
  checkpoint?: CheckpointStore;
  onProgress?: (bytes: number) => void;
  network?: NetworkGuard;
  adapter?: FtpAdapterOptions;
  timeoutMs?: number;
  source?: UploadSource;
}

let dir: string;
let small: SourceFile;
let medium: SourceFile;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'upload-fleet-ftp-test-'));
  small = await writeRandomFile(dir, 'small.mp4', 100 * 1024 + 7);
  medium = await writeRandomFile(dir, 'medium.mp4', 8 * MiB + 11);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: LocalFtpServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function ftpServer(options: FtpServerOptions = { users: { alice: PASSWORD } }): Promise<LocalFtpServer> {
  const server = await startFtpServer(options);
  servers.push(server);
  return server;
}

function destinationFor(server: { host: string }, fields: Record<string, unknown> = {}): FtpDestinationWithTls {
  const { secure, ...rest } = fields as { secure?: FtpDestinationWithTls['secure'] } & Record<string, unknown>;
  // `secure` is the FTPS field proposed for the core schema; added beside the parsed spec fields.
  const parsed = ftpDestinationSchema.parse({ type: 'ftp', host: server.host, filename: '/renders/video.mp4', user: 'alice', password: PASSWORD, ...rest });
  return secure === undefined ? parsed : { ...parsed, secure };
}

async function upload(destination: FtpDestinationWithTls, file: SourceFile, options: RunOptions = {}, logs: LogEntry[] = []): Promise<UploadResult> {
  // A file source as the runtime hands it (positional reads); the behaviour suite covers stream sources.
  const { adapter: adapterOptions, timeoutMs, source = fileReaderSource(file), network = localGuard, ...rest } = options;
  const context = testUploadContext(destination, { source, network, contentType: 'video/mp4', log: capturingLogger(logs), ...rest });
  return createFtpAdapter({ timeoutMs: timeoutMs ?? 10_000 }, adapterOptions).upload(context);
}

async function uploadError(destination: FtpDestinationWithTls, file: SourceFile, options: RunOptions = {}, logs: LogEntry[] = []): Promise<FleetError> {
  const error = await upload(destination, file, options, logs).then(
    () => new Error('expected the upload to fail'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FleetError);
  return error as FleetError;
}

/** Command lines the server received from index `from` on. */
function commandsSince(server: LocalFtpServer, from: number): string[] {
  return server.commands.slice(from);
}
const verbs = (commands: string[]) => commands.map((c) => c.split(' ')[0]!.toUpperCase());

/** Waits until `value` holds still for 300 ms. */
async function settled(value: () => number): Promise<void> {
  let last = value();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = value();
    if (now === last) return;
    last = now;
  }
}

const hiddenLeftovers = (folder: string) => (existsSync(folder) ? readdirSync(folder).filter((name) => name.includes('.uploading-')) : []);

describe('ftp adapter: paths', () => {
  it('creates missing folders, returns to the login folder, and returns the file\'s URL', async () => {
    const server = await ftpServer({ users: { alice: PASSWORD }, home: '/home/alice' });
    const from = server.commands.length;
    const absolute = await upload(destinationFor(server, { filename: '/deep/er/still deeper/a.mp4' }), small);
    expect(await storedFile(join(server.root, 'deep/er/still deeper/a.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
    expect(absolute).toEqual({ url: `ftp://${server.host}/deep/er/still%20deeper/a.mp4`, bytes: small.size });

    // Relative: under the login folder. Working there after creating the folders would put
    // the file in renders/renders/: the adapter goes back first.
    const relative = await upload(destinationFor(server, { filename: 'renders/b.mp4' }), small);
    expect(await storedFile(join(server.root, 'home/alice/renders/b.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
    expect(relative.url).toBe(`ftp://${server.host}/renders/b.mp4`);
    const commands = commandsSince(server, from);
    expect(commands).toContain('MKD deep');
    expect(commands).toContain('CWD /home/alice');
    expect(hiddenLeftovers(join(server.root, 'home/alice/renders'))).toEqual([]);
  });

  it('stores a file in the login folder itself', async () => {
    const server = await ftpServer({ users: { alice: PASSWORD }, home: '/home/alice' });
    await upload(destinationFor(server, { filename: 'top.mp4' }), small);
    expect(await storedFile(join(server.root, 'home/alice/top.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it('never shows a partial file under the final name: the old file stays until the rename', async () => {
    const server = await ftpServer();
    const old = await writeRandomFile(dir, 'old.mp4', 5000);
    await upload(destinationFor(server), old);
    const final = join(server.root, 'renders/video.mp4');

    server.throttle(4 * MiB); // about 2 s for the 8 MiB file
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const stored = await storedFile(final);
        seen.add(stored ? `${stored.size}:${stored.sha256}` : 'missing');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const uploading = upload(destinationFor(server), medium);
    await until('the temporary file to grow', () => hiddenLeftovers(join(server.root, 'renders')).length > 0 && server.bytesReceived() > MiB);
    await uploading;
    watching = false;
    await watcher;
    server.throttle(0);

    const states = [...seen];
    // Only the old file or the whole new one, never a partial or missing file (the list names any other state).
    expect(states.filter((s) => s !== `${old.size}:${old.sha256}` && s !== `${medium.size}:${medium.sha256}`)).toEqual([]);
    expect(await storedFile(final)).toEqual({ size: medium.size, sha256: medium.sha256 });
    expect(hiddenLeftovers(join(server.root, 'renders'))).toEqual([]);
  });

  it('replaces the file on servers that refuse to rename onto an existing name', async () => {
    const server = await ftpServer({ users: { alice: PASSWORD }, renameRefusesExisting: true });
    const first = await writeRandomFile(dir, 'first.mp4', 1000);
    await upload(destinationFor(server), first);
    const from = server.commands.length;
    await upload(destinationFor(server), small);
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
    expect(verbs(commandsSince(server, from))).toEqual(expect.arrayContaining(['RNFR', 'RNTO', 'DELE']));
  });
});

describe('ftp adapter: resume', () => {
  it('continues with APPE from the size the server holds, sending only the rest', async () => {
    const server = await ftpServer();
    const file = await writeRandomFile(dir, 'resume.mp4', 24 * MiB + 5);
    const checkpoints = memoryCheckpoints();
    server.throttle(8 * MiB);
    const interruption = new AbortController();
    const first = upload(destinationFor(server), file, { checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('a third of the file to arrive', () => server.bytesReceived() > file.size / 3);
    interruption.abort('shutdown');
    expect(await first.then(() => 'finished', (e: FleetError) => e.code)).toBe('UF_ABORTED');
    server.throttle(0);
    // What the interrupted connection had sent still arrives for a moment; wait until it has.
    await settled(() => server.bytesReceived());

    const saved = checkpoints.state as FtpCheckpoint;
    expect(saved.tempPath).toMatch(/^\/renders\/\.video\.mp4\.uploading-[0-9a-f]{16}$/);
    expect(saved.size).toBe(file.size);
    expect(saved.offset).toBeGreaterThan(0);
    expect(existsSync(join(server.root, 'renders/video.mp4'))).toBe(false);

    const before = server.bytesReceived();
    const from = server.commands.length;
    const progress: number[] = [];
    const result = await upload(destinationFor(server), file, { checkpoint: checkpoints, onProgress: (b) => progress.push(b) });
    expect(result.bytes).toBe(file.size);
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: file.size, sha256: file.sha256 });
    const resent = server.bytesReceived() - before;
    expect(resent).toBeLessThan(file.size * 0.75);
    expect(verbs(commandsSince(server, from))).toContain('APPE');
    expect(verbs(commandsSince(server, from))).not.toContain('STOR');
    // Progress starts where the server's copy ended, and never goes back or beyond the size.
    expect(progress[0]).toBe(file.size - resent);
    expect(progress.every((b, i) => b <= file.size && (i === 0 || b >= progress[i - 1]!))).toBe(true);
    expect(progress.at(-1)).toBe(file.size);
  }, 60_000);

  it('starts over with STOR when there is no checkpoint, overwriting a leftover temporary file', async () => {
    const server = await ftpServer();
    const checkpoints = memoryCheckpoints();
    server.throttle(4 * MiB);
    const interruption = new AbortController();
    const first = upload(destinationFor(server), medium, { checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('part of the file to arrive', () => server.bytesReceived() > MiB);
    interruption.abort();
    await first.catch(() => undefined);
    server.throttle(0);
    expect(hiddenLeftovers(join(server.root, 'renders'))).toHaveLength(1);

    const from = server.commands.length;
    await upload(destinationFor(server), medium); // a fresh checkpoint store: another job
    expect(verbs(commandsSince(server, from))).toContain('STOR');
    expect(verbs(commandsSince(server, from))).not.toContain('APPE');
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: medium.size, sha256: medium.sha256 });
    expect(hiddenLeftovers(join(server.root, 'renders'))).toEqual([]);
  });

  it('starts over when the server does not append (APPE refused)', async () => {
    const server = await ftpServer({ users: { alice: PASSWORD }, refusedCommands: ['APPE'] });
    const checkpoints = memoryCheckpoints();
    server.throttle(4 * MiB);
    const interruption = new AbortController();
    const first = upload(destinationFor(server), medium, { checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('part of the file to arrive', () => server.bytesReceived() > MiB);
    interruption.abort();
    await first.catch(() => undefined);
    server.throttle(0);

    const logs: LogEntry[] = [];
    await upload(destinationFor(server), medium, { checkpoint: checkpoints }, logs);
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: medium.size, sha256: medium.sha256 });
    expect(logs.some((e) => e.level === 'warn' && /does not append/.test(e.message ?? ''))).toBe(true);
  });

  it('completes with only the rename when the temporary file is already whole', async () => {
    const server = await ftpServer();
    const checkpoints = memoryCheckpoints();
    await upload(destinationFor(server, { filename: '/renders/first.mp4' }), small, { checkpoint: checkpoints });
    // Recreate the state of an attempt that died between the last byte and the rename.
    const paths = (checkpoints.state as FtpCheckpoint | undefined) ?? undefined;
    expect(paths).toBeDefined();
    const tempPath = join(server.root, paths!.tempPath);
    writeFileSync(tempPath, readFileSync(small.path));
    const from = server.commands.length;
    await upload(destinationFor(server, { filename: '/renders/first.mp4' }), small, { checkpoint: checkpoints });
    expect(verbs(commandsSince(server, from))).not.toEqual(expect.arrayContaining(['STOR']));
    expect(verbs(commandsSince(server, from))).not.toEqual(expect.arrayContaining(['APPE']));
    expect(await storedFile(join(server.root, 'renders/first.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it.each([
    ['shorter', 1000],
    ['longer', -1000],
  ])('fails with UF_SOURCE_CHANGED, and keeps no checkpoint, when the source is %s than announced', async (_name, more) => {
    for (const inner of [fileReaderSource(small), fileSource(small)]) {
      const server = await ftpServer();
      const checkpoints = memoryCheckpoints();
      const lying: UploadSource = { ...inner, size: small.size + more };
      const error = await uploadError(destinationFor(server), small, { source: lying, checkpoint: checkpoints });
      expect(error.code).toBe('UF_SOURCE_CHANGED');
      expect(checkpoints.state).toBeUndefined();
      expect(existsSync(join(server.root, 'renders/video.mp4'))).toBe(false);
    }
  });

  it('sends a source without positional reads (a URL source) from its stream, resuming from an offset', async () => {
    const server = await ftpServer();
    const checkpoints = memoryCheckpoints();
    server.throttle(4 * MiB);
    const interruption = new AbortController();
    const first = upload(destinationFor(server), medium, { source: fileSource(medium), checkpoint: checkpoints, signal: interruption.signal });
    first.catch(() => undefined);
    await until('part of the file to arrive', () => server.bytesReceived() > 2 * MiB);
    interruption.abort();
    expect(await first.then(() => 'finished', (e: FleetError) => e.code)).toBe('UF_ABORTED');
    server.throttle(0);
    await settled(() => server.bytesReceived());
    const from = server.commands.length;
    await upload(destinationFor(server), medium, { source: fileSource(medium), checkpoint: checkpoints });
    expect(verbs(commandsSince(server, from))).toContain('APPE');
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: medium.size, sha256: medium.sha256 });
  });

  it('writes a file source to the data connection in writes of SOURCE_WRITE_CHUNK_BYTES, every byte once and in order', async () => {
    const server = await ftpServer();
    const writes: number[] = [];
    const inner = fileReaderSource(medium);
    // The buffers the adapter reads into are the ones it writes: their sizes are the reads'.
    const counting: UploadSource = {
      ...inner,
      openReader: async () => {
        const reader = await inner.openReader!();
        return { read: async (buffer, position) => (writes.push(buffer.byteLength), reader.read(buffer, position)), close: reader.close };
      },
    };
    await upload(destinationFor(server), medium, { source: counting });
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: medium.size, sha256: medium.sha256 });
    // 8 MiB + 11 bytes: full buffers, then the 11-byte tail read asking one byte more, which proves the end.
    expect(writes).toEqual([...Array((8 * MiB) / SOURCE_WRITE_CHUNK_BYTES).fill(SOURCE_WRITE_CHUNK_BYTES), 12]);
  });
});

describe('ftp adapter: login and data connections', () => {
  it('logs in anonymously when no user is given', async () => {
    const server = await ftpServer({ anonymous: true });
    const result = await upload(destinationFor(server, { user: undefined, password: undefined }), small);
    expect(server.logins).toEqual([{ user: 'anonymous', tls: false }]);
    expect(result.url).toBe(`ftp://${server.host}/renders/video.mp4`);
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it.each([
    [{}, ['EPSV'], []],
    [{ passive: true }, ['PASV'], ['EPSV']],
    [{ epsv: true }, ['EPSV'], ['PASV']],
    [{ passive: true, epsv: true }, ['EPSV'], ['PASV']],
  ])('with %j opens data connections with %j', async (flags, used, unused) => {
    const server = await ftpServer();
    const from = server.commands.length;
    await upload(destinationFor(server, flags), small);
    const sent = verbs(commandsSince(server, from));
    for (const verb of used) expect(sent).toContain(verb);
    for (const verb of unused) expect(sent).not.toContain(verb);
    expect(sent).not.toContain('PORT');
    expect(sent).not.toContain('EPRT');
  });

  it('falls back from EPSV to PASV by default, and fails with epsv: true, on a server without EPSV', async () => {
    const server = await ftpServer({ users: { alice: PASSWORD }, refusedCommands: ['EPSV'] });
    const from = server.commands.length;
    await upload(destinationFor(server), small);
    expect(verbs(commandsSince(server, from)).filter((v) => v === 'EPSV' || v === 'PASV')).toEqual(['EPSV', 'PASV']);

    const error = await uploadError(destinationFor(server, { epsv: true }), small);
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error.message).toContain('502');
  });

  it('connects data connections to the control connection\'s host, whatever address PASV names', async () => {
    // 127.0.0.2: nothing listens there, so following the PASV answer would fail the upload.
    const server = await ftpServer({ users: { alice: PASSWORD }, pasvAddress: '127.0.0.2' });
    const logs: LogEntry[] = [];
    await upload(destinationFor(server, { passive: true }), small, {}, logs);
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
    expect(logs.find((e) => e.level === 'warn')?.fields).toMatchObject({ pasv_host: '127.0.0.2', used: '127.0.0.1' });
  });

  it('refuses a host the network guard blocks, before connecting', async () => {
    const server = await ftpServer();
    const error = await uploadError(destinationFor(server), small, { network: createNetworkGuard({ allowedPrivateHosts: [] }) });
    expect(error.code).toBe('UF_BLOCKED_ADDRESS');
    expect(server.commands).toEqual([]);
  });

  it('times out on a server that accepts but never answers', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const started = Date.now();
      const error = await uploadError(destinationFor({ host: `127.0.0.1:${port}` }), small, { timeoutMs: 300 });
      expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_TIMEOUT', category: 'transient' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });

  it('stops at once when aborted before it starts', async () => {
    const server = await ftpServer();
    const controller = new AbortController();
    controller.abort();
    const error = await uploadError(destinationFor(server), small, { signal: controller.signal });
    expect(error.code).toBe('UF_ABORTED');
    expect(server.commands).toEqual([]);
  });
});

describe('ftp adapter: secrets', () => {
  it('keeps the password out of the result, the errors and its own logs', async () => {
    const server = await ftpServer();
    const logs: LogEntry[] = [];
    const result = await upload(destinationFor(server), small, {}, logs);
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
    expect(result.url).toBe(`ftp://${server.host}/renders/video.mp4`);
    expect(result.url).not.toContain('alice');

    const wrong = `${PASSWORD}-wrong`;
    const error = await uploadError(destinationFor(server, { password: wrong }), small, {}, logs);
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_CREDENTIALS_INVALID', category: 'permanent' });
    expect(error.message).toContain(server.host);
    expect(error.message).toContain('/renders/video.mp4');
    for (const text of [error.message, JSON.stringify(error.toJSON()), JSON.stringify(logs)]) {
      expect(text).not.toContain(PASSWORD);
    }
  });

  it('names the host and path in a refusal (550)', async () => {
    const server = await ftpServer();
    const error = await uploadError(destinationFor(server, { filename: `/${REFUSED_FOLDER}/x.mp4` }), small);
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_PERMISSION_DENIED', category: 'permanent' });
    expect(error.message).toContain(server.host);
    expect(error.message).toContain(`/${REFUSED_FOLDER}/`);
    expect(error.message).not.toContain(PASSWORD);
    // A permanent failure leaves nothing to resume: no temporary file stays behind.
    expect(hiddenLeftovers(join(server.root, REFUSED_FOLDER))).toEqual([]);
  });

  it('reports a closed port as a transient network error', async () => {
    const port = await freePort();
    const error = await uploadError(destinationFor({ host: `127.0.0.1:${port}` }), small);
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_NETWORK', category: 'transient' });
  });
});

const openssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!openssl) console.warn('[ftp.test] skipping the FTPS tests: the openssl command is not installed (it makes their certificate)');

describe.skipIf(!openssl)('ftp adapter: FTPS', () => {
  let tls: { key: string; cert: string };
  let otherCa: string;

  beforeAll(() => {
    const certDir = mkdtempSync(join(tmpdir(), 'upload-fleet-ftps-'));
    try {
      const make = (name: string, subject: string, altNames: string) => {
        mkdirSync(join(certDir, name));
        execFileSync(
          'openssl',
          ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', subject, '-addext', `subjectAltName=${altNames}`, '-keyout', join(certDir, name, 'key.pem'), '-out', join(certDir, name, 'cert.pem')],
          { stdio: 'ignore' },
        );
        return { key: readFileSync(join(certDir, name, 'key.pem'), 'utf8'), cert: readFileSync(join(certDir, name, 'cert.pem'), 'utf8') };
      };
      tls = make('server', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1');
      otherCa = make('other', '/CN=other.example', 'DNS:other.example').cert;
    } finally {
      rmSync(certDir, { recursive: true, force: true });
    }
  });

  it('uploads over explicit TLS (AUTH TLS), checking the certificate against the host name', async () => {
    const server = await ftpServer({ users: { alice: PASSWORD }, tls });
    const from = server.commands.length;
    const byName = await upload(destinationFor({ host: `localhost:${server.port}` }, { secure: true }), medium, { adapter: { tls: { ca: tls.cert } } });
    expect(byName).toEqual({ url: `ftp://localhost:${server.port}/renders/video.mp4`, bytes: medium.size });
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: medium.size, sha256: medium.sha256 });
    // (ftp-srv hands its listeners the decrypted commands, so they are compared in order.)
    const commands = verbs(commandsSince(server, from));
    expect(commands.indexOf('AUTH')).toBeGreaterThanOrEqual(0);
    expect(commands.indexOf('AUTH')).toBeLessThan(commands.indexOf('USER'));
    expect(commands).toEqual(expect.arrayContaining(['PBSZ', 'PROT']));
    expect(server.logins).toEqual([{ user: 'alice', tls: true }]);
    expect(server.uploads.every((u) => u.tls)).toBe(true);

    await upload(destinationFor(server, { secure: true, filename: '/renders/by-ip.mp4' }), small, { adapter: { tls: { ca: tls.cert } } });
    expect(await storedFile(join(server.root, 'renders/by-ip.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
  });

  it('resumes over TLS', async () => {
    const server = await ftpServer({ users: { alice: PASSWORD }, tls });
    const checkpoints = memoryCheckpoints();
    server.throttle(4 * MiB);
    const interruption = new AbortController();
    const options = { adapter: { tls: { ca: tls.cert } }, checkpoint: checkpoints };
    const first = upload(destinationFor(server, { secure: true }), medium, { ...options, signal: interruption.signal });
    first.catch(() => undefined);
    await until('part of the file to arrive', () => server.bytesReceived() > 2 * MiB);
    interruption.abort();
    expect(await first.then(() => 'finished', (e: FleetError) => e.code)).toBe('UF_ABORTED');
    server.throttle(0);
    await upload(destinationFor(server, { secure: true }), medium, options);
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: medium.size, sha256: medium.sha256 });
  });

  it('uploads over implicit TLS', async () => {
    const server = await ftpServer({ users: { alice: PASSWORD }, tls, implicitTls: true });
    const result = await upload(destinationFor(server, { secure: 'implicit' }), small, { adapter: { tls: { ca: tls.cert } } });
    expect(result.url).toBe(`ftps://${server.host}/renders/video.mp4`);
    expect(await storedFile(join(server.root, 'renders/video.mp4'))).toEqual({ size: small.size, sha256: small.sha256 });
    expect(server.logins).toEqual([{ user: 'alice', tls: true }]);
    expect(server.uploads).toEqual([expect.objectContaining({ tls: true })]);
    expect(verbs(server.commands)).not.toContain('AUTH');
  });

  it('refuses a certificate it cannot trust, permanently', async () => {
    const server = await ftpServer({ users: { alice: PASSWORD }, tls });
    for (const ca of [undefined, otherCa]) {
      const error = await uploadError(destinationFor(server, { secure: true }), small, { adapter: ca ? { tls: { ca } } : {} });
      expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
      expect(error.message).toContain('certificate');
    }
  });

  it('fails permanently when the server has no TLS', async () => {
    const server = await ftpServer();
    const error = await uploadError(destinationFor(server, { secure: true }), small);
    expect({ code: error.code, category: error.category }).toEqual({ code: 'UF_DESTINATION_REJECTED', category: 'permanent' });
    expect(error.message).toContain('AUTH TLS');
  });
});
