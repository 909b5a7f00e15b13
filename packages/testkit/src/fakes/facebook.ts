import { createHash, randomBytes, randomInt, type Hash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';

/**
 * A real HTTP server standing in for the Graph API's resumable video upload
 * (`POST /{version}/me/videos`, https://developers.facebook.com/docs/graph-api/video-uploads),
 * checking what Graph checks and answering in Graph's format:
 *
 * - the access token, from the Authorization header (`OAuth` or `Bearer`), the query string
 *   or a form field: missing -> code 2500, unknown -> 190, expired -> 190/463;
 * - `upload_phase=start` with `file_size` (1 KB minimum and a maximum, subcodes 1363022 and
 *   1363023) -> `upload_session_id`, `video_id` and the first range, offsets as strings of
 *   digits as Graph sends them;
 * - `upload_phase=transfer`: the session, and that `video_file_chunk` starts exactly at the
 *   expected `start_offset` and does not go past `end_offset`; otherwise code 6001 with
 *   subcode 1363037 and the expected range in `error_data` (the answer Facebook's SDKs
 *   recover from). A chunk cut off mid-way is discarded, as Graph discards it. The fake
 *   picks the chunk sizes (`chunkSize`), as Graph does;
 * - `upload_phase=finish` with the whole file received, recording every other parameter
 *   (title, description, ...) with the video; `upload_phase=cancel`.
 *
 * Files are hashed while they stream in (each chunk continues a copy of the session's
 * running SHA-256, kept only when Graph would accept the chunk); nothing is stored.
 * Faults can be scripted: any Graph error answer (with usage headers for throttling), an
 * answer that is not Graph's format, a connection cut after N bytes of a chunk, expired
 * sessions and tokens, and a bandwidth limit.
 *
 * The text fields of a transfer must come before the chunk (Facebook's SDKs and the adapter
 * send them first); a chunk whose session is not known yet when it starts is refused.
 *
 * Known liberties: `minFileSize` can be lowered below Graph's 1 KB for shared tests that
 * upload empty files; finishing a finished session answers success again (what Graph does
 * is not documented); non-resumable uploads (`source`, `file_url`) are not implemented.
 */

export const FAKE_FACEBOOK_TOKEN = 'EAAfakeFacebookPageToken0123456789';

export type FakeGraphPhase = 'start' | 'transfer' | 'finish' | 'cancel';

/** The `error` object of a Graph answer. `{token}` in `message` is replaced by the request's token, as Graph echoes parameters. */
export interface FakeGraphError {
  message: string;
  type: string;
  code: number;
  error_subcode?: number;
  is_transient?: boolean;
  error_user_title?: string;
  error_user_msg?: string;
  error_data?: unknown;
}

/**
 * One scripted answer, taken by the next request it fits:
 * - `error`: a Graph error answer (for requests of `phase`, any phase when absent);
 * - `body`: an answer that is not Graph's (a proxy's 502 page);
 * - `destroyAfterBytes`: the connection of the next chunk is cut after that many chunk bytes.
 */
export type FakeGraphFault =
  | { phase?: FakeGraphPhase; status?: number; error: FakeGraphError; headers?: Record<string, string> }
  | { phase?: FakeGraphPhase; status: number; body: string; headers?: Record<string, string> }
  | { destroyAfterBytes: number };

export interface FakeGraphOptions {
  /** Valid access tokens; default `[FAKE_FACEBOOK_TOKEN]`. */
  tokens?: string[];
  /** Bytes of each range the fake asks for (default 4 MiB), or a function choosing each one. */
  chunkSize?: number | ((window: { startOffset: number; fileSize: number; index: number }) => number);
  /** Graph refuses videos under 1 KB (subcode 1363022); default 1024. */
  minFileSize?: number;
  /** Default 10 GiB, the resumable protocol's documented limit (subcode 1363023 above it). */
  maxFileSize?: number;
}

export interface FakeGraphChunk {
  startOffset: number;
  length: number;
}

export interface FakeGraphSession {
  uploadSessionId: string;
  videoId: string;
  token: string;
  version: string;
  fileSize: number;
  /** Bytes accepted, in order. */
  received: number;
  /** The range the fake asks for next. */
  startOffset: number;
  endOffset: number;
  state: 'open' | 'finished' | 'cancelled' | 'expired';
  chunks: FakeGraphChunk[];
  hash: Hash;
}

export interface FakeGraphVideo {
  videoId: string;
  uploadSessionId: string;
  version: string;
  size: number;
  sha256: string;
  /** Every parameter of the finish request except the protocol's own (title, description, name, caption, message, ...). */
  params: Record<string, string>;
  chunks: FakeGraphChunk[];
}

export interface FakeGraphRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  receivedAt: number;
  phase: string | undefined;
  /** Where the token came from; undefined without one. */
  tokenIn: 'header' | 'query' | 'form' | undefined;
  /** The query string (without access_token), for checks that secrets stay out of URLs. */
  query: string;
  /** Text parameters (query and body), access_token removed. */
  params: Record<string, string>;
  /** The chunk of a transfer: where it claimed to start and the bytes that arrived. */
  chunk: { startOffset: number | undefined; bytes: number } | undefined;
  /** Status answered; undefined while in flight or when the connection was cut. */
  status: number | undefined;
  /** Graph error code answered, if any. */
  errorCode: number | undefined;
  fault: FakeGraphFault | undefined;
}

