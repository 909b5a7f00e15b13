import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionOptions } from 'node:tls';
import { Client, FTPError } from 'basic-ftp';
import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { FtpDestination } from './definition.js';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import { TempFileCheckpoint, type TempFileState } from '../temp-file-checkpoint.js';
import type { FtpSettings } from './definition.js';
import { errorForFtp, type FtpErrorContext, type FtpStep } from './errors.js';
import { DataConnectionBody } from './data-connection-body.js';
import { uploadPaths, type UploadPaths } from './paths.js';
import { openSession, type FtpSecureMode } from './session.js';
import { transferModeName, transferStrategyFor } from './transfer-mode.js';
import { FTP_PORT, FTPS_IMPLICIT_PORT, parseFtpHost, resultUrl } from './url.js';

/**
 * The FTP destination (basic-ftp): the file goes to `filename` on `host`, creating missing
 * folders, under a temporary name first and renamed when complete (RNFR/RNTO), replacing
 * a file already there. An interrupted upload continues on the next attempt by appending
 * (APPE) to the temporary file from the size the server reports (SIZE).
 *
 * What this means for `passive`/`epsv`, FTPS and the PASV address: transfer-mode.ts,
 * session.ts and docs/destinations/ftp.md.
 */

export type { FtpSecureMode } from './session.js';

export interface FtpAdapterOptions {
  /** Extra TLS settings for FTPS: CAs to trust besides Node's (servers with a private CA, tests). */
  tls?: Pick<ConnectionOptions, 'ca'>;
}

/** The checkpoint: which temporary file this upload writes, for how large a source; its offset is informative, a resume starts from what SIZE reports. */
export type FtpCheckpoint = TempFileState;

/** The destination, whose `secure` field (FTPS, beyond the spec) the core schema declares. */
export type FtpDestinationWithTls = FtpDestination & { secure?: FtpSecureMode };

/**
 * Before resuming, the temporary file's size must hold still this long: the server may
 * still be writing what the previous, interrupted connection had sent, and appending
 * before that ends would interleave the two.
 */
const SETTLE_INTERVAL_MS = 250;
const SETTLE_ROUNDS = 20;

export function createFtpAdapter(config: FtpSettings, options: FtpAdapterOptions = {}): DestinationAdapter<'ftp'> {
  return {
    type: 'ftp',
    upload: async (context) => new FtpUpload(context, config, options).run(),
  };
}

class FtpUpload {
  private readonly destination: FtpDestinationWithTls;
  private readonly secure: FtpSecureMode;
  private readonly server: ReturnType<typeof parseFtpHost>;
  private readonly paths: UploadPaths;
  private readonly client: Client;
  /** What is being done now: a failure is classified by it. */
  private step: FtpErrorContext;
  /** The body of the transfer under way: destroyed when the upload stops. */
  private body: DataConnectionBody | undefined;
  /** Taken once the temporary file is ours: saved again when the upload stops. */
  private readonly checkpoint: TempFileCheckpoint;
  /** Bytes of the source the server has been sent, as far as this attempt knows. */
  private sent = 0;

  constructor(
    private readonly context: UploadContext<FtpDestination>,
    config: FtpSettings,
    private readonly options: FtpAdapterOptions,
  ) {
    this.destination = context.destination;
    this.secure = this.destination.secure ?? false;
    this.server = parseFtpHost(this.destination.host, this.secure === 'implicit' ? FTPS_IMPLICIT_PORT : FTP_PORT);
    this.paths = uploadPaths(this.destination.filename, {
      hostname: this.server.hostname,
      port: this.server.port,
      user: this.destination.user,
      filename: this.destination.filename,
      sourceSize: context.source.size,
      sourceDescription: context.source.description,
    });
    this.step = this.stepAt('connect');
    this.client = new Client(config.timeoutMs);
    this.checkpoint = new TempFileCheckpoint(context.checkpoint, context.log, 'FTP');
  }

