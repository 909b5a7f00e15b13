import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import got, { type Request } from 'got';
import { FleetError, type NetworkGuard } from '@upload-fleet/core';
import { Authenticator, parseChallenges } from './auth.js';
import type { WebdavSettings } from './definition.js';
import { errorForFailure, type WebdavStep } from './errors.js';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Whether the request carried credentials (the user's, or an Authorization header of theirs). */
  authenticated: boolean;
}

export interface ClientOptions {
  host: string;
  /** The destination's `headers`, sent with every request. */
  headers: Record<string, string>;
  /** null: no user given, or an Authorization header of the destination's replaces them. */
  authenticator: Authenticator | null;
  network: NetworkGuard;
  signal: AbortSignal;
  settings: WebdavSettings;
}

export interface BodyRequest {
  /** Opens the body anew (a 401 that a challenge answers sends it again). */
  open(): Promise<Readable>;
  length: number;
  onProgress(bytesOfBody: number): void;
}

/** Headers the protocol sets per request: the destination's `headers` never replace these. */
const PROTOCOL_HEADERS = new Set(['content-length', 'transfer-encoding', 'content-range', 'destination', 'overwrite', 'depth', 'host', 'connection', 'expect']);

/**
 * The requests of one upload: each with the destination's headers, the network guard's
 * lookup, the timeouts, the upload's signal, and credentials once a challenge asked for
 * them. Every status comes back as an answer; what it means is errors.ts's.
 */
export class WebdavClient {
  constructor(private readonly options: ClientOptions) {}

  /** A request without a body (PROPFIND, MKCOL, HEAD, MOVE, DELETE). */
  async send(method: string, target: URL, headers: Record<string, string>, step: WebdavStep, body?: string): Promise<Answer> {
    return this.withChallenge(async () => {
      const sent = this.headersFor(method, target, headers);
      try {
        const response = await got(target, {
          ...this.common(),
          method,
          headers: sent.headers,
          ...(body === undefined ? {} : { body }),
        });
        return { status: response.statusCode, headers: response.headers, authenticated: sent.authenticated };
      } catch (error) {
        throw errorForFailure(error, step, this.options.host, this.options.signal);
      }
    });
  }

  /** A PUT streaming `body` (never held in memory), with the exact Content-Length. */
  async put(target: URL, headers: Record<string, string>, body: BodyRequest, step: WebdavStep): Promise<Answer> {
    return this.withChallenge(async () => {
      const sent = this.headersFor('PUT', target, { ...headers, 'content-length': String(body.length) });
      const source = await body.open();
      let request: Request | undefined;
      try {
        request = got.stream(target, { ...this.common(), method: 'PUT', headers: sent.headers, body: exactly(source, body.length) });
        request.on('uploadProgress', (progress: { transferred: number }) => body.onProgress(Math.min(progress.transferred, body.length)));
        const response = await new Promise<{ statusCode: number; headers: IncomingHttpHeaders }>((resolve, reject) => {
          request!.once('response', resolve);
          request!.once('error', reject);
        });
        request.resume(); // the answer's body (an error page at most) is not needed
        return { status: response.statusCode, headers: response.headers, authenticated: sent.authenticated };
      } catch (error) {
        throw errorForFailure(error, step, this.options.host, this.options.signal);
      } finally {
        request?.destroy();
        source.destroy();
      }
    });
  }

  /** Runs `attempt`; a 401 whose challenge the credentials can answer runs it once more. */
  private async withChallenge(attempt: () => Promise<Answer>): Promise<Answer> {
    const answer = await attempt();
    const { authenticator } = this.options;
    if (answer.status !== 401 || !authenticator) return answer;
    if (!authenticator.accept(parseChallenges(answer.headers['www-authenticate']))) return answer;
    return attempt();
  }

  private headersFor(method: string, target: URL, headers: Record<string, string>): { headers: Record<string, string>; authenticated: boolean } {
    const all: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.options.headers)) {
      if (!PROTOCOL_HEADERS.has(name.toLowerCase())) all[name] = value;
    }
    Object.assign(all, headers);
    const given = Object.keys(this.options.headers).some((name) => name.toLowerCase() === 'authorization');
    const authorization = this.options.authenticator?.header(method, target);
    if (authorization) all.authorization = authorization;
    return { headers: all, authenticated: given || authorization !== undefined };
  }

  private common() {
    const { settings, network, signal } = this.options;
    return {
      dnsLookup: network.lookup,
      // A redirect is reported, not followed (errors.ts): it would take the file and the
      // credentials somewhere the destination did not name.
      followRedirect: false,
      throwHttpErrors: false,
      // BullMQ retries the job with backoff; got retrying inside would hide attempts.
      retry: { limit: 0 },
      signal,
      timeout: { lookup: settings.connectTimeoutMs, connect: settings.connectTimeoutMs, secureConnect: settings.connectTimeoutMs, response: settings.responseTimeoutMs },
    } as const;
  }
}

/**
 * The source's bytes, checked against the Content-Length sent: a source that yields more or
 * fewer (a file rewritten mid-upload) would make a request the server reads wrongly.
 */
async function* exactly(stream: Readable, length: number): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    sent += chunk.byteLength;
    if (sent > length) throw sourceChanged(length, `more than ${length}`);
    yield chunk;
  }
  if (sent !== length) throw sourceChanged(length, String(sent));
}

function sourceChanged(expected: number, read: string): FleetError {
  return new FleetError('UF_SOURCE_CHANGED', `The source changed while it was being uploaded to WebDAV (expected ${expected} bytes, read ${read})`, { destination: 'webdav' });
}
