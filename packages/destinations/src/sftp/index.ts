import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import ssh2, { type ConnectConfig, type SFTPWrapper, type Stats } from 'ssh2';
import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import { TempFileCheckpoint, type TempFileState } from '../temp-file-checkpoint.js';
import type { SftpDestination, SftpSettings } from './definition.js';
import { matchesHostKey, parseSftpHost, resultUrl, sha256Fingerprint, type SftpServerAddress } from './address.js';
import { errorForSftp, isSftpStatusError, SFTP_STATUS, type SftpErrorContext, type SftpStep } from './errors.js';
import { folderChain, sftpPaths, type SftpPaths } from './paths.js';

/**
 * The SFTP destination, on plain `ssh2` (its Client and SFTP channel): the file goes to
 * `filename` on `host`, creating missing folders, under a temporary name first and renamed
 * over the final name when complete (posix-rename@openssh.com where the server offers it,
 * else remove and rename). An interrupted upload continues on the next attempt from the
 * temporary file's size (stat), writing at explicit offsets.
 *
 * Writes are positional (SSH_FXP_WRITE carries the offset), so sending a range twice only
 * rewrites the same bytes: a resume starts a little before the size the server reports
 * (by the bytes that can be in flight), which covers a server that completes pipelined
 * writes out of order. See docs/destinations/sftp.md.
 */

/** The checkpoint: the temporary file this upload writes, for a source of this size, and the bytes acknowledged from the start without a gap. */
export type SftpCheckpoint = TempFileState;

export interface SftpAdapterOptions {
  /** Called with each connection's ssh2 config before it connects (tests: algorithms, debug). */
  configure?: (config: ConnectConfig) => ConnectConfig;
}

// ssh2 is CommonJS; Node detects only some of its exports by name: the default export is the whole module.
const { Client } = ssh2;
type Client = InstanceType<typeof Client>;

const KiB = 1024;
/**
 * Bytes per write request. Servers must accept 32 KiB of data per write; ssh2 itself splits
 * a write above 31952 bytes into two requests, one after the other, for any server that
 * does not announce its limits (limits@openssh.com, which OpenSSH does): 31 KiB stays one
 * request everywhere, so the pipeline stays full.
 */
export const WRITE_CHUNK_BYTES = 31 * KiB;

export function createSftpAdapter(settings: SftpSettings, options: SftpAdapterOptions = {}): DestinationAdapter<'sftp'> {
  return {
    type: 'sftp',
    upload: async (context) => new SftpUpload(context, settings, options).run(),
  };
}

interface PendingWrite {
  end: number;
  done: boolean;
}

class SftpUpload {
  private readonly destination: SftpDestination;
  private readonly server: SftpServerAddress;
  private readonly paths: SftpPaths;
  private readonly secrets: string[];
  private client: Client | undefined;
  private sftp: SFTPWrapper | undefined;
  private step: SftpErrorContext;
  private stream: Readable | undefined;
  /** The server's host key, once seen. */
  private hostKey: string | undefined;
  /** Taken once the temporary file is ours: saved again when the upload stops. */
  private readonly checkpoint: TempFileCheckpoint;
  /** Bytes of the source acknowledged by the server without a gap. */
  private acked = 0;

  constructor(
    private readonly context: UploadContext<SftpDestination>,
    private readonly settings: SftpSettings,
    private readonly options: SftpAdapterOptions,
  ) {
    this.destination = context.destination;
    this.server = parseSftpHost(this.destination.host);
    this.paths = sftpPaths(this.destination.filename, {
      server: this.server.display,
      user: this.destination.user,
      filename: this.destination.filename,
      sourceSize: context.source.size,
      sourceDescription: context.source.description,
    });
    this.secrets = [this.destination.password, this.destination.passphrase, this.destination.private_key].filter((s): s is string => typeof s === 'string');
    this.step = this.stepAt('connect to');
    this.checkpoint = new TempFileCheckpoint(context.checkpoint, context.log, 'SFTP');
  }