export interface FakeGraph {
  /** `http://127.0.0.1:PORT`: the destination's `endpoint`. */
  readonly url: string;
  /** The first valid token. */
  readonly token: string;
  readonly requests: FakeGraphRequest[];
  readonly sessions: ReadonlyMap<string, FakeGraphSession>;
  /** Finished videos, in order. */
  readonly videos: FakeGraphVideo[];
  readonly videoCount: number;
  /** Requests not answered or closed yet: tests wait for 0 after an abort, since a chunk already in the server's buffers may still be taken. */
  readonly inFlight: number;
  /** Chunk bytes read off the wire so far, discarded chunks included. */
  bytesReceived(): number;
  /** Scripts the next answers; `null` entries are answered normally. Replaces earlier faults. */
  setFaults(faults: (FakeGraphFault | null)[]): void;
  /** Reads request bodies at most this fast (0: as fast as they come). */
  setThrottle(bytesPerSecond: number): void;
  /** Every open session times out (the next transfer or finish gets subcode 1363030). */
  expireSessions(): void;
  /** The token stops working (code 190, subcode 463). */
  expireToken(token: string): void;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
/** Bodies that are not chunks are a few fields; more is refused. */
const MAX_FORM_BYTES = 1024 * 1024;

export async function startFakeGraph(options: FakeGraphOptions = {}): Promise<FakeGraph> {
  const tokens = new Set(options.tokens ?? [FAKE_FACEBOOK_TOKEN]);
  const expiredTokens = new Set<string>();
  const chunkSize = options.chunkSize ?? 4 * MiB;
  const minFileSize = options.minFileSize ?? 1024;
  const maxFileSize = options.maxFileSize ?? 10 * 1024 * MiB;
  const requests: FakeGraphRequest[] = [];
  const sessions = new Map<string, FakeGraphSession>();
  const videos: FakeGraphVideo[] = [];
  let faults: (FakeGraphFault | null)[] = [];
  let throttle = 0;
  let chunkBytes = 0;
  let inFlight = 0;

  const nextWindow = (session: FakeGraphSession): void => {
    const start = session.received;
    const size = typeof chunkSize === 'function' ? chunkSize({ startOffset: start, fileSize: session.fileSize, index: session.chunks.length }) : chunkSize;
    session.startOffset = start;
    session.endOffset = Math.min(session.fileSize, start + Math.max(1, Math.floor(size)));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake-graph');
    const record: FakeGraphRequest = {
      method: req.method ?? '',
      path: url.pathname,
      receivedAt: Date.now(),
      phase: undefined,
      tokenIn: undefined,
      query: withoutToken(url.searchParams).toString(),
      params: {},
      chunk: undefined,
      status: undefined,
      errorCode: undefined,
      fault: undefined,
    };
    requests.push(record);
    inFlight += 1;
    res.once('close', () => (inFlight -= 1));
    req.on('error', () => undefined);
    throttled(req, record.receivedAt, () => throttle);

    const context: RequestContext = {
      req,
      res,
      record,
      url,
      takeDestroyFault: () => {
        const head = faults[0];
        if (head && 'destroyAfterBytes' in head) {
          faults.shift();
          record.fault = head;
          return head.destroyAfterBytes;
        }
        return undefined;
      },
      countChunkBytes: (n) => {
        chunkBytes += n;
      },
      sessions,
    };
    receiveBody(context).then(
      (body) => {
        if (req.socket.destroyed) return;
        answer(context, body);
      },
      (error: unknown) => {
        if (req.socket.destroyed) return;
        send(context, 400, graphError({ message: `(#100) Could not read the request body: ${(error as Error).message}`, type: 'OAuthException', code: 100 }));
      },
    );
  });