  async run(): Promise<UploadResult> {
    const { signal, source, log } = this.context;
    if (signal.aborted) throw this.aborted();
    // Closing the client fails whatever command or transfer is running at once.
    const onAbort = () => this.client.close();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await openSession(this.client, {
        server: this.server,
        user: this.destination.user,
        password: this.destination.password,
        secure: this.secure,
        tls: this.options.tls ?? {},
        network: this.context.network,
        onStep: (step) => (this.step = this.stepAt(step)),
      });
      this.client.prepareTransfer = transferStrategyFor(this.destination, (named, used) =>
        log.warn({ host: this.server.display, pasv_host: named, used }, 'the FTP server named another host in its PASV answer; connecting to the control connection\'s host instead'),
      );
      await this.ensureFolder();

      const offset = await this.resumeOffset();
      this.sent = offset;
      await this.checkpoint.take(this.paths.temp, source.size, offset);
      log.info(
        { host: this.server.display, path: this.paths.final, bytes: source.size, resume_from: offset, mode: transferModeName(this.destination), tls: this.secure },
        offset > 0 ? 'resuming the FTP upload' : 'uploading to the FTP server',
      );

      // An empty file is still stored (STOR of nothing creates it); a complete temporary
      // file left by an attempt that stopped before the rename only needs the rename.
      if (offset === 0 || offset < source.size) await this.transfer(offset);
      await this.verifySize();
      await this.replaceFinal();

      this.context.reportProgress(source.size);
      log.info({ host: this.server.display, path: this.paths.final }, 'uploaded to the FTP server');
      return { url: resultUrl(this.server, this.paths.final, this.secure === 'implicit'), bytes: source.size };
    } catch (error) {
      throw await this.failure(error);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.client.close();
      this.body?.destroy();
    }
  }

  /** Creates the missing folders of `filename`, then returns to the login folder (paths stay as given). */
  private async ensureFolder(): Promise<void> {
    const { folder } = this.paths;
    if (folder === '' || folder === '/') return;
    this.step = this.stepAt('create the folder of');
    const home = await this.client.pwd();
    await this.client.ensureDir(folder);
    await this.client.cd(home);
  }

  /**
   * Where this attempt starts in the source. Only an upload that saved a checkpoint for
   * this temporary file and source size continues; it continues from what the server
   * holds (SIZE), which may be more than the checkpoint says. Without SIZE, or with a
   * temporary file larger than the source, it starts over.
   */
  private async resumeOffset(): Promise<number> {
    const saved = await this.context.checkpoint.load<FtpCheckpoint>();
    if (!saved || saved.tempPath !== this.paths.temp || saved.size !== this.context.source.size) return 0;
    this.step = this.stepAt('check the size of', this.paths.temp);
    let previous = await this.remoteSize(this.paths.temp);
    for (let round = 0; previous !== undefined && round < SETTLE_ROUNDS; round += 1) {
      await sleep(SETTLE_INTERVAL_MS, undefined, { signal: this.context.signal });
      const now = await this.remoteSize(this.paths.temp);
      if (now === previous) return now <= this.context.source.size ? now : 0;
      previous = now;
    }
    return 0;
  }

  /** SIZE of a file; undefined when the server has no such file or no SIZE command. */
  private async remoteSize(path: string): Promise<number | undefined> {
    try {
      return await this.client.size(path);
    } catch (error) {
      if (error instanceof FTPError) return undefined;
      // "Can't parse response to command 'SIZE'": a server whose SIZE answers nonsense.
      if (!this.client.closed && error instanceof Error && /SIZE/.test(error.message)) return undefined;
      throw error;
    }
  }

  /** Sends the source from `offset`: STOR from the start, APPE to continue. */
  private async transfer(offset: number): Promise<void> {
    const { source } = this.context;
    const append = offset > 0;
    this.step = this.stepAt(append ? 'append to' : 'store', this.paths.temp);
    const body = new DataConnectionBody(source, offset, () => this.client.ftp.dataSocket, this.context.signal);
    this.body = body;
    this.context.reportProgress(offset);
    this.client.trackProgress((info) => this.progressed(Math.min(source.size, offset + info.bytes)));
    try {
      if (append) await this.client.appendFrom(body, this.paths.temp);
      else await this.client.uploadFrom(body, this.paths.temp);
    } catch (error) {
      // A server without APPE (500/502/504: not understood or not implemented) gets the
      // whole file again.
      if (append && error instanceof FTPError && [500, 502, 504].includes(error.code) && !this.client.closed) {
        this.context.log.warn({ host: this.server.display, reply: error.code }, 'the FTP server does not append (APPE); uploading the whole file again');
        body.destroy();
        return this.transfer(0);
      }
      throw error;
    } finally {
      this.client.trackProgress();
    }
    this.progressed(source.size);
  }

  /** Progress, and a checkpoint every few MiB. */
  private progressed(bytes: number): void {
    this.sent = bytes;
    this.context.reportProgress(bytes);
    this.checkpoint.progressed(bytes);
  }

  /**
   * The temporary file must hold exactly the source's size before it takes the final name:
   * a resume that raced a still-writing server, or a server that lost data, shows here.
   * The file is removed and the upload starts over on the next attempt.
   */
  private async verifySize(): Promise<void> {
    const { size } = this.context.source;
    this.step = this.stepAt('check the size of', this.paths.temp);
    const stored = await this.remoteSize(this.paths.temp);
    if (stored === undefined || stored === size) return;
    await this.client.remove(this.paths.temp, true);
    await this.checkpoint.drop();
    throw new FleetError(
      'UF_DESTINATION_UNAVAILABLE',
      `The FTP server ${this.server.display} holds ${stored} bytes instead of ${size} for ${this.paths.final} after the upload; it starts again from the beginning`,
      { destination: 'ftp' },
    );
  }

  /**
   * RNFR/RNTO onto the final name. POSIX servers replace an existing file; some (IIS,
   * several NAS) refuse RNTO onto an existing name, so on a refusal the old file is
   * deleted and the rename tried once more. DELE only follows a successful RNFR, so a
   * missing temporary file never costs the existing final one.
   */
  private async replaceFinal(): Promise<void> {
    const { temp, final } = this.paths;
    this.step = this.stepAt('rename', temp);
    const from = await this.client.protectWhitespace(temp);
    const to = await this.client.protectWhitespace(final);
    await this.client.send(`RNFR ${from}`);
    try {
      await this.client.send(`RNTO ${to}`);
    } catch (error) {
      if (!(error instanceof FTPError) || error.code < 500 || this.client.closed) throw error;
      this.step = this.stepAt('replace');
      this.context.log.info({ host: this.server.display, reply: error.code }, 'the FTP server did not rename onto the existing file; deleting it first');
      await this.client.remove(final, true);
      await this.client.send(`RNFR ${from}`);
      await this.client.send(`RNTO ${to}`);
    }
  }

  /** The error to throw: UF_ABORTED when the signal stopped it, else the classified failure. The checkpoint is kept for what may resume. */
  private async failure(error: unknown): Promise<FleetError> {
    const { signal, log } = this.context;
    if (signal.aborted) {
      if (this.checkpoint.held) await this.checkpoint.save(this.sent);
      return this.aborted(error);
    }
    const failure = errorForFtp(error, this.step);
    if (failure.code === 'UF_SOURCE_CHANGED') {
      // What is on the server belongs to another version of the file.
      await this.checkpoint.drop().catch(() => undefined);
    } else if (failure.retryable && this.checkpoint.held) {
      await this.checkpoint.save(this.sent);
    } else if (!failure.retryable && this.checkpoint.held && !this.client.closed) {
      // Nothing will continue this upload: leave no temporary file behind.
      await this.client.remove(this.paths.temp, true).catch(() => undefined);
      await this.checkpoint.drop().catch(() => undefined);
    }
    log.warn({ host: this.server.display, path: this.paths.final, code: failure.code }, 'the FTP upload failed');
    return failure;
  }

  private aborted(cause?: unknown): FleetError {
    return new FleetError('UF_ABORTED', `The upload to the FTP server ${this.server.display} (${this.paths.final}) was aborted`, {
      destination: 'ftp',
      ...(cause === undefined ? {} : { cause }),
    });
  }

  private stepAt(step: FtpStep, path = this.paths.final): FtpErrorContext {
    return { server: this.server.display, path, step, password: this.destination.password };
  }
}
