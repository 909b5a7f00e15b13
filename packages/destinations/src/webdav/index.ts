import { Readable } from 'node:stream';
import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import { Authenticator } from './auth.js';
import { WebdavClient, type Answer } from './client.js';
import type { WebdavDestination, WebdavSettings } from './definition.js';
import { errorForAnswer, errorForFailure, type WebdavStep } from './errors.js';
import { displayPath, uploadPaths, type UploadPaths } from './paths.js';

/**
 * The WebDAV destination (RFC 4918): the missing collections of `filename` are created
 * (MKCOL, outermost first), the file is PUT under a temporary name in its collection
 * (streamed, exact Content-Length), checked (HEAD: the size), then moved onto its name
 * (MOVE with `Destination` and `Overwrite`), so nobody ever sees half a file under the
 * final name.
 *
 * Resume: WebDAV has no standard resumable upload, but RFC 9110 section 14.5 allows a
 * partial PUT (`Content-Range` on a PUT), and Apache mod_dav does it: it writes a ranged
 * PUT in place, and keeps what arrived when the connection breaks. So the body always goes
 * as one PUT with `Content-Range: bytes <from>-<last>/<size>`, and a later attempt continues
 * from the temporary file's size. A server that refuses ranged PUTs (RFC 9110 says it
 * SHOULD answer 400; sabre/dav, so Nextcloud, does) gets a plain PUT at once, and a server
 * that ignores the header (and stores only the tail) is caught by the size check: the
 * file is sent again whole. Either way the checkpoint remembers it, so later attempts of
 * the upload send plain PUTs from the start. See docs/destinations/webdav.md.
 */

/** What a later attempt needs to continue: which temporary file, for which source size, and whether ranged PUTs work. */
export interface WebdavCheckpoint {
  temp: string;
  size: number;
  partialPut: boolean;
}

const PROPFIND_BODY = '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>';
/** Statuses with which a server refuses a ranged PUT it does not implement (RFC 9110 sections 14.5, 15.5.17). */
const PARTIAL_PUT_REFUSED = new Set([400, 416, 501]);

export function createWebdavAdapter(settings: WebdavSettings): DestinationAdapter<'webdav'> {
  return {
    type: 'webdav',
    upload: async (context) => new WebdavUpload(context, settings).run(),
  };
}

class WebdavUpload {
  private readonly destination: WebdavDestination;
  private readonly paths: UploadPaths;
  private readonly host: string;
  private readonly client: WebdavClient;
  private step: WebdavStep;
  /** Set once the temporary file may exist: cleaned up when the upload fails for good. */
  private state: WebdavCheckpoint | undefined;

  constructor(
    private readonly context: UploadContext<WebdavDestination>,
    settings: WebdavSettings,
  ) {
    const { destination, source, log } = context;
    this.destination = destination;
    this.paths = uploadPaths(destination.url, destination.filename, { uploadId: context.uploadId, sourceSize: source.size, sourceDescription: source.description });
    this.host = this.paths.collection.host;
    this.step = { kind: 'open', path: displayPath(this.paths.collection) };
    const headerAuthorization = Object.keys(destination.headers).some((name) => name.toLowerCase() === 'authorization');
    if (headerAuthorization && destination.user !== undefined) {
      log.warn({ host: this.host }, 'both an Authorization header and user/password were given: the header is sent, user/password are not');
    }
    this.client = new WebdavClient({
      host: this.host,
      headers: destination.headers,
      authenticator: destination.user !== undefined && !headerAuthorization ? new Authenticator(destination.user, destination.password ?? '') : null,
      network: context.network,
      signal: context.signal,
      settings,
    });
  }

  async run(): Promise<UploadResult> {
    const { signal, source, log } = this.context;
    if (signal.aborted) throw errorForFailure(new Error('aborted'), this.step, this.host, signal);
    try {
      // A clear refusal of private and metadata addresses before anything is sent; the
      // client's lookup checks again at every connection, against DNS rebinding.
      await this.context.network.assertAllowed(this.paths.collection);
      await this.openCollection();
      if (!this.destination.overwrite) await this.refuseExisting();
      await this.createParents();
      const offset = await this.startOffset();
      log.info({ host: this.host, path: this.paths.display, bytes: source.size, resume_from: offset }, offset > 0 ? 'resuming the WebDAV upload' : 'uploading to the WebDAV server');
      await this.sendFrom(offset);
      await this.verify(offset);
      await this.moveIntoPlace();
      await this.context.checkpoint.clear();
      this.state = undefined;
      this.context.reportProgress(source.size);
      log.info({ host: this.host, path: this.paths.display }, 'uploaded to the WebDAV server');
      return { url: this.paths.final.href, bytes: source.size };
    } catch (error) {
      throw await this.failure(error);
    }
  }