  /** After the body arrived: path, fault, token, then the phase. */
  function answer(context: RequestContext, body: ReceivedBody): void {
    const { record, url } = context;
    const params = { ...Object.fromEntries(url.searchParams), ...body.fields };
    const { token, tokenIn } = tokenOf(context.req, url.searchParams, body.fields);
    record.tokenIn = tokenIn;
    record.params = withoutTokenRecord(params);
    record.phase = params.upload_phase;

    const path = /^\/(v\d+\.\d+)\/me\/videos\/?$/.exec(url.pathname);
    if (!path) {
      return send(context, 400, graphError({ message: `Unknown path components: ${url.pathname}`, type: 'OAuthException', code: 2500 }));
    }
    const version = path[1]!;
    if (context.req.method !== 'POST') {
      return send(context, 400, graphError({ message: '(#100) This fake implements only POST uploads to /me/videos', type: 'OAuthException', code: 100 }));
    }

    const fault = takeAnswerFault(record.phase);
    if (fault) {
      record.fault = fault;
      if ('body' in fault) return sendRaw(context, fault.status, fault.body, fault.headers);
      const status = fault.status ?? defaultStatusOf(fault.error.code);
      return send(context, status, graphError({ ...fault.error, message: fault.error.message.replaceAll('{token}', token ?? '') }), fault.headers);
    }

    if (!token) {
      return send(context, 400, graphError({ message: 'An active access token must be used to query information about the current user.', type: 'OAuthException', code: 2500 }));
    }
    if (expiredTokens.has(token)) {
      return send(context, 400, graphError({ message: 'Error validating access token: Session has expired.', type: 'OAuthException', code: 190, error_subcode: 463 }), oauthChallenge('Session has expired'));
    }
    if (!tokens.has(token)) {
      return send(context, 400, graphError({ message: 'Invalid OAuth access token - Cannot parse access token', type: 'OAuthException', code: 190 }), oauthChallenge('Invalid OAuth access token'));
    }

    switch (record.phase) {
      case 'start':
        return start(context, params, token, version);
      case 'transfer':
        return transfer(context, params, token, body.chunk);
      case 'finish':
        return finish(context, params, token);
      case 'cancel': {
        const session = sessionOf(params, token);
        if (!session) return send(context, 400, invalidSession());
        session.state = 'cancelled';
        return send(context, 200, { success: true });
      }
      default:
        return send(context, 400, graphError({ message: '(#100) upload_phase must be one of start, transfer, finish, cancel', type: 'OAuthException', code: 100 }));
    }
  }

  function start(context: RequestContext, params: Record<string, string>, token: string, version: string): void {
    const text = params.file_size;
    if (text === undefined || !/^\d{1,16}$/.test(text)) {
      return send(context, 400, graphError({ message: '(#100) The parameter file_size is required', type: 'OAuthException', code: 100 }));
    }
    const fileSize = Number(text);
    if (fileSize < minFileSize) {
      return send(
        context,
        400,
        graphError({
          message: 'There was a problem uploading your video file. Please try again with another file.',
          type: 'OAuthException',
          code: 6000,
          error_subcode: 1363022,
          is_transient: false,
          error_user_title: 'Video Too Small',
          error_user_msg: 'The video you tried to upload is too small. The minimum size for a video is 1 KB. Please try again with a larger file.',
        }),
      );
    }
    if (fileSize > maxFileSize) {
      return send(
        context,
        400,
        graphError({
          message: 'There was a problem uploading your video file. Please try again with another file.',
          type: 'OAuthException',
          code: 6000,
          error_subcode: 1363023,
          is_transient: false,
          error_user_title: 'Video Too Large',
          error_user_msg: 'The video you tried to upload is too large. Please try again with a smaller file.',
        }),
      );
    }
    const session: FakeGraphSession = {
      uploadSessionId: graphId(),
      videoId: graphId(),
      token,
      version,
      fileSize,
      received: 0,
      startOffset: 0,
      endOffset: 0,
      state: 'open',
      chunks: [],
      hash: createHash('sha256'),
    };
    nextWindow(session);
    sessions.set(session.uploadSessionId, session);
    send(context, 200, {
      video_id: session.videoId,
      start_offset: String(session.startOffset),
      end_offset: String(session.endOffset),
      upload_session_id: session.uploadSessionId,
    });
  }