  async run(): Promise<UploadResult> {
    const { signal } = this.context;
    if (signal.aborted) throw this.aborted();
    // Destroying the connection fails every request in flight at once.
    const onAbort = () => this.client?.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    // Destroying the connection fails ssh2's requests in flight, but a step may be waiting on
    // something else (the source stream, a handshake): the abort also ends the wait itself, so
    // a shutdown never waits for the upload. The abandoned step fails on the destroyed client.
    const abortedWait = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    abortedWait.catch(() => undefined);
    try {
      const work = this.upload();
      work.catch(() => undefined);
      return await Promise.race([work, abortedWait]);
    } catch (error) {
      throw await this.failure(error);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.stream?.destroy();
      this.client?.end();
      this.client?.destroy();
    }
  }

  /** The upload's steps, from the connection to the rename. */
  private async upload(): Promise<UploadResult> {
    const { source, log } = this.context;
    await this.connect();
    await this.ensureFolder();

    const offset = await this.resumeOffset();
    this.acked = offset;
    await this.checkpoint.take(this.paths.temp, source.size, offset);
    log.info(
      { host: this.server.display, path: this.paths.final, bytes: source.size, resume_from: offset, host_key: this.hostKey },
      offset > 0 ? 'resuming the SFTP upload' : 'uploading to the SFTP server',
    );

    // A complete temporary file left by an attempt that stopped before the rename only needs the rename.
    if (offset === 0 || offset < source.size) await this.transfer(offset);
    await this.applyFileMode();
    await this.verifySize();
    await this.replaceFinal();

    this.context.reportProgress(source.size);
    log.info({ host: this.server.display, path: this.paths.final }, 'uploaded to the SFTP server');
    return {
      url: resultUrl(this.server, this.paths.final),
      bytes: source.size,
      host_key: this.hostKey ?? '',
      host_key_verified: this.destination.host_key !== undefined,
    };
  }