  /** PROPFIND Depth 0 on `url`: it exists, and the server's login challenge (if any) is answered here. */
  private async openCollection(): Promise<void> {
    const { collection } = this.paths;
    const answer = await this.client.send('PROPFIND', collection, { depth: '0', 'content-type': 'application/xml; charset=utf-8' }, this.step, PROPFIND_BODY);
    if (answer.status === 207 || answer.status === 200) return;
    // nginx's dav module has PUT, MKCOL and MOVE but no PROPFIND: the collection is then
    // proven by the requests that follow (a 409 names a missing one).
    if (answer.status === 405 || answer.status === 501) {
      this.context.log.info({ host: this.host, status: answer.status }, 'the WebDAV server does not answer PROPFIND; going on without it');
      return;
    }
    throw this.refused(answer);
  }

  /** With overwrite false, an existing file fails the upload before any byte is sent (MOVE's `Overwrite: F` covers a race). */
  private async refuseExisting(): Promise<void> {
    this.step = { kind: 'check', path: this.paths.display };
    const answer = await this.client.send('HEAD', this.paths.final, {}, this.step);
    if (answer.status === 404) return;
    if (answer.status >= 200 && answer.status < 300) {
      throw new FleetError(
        'UF_DESTINATION_REJECTED',
        `${this.paths.display} exists already on the WebDAV server ${this.host} and overwrite is false; set overwrite to true to replace it, or choose another filename`,
        { destination: 'webdav' },
      );
    }
    throw this.refused(answer);
  }

  /** MKCOL for each folder of `filename`, outermost first; 405 (RFC 4918 section 9.3.1) means it exists. */
  private async createParents(): Promise<void> {
    for (const parent of this.paths.parents) {
      this.step = { kind: 'mkcol', path: displayPath(parent) };
      const answer = await this.client.send('MKCOL', parent, {}, this.step);
      if (answer.status === 201 || answer.status === 405) continue;
      throw this.refused(answer);
    }
  }

  /**
   * Where the body starts. An upload with a checkpoint for this temporary file and source
   * size continues from the temporary file's size on the server (HEAD), which may be more
   * than any checkpoint knew. Otherwise a leftover temporary file is deleted first: a
   * ranged PUT from 0 onto it would keep its tail.
   */
  private async startOffset(): Promise<number> {
    const { temp } = this.paths;
    const { size } = this.context.source;
    const saved = await this.context.checkpoint.load<WebdavCheckpoint>();
    const resumable = saved !== undefined && saved.temp === temp.href && saved.size === size;
    this.state = { temp: temp.href, size, partialPut: resumable ? saved.partialPut : true };
    this.step = { kind: 'check', path: displayPath(temp) };
    const held = await this.sizeOf(temp);
    let offset = 0;
    if (typeof held === 'number' && resumable && this.state.partialPut && held <= size) offset = held;
    else if (held !== undefined) await this.deleteTemp();
    // mod_dav removes a resource that a failed PUT was creating, but keeps what a failed
    // ranged PUT wrote into an existing one: the temporary file is created empty first.
    if (offset === 0 && this.state.partialPut && size > 0) await this.createEmptyTemp();
    await this.context.checkpoint.save(this.state);
    return offset;
  }

  private async createEmptyTemp(): Promise<void> {
    this.step = { kind: 'upload', path: this.paths.display };
    const answer = await this.client.put(this.paths.temp, {}, { open: async () => Readable.from([]), length: 0, onProgress: () => undefined }, this.step);
    if (answer.status < 200 || answer.status >= 300) throw this.refused(answer);
  }

  /** The size of a file (HEAD), undefined when there is none; null when the server does not say. */
  private async sizeOf(target: URL): Promise<number | undefined | null> {
    const answer = await this.client.send('HEAD', target, {}, this.step);
    if (answer.status === 404) return undefined;
    if (answer.status < 200 || answer.status >= 300) throw this.refused(answer);
    const length = Number(answer.headers['content-length']);
    return answer.headers['content-length'] !== undefined && Number.isInteger(length) ? length : null;
  }