  function transfer(context: RequestContext, params: Record<string, string>, token: string, chunk: ReceivedChunk | undefined): void {
    const session = sessionOf(params, token);
    if (!session || session.state === 'cancelled' || session.state === 'finished') return send(context, 400, invalidSession());
    if (session.state === 'expired') return send(context, 400, uploadTimedOut());
    if (!chunk || chunk.bytes === 0) {
      return send(
        context,
        400,
        graphError({
          message: 'There was a problem uploading your video file. Please try again with another file.',
          type: 'OAuthException',
          code: 6000,
          error_subcode: 1363020,
          error_user_title: 'No Video Selected',
          error_user_msg: 'Please select the video you want to upload.',
        }),
      );
    }
    const claimed = /^\d{1,16}$/.test(params.start_offset ?? '') ? Number(params.start_offset) : undefined;
    const fits = claimed === session.startOffset && chunk.startedAt === session.startOffset && chunk.bytes <= session.endOffset - session.startOffset;
    if (!fits || !chunk.hash) {
      return send(
        context,
        400,
        graphError({
          message: 'There was a problem uploading your video. Please try uploading it again.',
          type: 'OAuthException',
          code: 6001,
          error_subcode: 1363037,
          is_transient: false,
          error_data: { start_offset: session.startOffset, end_offset: session.endOffset },
        }),
      );
    }
    session.hash = chunk.hash;
    session.received += chunk.bytes;
    session.chunks.push({ startOffset: session.startOffset, length: chunk.bytes });
    nextWindow(session);
    send(context, 200, { start_offset: String(session.startOffset), end_offset: String(session.endOffset) });
  }

  function finish(context: RequestContext, params: Record<string, string>, token: string): void {
    const session = sessionOf(params, token);
    if (!session || session.state === 'cancelled') return send(context, 400, invalidSession());
    if (session.state === 'expired') return send(context, 400, uploadTimedOut());
    if (session.state === 'finished') return send(context, 200, { success: true });
    if (session.received !== session.fileSize) {
      return send(
        context,
        400,
        graphError({
          message: 'There was a problem uploading your video. Please try uploading it again.',
          type: 'OAuthException',
          code: 6001,
          error_subcode: 1363019,
          is_transient: false,
          error_user_msg: `Only ${session.received} of ${session.fileSize} bytes arrived before finish.`,
        }),
      );
    }
    session.state = 'finished';
    const { upload_phase: _phase, upload_session_id: _session, ...rest } = withoutTokenRecord(params);
    videos.push({
      videoId: session.videoId,
      uploadSessionId: session.uploadSessionId,
      version: session.version,
      size: session.received,
      sha256: session.hash.digest('hex'),
      params: rest,
      chunks: session.chunks,
    });
    send(context, 200, { success: true });
  }

  function sessionOf(params: Record<string, string>, token: string): FakeGraphSession | undefined {
    const session = sessions.get(params.upload_session_id ?? '');
    return session && session.token === token ? session : undefined;
  }