  /**
   * Network policy, TCP, SSH handshake with the host key check, login, the SFTP channel.
   * Every address DNS gave (each passed by the network guard) is tried in turn until one
   * accepts the TCP connection.
   */
  private async connect(): Promise<void> {
    const { network } = this.context;
    // The guard judges the host; the scheme is only there to make it a URL.
    await network.assertAllowed(`http://${this.server.display.replace(/:\d+$/, '')}:${this.server.port}/`);
    const addresses = await resolveAllowed(network.lookup, this.server.hostname);
    let failure: unknown = Object.assign(new Error(`${this.server.hostname} has no address`), { code: 'ENOTFOUND' });
    for (const address of addresses) {
      try {
        await this.connectTo(address);
        failure = undefined;
        break;
      } catch (error) {
        failure = error;
        const code = (error as { code?: unknown }).code;
        if (!(typeof code === 'string' && ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].includes(code))) break;
      }
    }
    if (failure !== undefined) throw failure;
    this.step = this.stepAt('open an SFTP session on');
    this.sftp = await new Promise<SFTPWrapper>((resolve, reject) => this.client!.sftp((error, sftp) => (error ? reject(error) : resolve(sftp))));
  }

  private connectTo(address: string): Promise<void> {
    const { destination, log } = this.context;
    const client = new Client();
    this.client?.destroy();
    this.client = client;
    this.step = this.stepAt('connect to');
    let hostKeyRefused: FleetError | undefined;
    const config: ConnectConfig = {
      host: address,
      port: this.server.port,
      username: destination.user,
      ...(destination.password === undefined ? {} : { password: destination.password, tryKeyboard: true }),
      ...(destination.private_key === undefined ? {} : { privateKey: destination.private_key }),
      ...(destination.passphrase === undefined ? {} : { passphrase: destination.passphrase }),
      readyTimeout: this.settings.timeoutMs,
      // A stalled connection shows as unanswered keepalives: about timeoutMs after it stalled.
      keepaliveInterval: Math.max(1000, Math.floor(this.settings.timeoutMs / 3)),
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        this.hostKey = sha256Fingerprint(key);
        const pinned = destination.host_key;
        if (pinned === undefined) {
          log.warn(
            { host: this.server.display, host_key: this.hostKey },
            'no host_key given for the SFTP server: accepting its host key unverified (pin it with host_key to refuse any other server)',
          );
          return true;
        }
        if (matchesHostKey(key, pinned)) return true;
        hostKeyRefused = new FleetError(
          'UF_DESTINATION_REJECTED',
          `The SFTP server ${this.server.display} presented the host key ${this.hostKey}, not the pinned host_key ${pinned}: the upload was refused, since another server may be answering for this host. If the server's key was changed on purpose, update host_key`,
          { destination: 'sftp' },
        );
        return false;
      },
    };
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      client.on('ready', () => {
        settled = true;
        resolve();
      });
      client.on('error', (error: Error & { level?: string }) => {
        if (settled) {
          this.connectionError ??= error;
          return;
        }
        settled = true;
        reject(hostKeyRefused ?? error);
      });
      client.on('handshake', () => (this.step = this.stepAt('log in to')));
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => destination.password ?? '')));
      client.on('close', () => {
        if (!settled) {
          settled = true;
          reject(hostKeyRefused ?? Object.assign(new Error('Connection lost before handshake'), { level: 'client-socket' }));
        }
      });
      try {
        client.connect(this.options.configure ? this.options.configure(config) : config);
      } catch (error) {
        // ssh2 reads the private key synchronously: "Cannot parse privateKey: ...".
        settled = true;
        reject(error);
      }
    });
  }

  /** An error of the connection after it was ready (a keepalive timeout, a reset): it explains a request's "No response from server". */
  private connectionError: Error | undefined;

  /** Creates the missing folders of `filename` (mkdir -p), from the outermost. */
  private async ensureFolder(): Promise<void> {
    const { folder } = this.paths;
    if (folder === '' || folder === '/') return;
    this.step = this.stepAt('create the folder', folder);
    if ((await this.stat(folder))?.isDirectory()) return;
    for (const path of folderChain(folder)) {
      this.step = this.stepAt('create the folder', path);
      try {
        await this.call<void>((done) => this.sftp!.mkdir(path, done));
      } catch (error) {
        // OpenSSH answers an existing folder (EEXIST) with FAILURE: whatever the answer, a folder there will do.
        if (!isSftpStatusError(error) || !(await this.stat(path))?.isDirectory()) throw error;
      }
    }
  }

  /**
   * Where this attempt starts. Only an upload that saved a checkpoint for this temporary
   * file and source size continues, from the temporary file's size less the bytes that
   * could have been in flight (never below what was acknowledged without a gap).
   */
  private async resumeOffset(): Promise<number> {
    const saved = await this.context.checkpoint.load<SftpCheckpoint>();
    if (!saved || saved.tempPath !== this.paths.temp || saved.size !== this.context.source.size) return 0;
    this.step = this.stepAt('check the size of', this.paths.temp);
    const stats = await this.stat(this.paths.temp);
    if (!stats || stats.size > this.context.source.size) return 0;
    const inFlightBytes = this.settings.requestsInFlight * WRITE_CHUNK_BYTES;
    return Math.min(stats.size, Math.max(saved.offset, stats.size - inFlightBytes));
  }

  /** Sends the source from `offset`, up to `requestsInFlight` writes unacknowledged at a time. */
  private async transfer(offset: number): Promise<void> {
    const { source } = this.context;
    const sftp = this.sftp!;
    this.step = this.stepAt('open', this.paths.temp);
    // 'w' truncates (a fresh start); 'r+' keeps what is there and writes at the offsets given.
    const handle = await this.call<Buffer>((done) => sftp.open(this.paths.temp, offset === 0 ? 'w' : 'r+', done));
    this.step = this.stepAt('write to', this.paths.temp);
    this.stream = await source.open(offset);
    this.context.reportProgress(offset);

    const pending: PendingWrite[] = [];
    let inFlight = 0;
    let failure: unknown;
    let wake: (() => void) | undefined;
    let lastAnswer = Date.now();
    const watchdog = setInterval(() => {
      if (inFlight > 0 && Date.now() - lastAnswer > this.settings.timeoutMs) {
        this.connectionError ??= Object.assign(new Error(`no write acknowledged in ${this.settings.timeoutMs} ms`), { level: 'client-timeout' });
        this.client?.destroy();
      }
    }, Math.max(250, Math.floor(this.settings.timeoutMs / 4)));

    const acknowledged = (entry: PendingWrite, error: Error | undefined | null) => {
      inFlight -= 1;
      lastAnswer = Date.now();
      if (error) failure ??= error;
      entry.done = true;
      while (pending.length > 0 && pending[0]!.done) this.acked = pending.shift()!.end;
      this.progressed(this.acked);
      wake?.();
    };
    const settle = () => new Promise<void>((resolve) => (wake = resolve));

    /** Where the next write goes. */
    let position = offset;
    const send = async (chunk: Buffer) => {
      while (inFlight >= this.settings.requestsInFlight && failure === undefined) await settle();
      if (failure !== undefined) throw this.connectionError ?? failure;
      const entry: PendingWrite = { end: position + chunk.length, done: false };
      pending.push(entry);
      inFlight += 1;
      sftp.write(handle, chunk, 0, chunk.length, position, (error) => acknowledged(entry, error));
      position += chunk.length;
    };
    let read = offset;
    // Bytes of the last source chunk that did not fill a write: every write but the last is full.
    let carry: Buffer = Buffer.alloc(0);
    try {
      for await (const data of this.stream as AsyncIterable<Buffer>) {
        read += data.length;
        if (read > source.size) throw sourceChanged(source.size - offset, `more than ${source.size - offset}`);
        const buffer = carry.length > 0 ? Buffer.concat([carry, data]) : data;
        let start = 0;
        for (; buffer.length - start >= WRITE_CHUNK_BYTES; start += WRITE_CHUNK_BYTES) await send(buffer.subarray(start, start + WRITE_CHUNK_BYTES));
        carry = buffer.subarray(start);
      }
      if (read !== source.size) throw sourceChanged(source.size - offset, String(read - offset));
      if (carry.length > 0) await send(carry);
      while (inFlight > 0) await settle();
      if (failure !== undefined) throw this.connectionError ?? failure;
    } finally {
      clearInterval(watchdog);
    }
    this.step = this.stepAt('close', this.paths.temp);
    await this.call<void>((done) => sftp.close(handle, done));
  }

  /** file_mode, set exactly (an open's mode would pass through the server's umask). */
  private async applyFileMode(): Promise<void> {
    const mode = this.destination.file_mode;
    if (mode === undefined) return;
    this.step = this.stepAt('set the mode of', this.paths.temp);
    await this.call<void>((done) => this.sftp!.chmod(this.paths.temp, Number.parseInt(mode, 8), done));
  }

  /** Progress, and a checkpoint every few MiB. */
  private progressed(bytes: number): void {
    this.context.reportProgress(bytes);
    this.checkpoint.progressed(bytes);
  }

  /** The temporary file must hold exactly the source's size before it takes the final name; else it is removed and the upload starts over. */
  private async verifySize(): Promise<void> {
    const { size } = this.context.source;
    this.step = this.stepAt('check the size of', this.paths.temp);
    const stored = (await this.stat(this.paths.temp))?.size;
    if (stored === size) return;
    await this.remove(this.paths.temp);
    await this.checkpoint.drop();
    throw new FleetError(
      'UF_DESTINATION_UNAVAILABLE',
      `The SFTP server ${this.server.display} holds ${stored ?? 'no'} bytes instead of ${size} for ${this.paths.final} after the upload; it starts again from the beginning`,
      { destination: 'sftp' },
    );
  }

  /**
   * Onto the final name. posix-rename@openssh.com replaces an existing file atomically
   * (rename(2)); the protocol's own RENAME fails when the target exists (OpenSSH uses
   * link(2)), so without the extension an existing file is removed first: for a moment
   * there is no file under the final name.
   */
  private async replaceFinal(): Promise<void> {
    const { temp, final } = this.paths;
    const sftp = this.sftp!;
    this.step = this.stepAt('rename', temp);
    try {
      await this.call<void>((done) => sftp.ext_openssh_rename(temp, final, done));
      return;
    } catch (error) {
      if (!(error instanceof Error) || !/does not support this extended request/.test(error.message)) throw error;
    }
    try {
      await this.call<void>((done) => sftp.rename(temp, final, done));
    } catch (error) {
      if (!isSftpStatusError(error) || (await this.stat(final)) === undefined) throw error;
      this.step = this.stepAt('replace');
      this.context.log.info({ host: this.server.display, status: error.code }, 'the SFTP server has no posix-rename: removing the existing file, then renaming');
      await this.call<void>((done) => sftp.unlink(final, done));
      this.step = this.stepAt('rename', temp);
      await this.call<void>((done) => sftp.rename(temp, final, done));
    }
  }

  private async stat(path: string): Promise<Stats | undefined> {
    try {
      return await this.call<Stats>((done) => this.sftp!.stat(path, done));
    } catch (error) {
      if (isSftpStatusError(error, SFTP_STATUS.NO_SUCH_FILE)) return undefined;
      throw error;
    }
  }

  private async remove(path: string): Promise<void> {
    await this.call<void>((done) => this.sftp!.unlink(path, done)).catch((error: unknown) => {
      if (!isSftpStatusError(error, SFTP_STATUS.NO_SUCH_FILE)) throw error;
    });
  }

  /** A callback-style ssh2 request as a promise; a synchronous throw (an unsupported extension) rejects it. */
  private call<T>(request: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        request((error, value) => (error ? reject(error) : resolve(value as T)));
      } catch (error) {
        reject(error);
      }
    });
  }

  /** UF_ABORTED when the signal stopped it, else the classified failure; the checkpoint is kept for what may resume. */
  private async failure(error: unknown): Promise<FleetError> {
    const { signal, log } = this.context;
    if (signal.aborted) {
      if (this.checkpoint.held) await this.checkpoint.save(this.acked);
      return this.aborted(error);
    }
    // A request that failed because the connection went away: the connection's error says why.
    const cause = /No response from server|Not connected/i.test(error instanceof Error ? error.message : '') ? (this.connectionError ?? error) : error;
    const classified = errorForSftp(cause, this.step);
    if (classified.code === 'UF_SOURCE_CHANGED') {
      await this.checkpoint.drop().catch(() => undefined);
    } else if (classified.retryable && this.checkpoint.held) {
      await this.checkpoint.save(this.acked);
    } else if (!classified.retryable && this.checkpoint.held && this.sftp) {
      // Nothing will continue this upload: leave no temporary file behind.
      await this.remove(this.paths.temp).catch(() => undefined);
      await this.checkpoint.drop().catch(() => undefined);
    }
    log.warn({ host: this.server.display, path: this.paths.final, code: classified.code, host_key: this.hostKey }, 'the SFTP upload failed');
    return classified;
  }

  private aborted(cause?: unknown): FleetError {
    return new FleetError('UF_ABORTED', `The upload to the SFTP server ${this.server.display} (${this.paths.final}) was aborted; it resumes from the temporary file`, {
      destination: 'sftp',
      ...(cause === undefined ? {} : { cause }),
    });
  }

  private stepAt(step: SftpStep, path = this.paths.final): SftpErrorContext {
    return { server: this.server.display, step, path, secrets: this.secrets };
  }
}

function sourceChanged(expected: number, got: string): FleetError {
  return new FleetError('UF_SOURCE_CHANGED', `The source changed while it was being uploaded (expected ${expected} bytes from the resume point, read ${got})`, {
    destination: 'sftp',
  });
}

/** The host's addresses, each accepted by the network guard (its lookup refuses blocked ones). */
function resolveAllowed(lookup: LookupFunction, hostname: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve((addresses as LookupAddress[]).map((entry) => entry.address));
    });
  });
}