  /** One PUT from `offset` to the end: ranged while the server takes ranges, else the whole file. */
  private async sendFrom(offset: number): Promise<void> {
    const { source, contentType } = this.context;
    const ranged = this.state!.partialPut && source.size > 0;
    const from = ranged ? offset : 0;
    this.step = { kind: 'upload', path: this.paths.display };
    const headers: Record<string, string> = {};
    if (!Object.keys(this.destination.headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = contentType;
    if (ranged) headers['content-range'] = `bytes ${from}-${source.size - 1}/${source.size}`;
    this.context.reportProgress(from);
    const answer = await this.client.put(this.paths.temp, headers, {
      open: () => source.open(from),
      length: source.size - from,
      onProgress: (bytes) => this.context.reportProgress(from + bytes),
    }, this.step);
    if (answer.status >= 200 && answer.status < 300) return;
    if (ranged && PARTIAL_PUT_REFUSED.has(answer.status)) {
      this.context.log.warn({ host: this.host, status: answer.status }, 'the WebDAV server refuses ranged PUTs (Content-Range); sending the whole file, and later attempts start over');
      await this.noPartialPuts();
      return this.sendFrom(0);
    }
    throw this.refused(answer);
  }

  /**
   * The temporary file must hold exactly the source's size before it takes the final name.
   * A server that ignored Content-Range on a resume holds only the tail: the whole file is
   * sent again at once, without ranges. Any other difference fails the attempt, and the
   * next one starts from the beginning.
   */
  private async verify(resumedFrom: number): Promise<void> {
    const { size } = this.context.source;
    this.step = { kind: 'check', path: displayPath(this.paths.temp) };
    const held = await this.sizeOf(this.paths.temp);
    if (held === null || held === size) return;
    if (resumedFrom > 0 && this.state!.partialPut) {
      this.context.log.warn({ host: this.host, held, size }, 'the WebDAV server did not continue the file at its Content-Range; sending the whole file without ranges');
      await this.noPartialPuts();
      await this.sendFrom(0);
      return this.verify(0);
    }
    await this.deleteTemp();
    await this.context.checkpoint.clear();
    this.state = undefined;
    throw new FleetError(
      'UF_DESTINATION_UNAVAILABLE',
      `The WebDAV server ${this.host} holds ${held ?? 'no'} bytes instead of ${size} for ${this.paths.display} after the upload; it starts again from the beginning`,
      { destination: 'webdav' },
    );
  }

  /** MOVE onto the final name; `Overwrite: F` makes an existing file a 412 (RFC 4918 section 10.6). */
  private async moveIntoPlace(): Promise<void> {
    const { overwrite } = this.destination;
    this.step = { kind: 'move', path: this.paths.display, overwrite };
    const answer = await this.client.send('MOVE', this.paths.temp, { destination: this.paths.final.href, overwrite: overwrite ? 'T' : 'F' }, this.step);
    if (answer.status === 201 || answer.status === 204) return;
    throw this.refused(answer);
  }

  private async noPartialPuts(): Promise<void> {
    this.state = { ...this.state!, partialPut: false };
    await this.context.checkpoint.save(this.state);
  }

  private async deleteTemp(): Promise<void> {
    const step: WebdavStep = { kind: 'delete', path: displayPath(this.paths.temp) };
    const answer = await this.client.send('DELETE', this.paths.temp, {}, step);
    if (answer.status !== 404 && (answer.status < 200 || answer.status >= 300)) {
      throw errorForAnswer(answer.status, answer.headers, step, this.host, answer.authenticated);
    }
  }

  private refused(answer: Answer): FleetError {
    // Credentials given but never sent (the server offered no scheme this client speaks)
    // are still the ones to check: the message then says they were not accepted.
    return errorForAnswer(answer.status, answer.headers, this.step, this.host, answer.authenticated || this.destination.user !== undefined);
  }

  /**
   * The error to throw. An abort keeps the temporary file and the checkpoint for the next
   * attempt; a permanent failure, or the last attempt, deletes the temporary file (best
   * effort: the failure is the news, not the clean-up).
   */
  private async failure(error: unknown): Promise<FleetError> {
    const { signal, log, checkpoint, lastAttempt } = this.context;
    const failure = error instanceof FleetError && !signal.aborted ? error : errorForFailure(error, this.step, this.host, signal);
    if (failure.code === 'UF_ABORTED' || !this.state) return failure;
    if (failure.category === 'permanent' || lastAttempt || failure.code === 'UF_SOURCE_CHANGED') {
      this.state = undefined;
      try {
        await this.deleteTemp();
        await checkpoint.clear();
      } catch (cleanup) {
        log.warn({ host: this.host, code: (cleanup as { code?: unknown }).code }, 'could not delete the temporary file of the failed WebDAV upload');
      }
    }
    return failure;
  }
}