  function takeAnswerFault(phase: string | undefined): Exclude<FakeGraphFault, { destroyAfterBytes: number }> | undefined {
    const head = faults[0];
    if (head === null) {
      faults.shift();
      return undefined;
    }
    if (!head || 'destroyAfterBytes' in head) return undefined;
    if (head.phase !== undefined && head.phase !== phase) return undefined;
    faults.shift();
    return head;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token: [...tokens][0] ?? FAKE_FACEBOOK_TOKEN,
    requests,
    sessions,
    videos,
    get videoCount() {
      return videos.length;
    },
    get inFlight() {
      return inFlight;
    },
    bytesReceived: () => chunkBytes,
    setFaults(list) {
      faults = [...list];
    },
    setThrottle(bytesPerSecond) {
      throttle = Math.max(0, bytesPerSecond);
    },
    expireSessions() {
      for (const session of sessions.values()) if (session.state === 'open') session.state = 'expired';
    },
    expireToken(token) {
      expiredTokens.add(token);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Graph answers that tests script often, in Graph's words. */
export const fakeGraphErrors = {
  /** 190: the token is invalid or revoked. */
  invalidToken: (phase?: FakeGraphPhase): FakeGraphFault => ({
    ...(phase ? { phase } : {}),
    error: { message: 'Error validating access token: The user has not authorized application 1234567890.', type: 'OAuthException', code: 190, error_subcode: 458 },
    headers: oauthChallenge('The user has not authorized application'),
  }),
  /** 4: application request limit, with the app's usage in X-App-Usage (percentages, no time). */
  appThrottled: (phase?: FakeGraphPhase): FakeGraphFault => ({
    ...(phase ? { phase } : {}),
    error: { message: '(#4) Application request limit reached', type: 'OAuthException', code: 4, is_transient: true },
    headers: { 'x-app-usage': JSON.stringify({ call_count: 100, total_cputime: 37, total_time: 61 }) },
  }),
  /** 32: Page request limit, with the Page's Business Use Case usage and the minutes until access returns. */
  pageThrottled: (minutesToRegainAccess: number, phase?: FakeGraphPhase): FakeGraphFault => ({
    ...(phase ? { phase } : {}),
    error: { message: '(#32) Page request limit reached', type: 'OAuthException', code: 32, is_transient: true },
    headers: {
      'x-business-use-case-usage': JSON.stringify({
        '104727284962521': [{ type: 'pages', call_count: 100, total_cputime: 22, total_time: 48, estimated_time_to_regain_access: minutesToRegainAccess }],
      }),
    },
  }),
  /** Code 2 with HTTP 500: Graph's "try again later". */
  serviceUnavailable: (phase?: FakeGraphPhase): FakeGraphFault => ({
    ...(phase ? { phase } : {}),
    status: 500,
    error: { message: 'An unexpected error has occurred. Please retry your request later.', type: 'OAuthException', code: 2, is_transient: true },
  }),
  /** 100: a parameter Graph refuses; `{token}` shows Graph echoing parameters back. */
  invalidParameter: (message = '(#100) Invalid parameter', phase?: FakeGraphPhase): FakeGraphFault => ({
    ...(phase ? { phase } : {}),
    error: { message, type: 'OAuthException', code: 100 },
  }),
  /** 200: the token may not publish here. */
  permissionDenied: (phase?: FakeGraphPhase): FakeGraphFault => ({
    ...(phase ? { phase } : {}),
    status: 403,
    error: { message: '(#200) The user hasn\'t authorized the application to perform this action', type: 'OAuthException', code: 200 },
  }),
};

interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  record: FakeGraphRequest;
  url: URL;
  /** A `destroyAfterBytes` fault at the head of the queue, taken when a chunk starts. */
  takeDestroyFault(): number | undefined;
  countChunkBytes(n: number): void;
  sessions: Map<string, FakeGraphSession>;
}

interface ReceivedChunk {
  /** The session's expected offset when the chunk began (the copy of its hash continues from there). */
  startedAt: number | undefined;
  bytes: number;
  /** The session's hash continued with this chunk; undefined when the session was not known before the chunk. */
  hash: Hash | undefined;
}

interface ReceivedBody {
  fields: Record<string, string>;
  chunk: ReceivedChunk | undefined;
}

function receiveBody(context: RequestContext): Promise<ReceivedBody> {
  const { req } = context;
  const type = req.headers['content-type'] ?? '';
  if (/^multipart\/form-data/i.test(type)) return receiveMultipart(context);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        reject(new Error('body too large for form fields'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (/^application\/json/i.test(type)) {
        try {
          const parsed = JSON.parse(text || '{}') as Record<string, unknown>;
          resolve({ fields: Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])), chunk: undefined });
        } catch (error) {
          reject(error as Error);
        }
        return;
      }
      resolve({ fields: Object.fromEntries(new URLSearchParams(text)), chunk: undefined });
    });
  });
}

/** multipart/form-data: text fields, and `video_file_chunk` hashed as it streams. */
function receiveMultipart(context: RequestContext): Promise<ReceivedBody> {
  const { req, record } = context;
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let chunk: ReceivedChunk | undefined;
    let chunkDone: Promise<void> = Promise.resolve();
    const parser = busboy({ headers: req.headers, defParamCharset: 'utf8' });
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (field, stream) => {
      if (field !== 'video_file_chunk' || chunk) {
        stream.resume();
        return;
      }
      // The session's running hash continues in a copy: the chunk counts only if Graph would accept it.
      const session = context.sessions.get(fields.upload_session_id ?? '');
      const current: ReceivedChunk = { startedAt: session?.startOffset, bytes: 0, hash: session?.state === 'open' ? session.hash.copy() : undefined };
      chunk = current;
      record.chunk = { startOffset: /^\d+$/.test(fields.start_offset ?? '') ? Number(fields.start_offset) : undefined, bytes: 0 };
      const destroyAfter = context.takeDestroyFault();
      chunkDone = new Promise<void>((done, failed) => {
        stream.on('data', (data: Buffer) => {
          current.bytes += data.length;
          record.chunk!.bytes += data.length;
          context.countChunkBytes(data.length);
          current.hash?.update(data);
          if (destroyAfter !== undefined && current.bytes >= destroyAfter) req.socket.destroy();
        });
        stream.on('error', failed);
        stream.on('end', () => done());
      });
      // Awaited when the parser closes; a cut connection may fail it before anyone waits.
      chunkDone.catch(() => undefined);
    });
    parser.on('error', reject);
    parser.on('close', () => {
      chunkDone.then(() => resolve({ fields, chunk }), reject);
    });
    req.on('aborted', () => parser.destroy(new Error('client aborted')));
    req.pipe(parser);
  });
}

