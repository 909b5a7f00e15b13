import { Readable } from 'node:stream';
import { Dropbox, type DropboxRequestOptions, type DropboxResponse } from 'dropbox';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';
import type { DropboxDestination } from './definition.js';
import type { UploadContext } from '../adapter.js';
import type { DropboxSettings } from './definition.js';
import { classifyDropboxFailure, reconnectError, type DropboxEndpoint, type DropboxFailure } from './errors.js';

/**
 * One upload's connection to Dropbox: the official SDK for building requests and reading
 * answers, our own fetch underneath it, and the token (refreshed once for auth_secret).
 *
 * Why our own fetch: the SDK builds its URLs from fixed hosts
 * (https://api.dropboxapi.com/2/..., https://content.dropboxapi.com/2/...) and offers no
 * base URL setting; its `domain` option only exists to reach Dropbox's own test hosts.
 * The SDK does take a `fetch` function, so ours rewrites those two fixed prefixes to
 * DROPBOX_API_BASE_URL and DROPBOX_CONTENT_BASE_URL (in production they are the same
 * URLs, and nothing changes) and refuses any other URL rather than send a token there.
 *
 * Connections go through an undici Agent whose `connect.lookup` is the network guard's:
 * the address each socket connects to is checked against the fleet's policy (a poisoned
 * DNS answer cannot point the worker, with the user's token, at a metadata or private
 * address). Node does not call `lookup` for IP-literal hosts, so an operator who
 * configures an IP as the base URL has chosen that address on purpose. The Agent lives as
 * long as the upload and is destroyed with it, so an aborted upload leaves no socket.
 *
 * Streaming: the SDK passes `contents` to fetch as the body as it is, and marks Node
 * streams `duplex: 'half'`, so a chunk is sent as a stream of slices and progress follows
 * what the socket takes. Content-Length goes in `extraHeaders`, the SDK's per-request
 * header option, since many proxies (and Dropbox) want sized bodies.
 */

/** The two URL prefixes the SDK builds requests from. */
const SDK_API_PREFIX = 'https://api.dropboxapi.com/2/';
const SDK_CONTENT_PREFIX = 'https://content.dropboxapi.com/2/';

const CONNECT_TIMEOUT_MS = 30_000;
/**
 * From the last byte of a chunk to Dropbox's answer, and between bytes of the answer.
 * A finish may take a while: Dropbox commits the whole file before it answers.
 */
const ANSWER_TIMEOUT_MS = 5 * 60_000;
/** Slices a chunk is streamed in: progress is reported as the socket takes each. */
const SLICE_BYTES = 256 * 1024;

export type SendOptions = DropboxRequestOptions;

export class DropboxClient {
  private refreshed = false;

  private constructor(
    private sdk: Dropbox,
    private readonly fetch: ReturnType<typeof rewritingFetch>,
    private readonly agent: Agent,
    private token: string,
    private readonly context: UploadContext<DropboxDestination>,
    private readonly path: string,
  ) {}

  /** Gets the token (inline, or from the fleet's credentials for auth_secret) and prepares the SDK. */
  static async connect(config: DropboxSettings, context: UploadContext<DropboxDestination>, path: string): Promise<DropboxClient> {
    const { destination } = context;
    // auth_secret wins when both are given, as in the fleet's rate-limit key
    // (runtime/src/limits/limit-key.ts): both must name the same account.
    const token = destination.auth_secret
      ? await context.credentials.accessToken('dropbox', destination.auth_secret)
      : (destination.oauth_token as string);
    const agent = new Agent({
      connect: { lookup: context.network.lookup, timeout: CONNECT_TIMEOUT_MS },
      headersTimeout: ANSWER_TIMEOUT_MS,
      bodyTimeout: ANSWER_TIMEOUT_MS,
      // HTTP/1.1, as Dropbox documents its API; one request at a time per upload anyway.
      allowH2: false,
    });
    const fetch = rewritingFetch(config, agent);
    return new DropboxClient(new Dropbox({ accessToken: token, fetch }), fetch, agent, token, context, path);
  }