/** Pauses the request until the bytes so far fit the rate; TCP backpressure slows the client down. */
function throttled(req: IncomingMessage, startedAt: number, rate: () => number): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    const bytesPerSecond = rate();
    if (bytesPerSecond <= 0) return;
    const wait = startedAt + (bytes / bytesPerSecond) * 1000 - Date.now();
    if (wait > 0) {
      req.pause();
      setTimeout(() => req.resume(), wait).unref();
    }
  });
}

function tokenOf(req: IncomingMessage, query: URLSearchParams, fields: Record<string, string>): { token: string | undefined; tokenIn: FakeGraphRequest['tokenIn'] } {
  const header = /^(?:OAuth|Bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (header?.[1]) return { token: header[1], tokenIn: 'header' };
  const fromQuery = query.get('access_token');
  if (fromQuery) return { token: fromQuery, tokenIn: 'query' };
  if (fields.access_token) return { token: fields.access_token, tokenIn: 'form' };
  return { token: undefined, tokenIn: undefined };
}

function send(context: RequestContext, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const error = (body as { error?: { code?: number } }).error;
  context.record.errorCode = error?.code;
  sendRaw(context, status, JSON.stringify(body), { 'content-type': 'application/json; charset=UTF-8', ...headers });
}

function sendRaw(context: RequestContext, status: number, body: string, headers: Record<string, string> = {}): void {
  const { res, record } = context;
  if (res.headersSent || res.destroyed) return;
  record.status = status;
  res.writeHead(status, {
    'x-fb-trace-id': fbtraceId(),
    'x-fb-rev': '1012345678',
    'facebook-api-version': /^\/(v\d+\.\d+)\//.exec(record.path)?.[1] ?? 'v21.0',
    ...headers,
  });
  res.end(body);
}

function graphError(error: FakeGraphError): { error: FakeGraphError & { fbtrace_id: string } } {
  return { error: { ...error, fbtrace_id: fbtraceId() } };
}

function invalidSession(): { error: FakeGraphError } {
  return graphError({ message: '(#100) Invalid upload_session_id', type: 'OAuthException', code: 100 });
}

function uploadTimedOut(): { error: FakeGraphError } {
  return graphError({
    message: 'There was a problem uploading your video. Please try uploading it again.',
    type: 'OAuthException',
    code: 390,
    error_subcode: 1363030,
    is_transient: true,
    error_user_title: 'Video Upload Time Out',
    error_user_msg: 'Your video upload timed out before it could be completed. This is probably because of a slow network connection or because the video you\'re trying to upload is too large. Please try again.',
  });
}

/** Graph answers most errors with 400 and server-side failures (codes 1 and 2) with 500. */
function defaultStatusOf(code: number): number {
  return code === 1 || code === 2 ? 500 : 400;
}

function oauthChallenge(reason: string): Record<string, string> {
  return { 'www-authenticate': `OAuth "Facebook Platform" "invalid_token" "${reason}"` };
}

function withoutToken(params: URLSearchParams): URLSearchParams {
  const copy = new URLSearchParams(params);
  copy.delete('access_token');
  return copy;
}

function withoutTokenRecord(params: Record<string, string>): Record<string, string> {
  const { access_token: _token, ...rest } = params;
  return rest;
}

/** Graph ids are 15-17 digit numbers, sent as strings. */
function graphId(): string {
  return `${randomInt(1, 10)}${String(randomInt(0, 2 ** 47)).padStart(15, '0')}`;
}

function fbtraceId(): string {
  return randomBytes(8).toString('base64url');
}