  /**
   * Sends one request. A rejected token is refreshed once per upload attempt when the
   * fleet holds the credential (auth_secret), and the request sent again; an inline
   * oauth_token cannot be refreshed. Everything else comes back classified: a FleetError,
   * or a DropboxProtocolAnswer (incorrect_offset, session gone) for the caller to act on.
   */
  async send<T>(endpoint: DropboxEndpoint, request: (sdk: Dropbox, options: SendOptions) => Promise<DropboxResponse<T>>, options: SendOptions = {}): Promise<T> {
    const { destination, signal } = this.context;
    for (;;) {
      try {
        if (signal.aborted) throw signal.reason;
        const response = await request(this.sdk, { ...options, signal });
        return response.result;
      } catch (error) {
        const failure = classifyDropboxFailure(error, { endpoint, path: this.path, size: this.context.source.size, aborted: signal.aborted });
        if (failure.kind === 'token_rejected') {
          if (!destination.auth_secret) throw reconnectError(failure.reason, 'oauth_token');
          if (this.refreshed) throw reconnectError(failure.reason, 'auth_secret');
          this.refreshed = true;
          this.context.log.warn({ endpoint, reason: failure.reason }, 'Dropbox rejected the access token; refreshing it once');
          this.token = await this.context.credentials.accessToken('dropbox', destination.auth_secret, this.token);
          this.sdk = new Dropbox({ accessToken: this.token, fetch: this.fetch });
          continue;
        }
        if (failure.kind === 'error') throw failure.error;
        throw new DropboxProtocolAnswer(failure);
      }
    }
  }

  /**
   * A chunk as a request body: slices pulled by the socket, reporting progress as they go,
   * with the Content-Length header it needs. Each call makes a fresh body, so a request
   * can be sent again.
   */
  body(chunk: Buffer, onSent: (bytes: number) => void): { contents: Buffer | Readable; options: SendOptions } {
    if (chunk.length === 0) return { contents: chunk, options: {} };
    const slices = function* () {
      for (let at = 0; at < chunk.length; at += SLICE_BYTES) {
        const slice = chunk.subarray(at, at + SLICE_BYTES);
        yield slice;
        onSent(Math.min(at + slice.length, chunk.length));
      }
    };
    return { contents: Readable.from(slices(), { objectMode: false }), options: { extraHeaders: { 'Content-Length': String(chunk.length) } } };
  }

  async close(): Promise<void> {
    // destroy, not close: an aborted upload must not wait for a request to drain.
    await this.agent.destroy().catch(() => undefined);
  }
}

/** An answer the upload protocol acts on (see DropboxFailure); never leaves the adapter. */
export class DropboxProtocolAnswer extends Error {
  constructor(readonly failure: Exclude<DropboxFailure, { kind: 'error' } | { kind: 'token_rejected' }>) {
    super(`Dropbox answered ${failure.kind}`);
    this.name = 'DropboxProtocolAnswer';
  }
}

/** The SDK's fetch: its fixed hosts rewritten to the configured bases, connections through `agent`. */
function rewritingFetch(config: DropboxSettings, agent: Agent) {
  const api = `${config.apiBaseUrl.replace(/\/+$/, '')}/`;
  const content = `${config.contentBaseUrl.replace(/\/+$/, '')}/`;
  return (url: string, init: UndiciRequestInit) => {
    let target: string;
    if (url.startsWith(SDK_CONTENT_PREFIX)) target = content + url.slice(SDK_CONTENT_PREFIX.length);
    else if (url.startsWith(SDK_API_PREFIX)) target = api + url.slice(SDK_API_PREFIX.length);
    else return Promise.reject(new Error('The Dropbox SDK asked for a URL outside the configured Dropbox endpoints'));
    return undiciFetch(target, { ...init, dispatcher: agent });
  };
}
