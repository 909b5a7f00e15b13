import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Dropbox API v2 content-upload endpoints the fleet uses:
 * files/upload, files/upload_session/start, files/upload_session/append_v2 and
 * files/upload_session/finish. It is a real node:http server on 127.0.0.1 that checks what
 * Dropbox checks and answers in Dropbox's formats:
 *
 * - `Authorization: Bearer <token>`: missing or not Bearer -> 400 (plain text); unknown ->
 *   401 `invalid_access_token`; expired -> 401 `expired_access_token` (a token list that
 *   tests can expire, or a validator, so an OAuth fake can decide);
 * - `Dropbox-API-Arg`: JSON, ASCII only (non-ASCII must be escaped as \uXXXX, as the SDK
 *   does), with the fields each endpoint requires -> 400 (plain text) otherwise;
 * - `Content-Type: application/octet-stream` -> 400 otherwise;
 * - at most 150 MiB of data per request -> 409 `payload_too_large`;
 * - sessions: the cursor's offset must be where the session stands -> 409
 *   `incorrect_offset` with `correct_offset`; unknown or expired sessions (7 days, or
 *   `expireSessions()`) -> `not_found`; a finished session is gone;
 * - `content_hash` of a request, when given, must match the request's data ->
 *   `content_hash_mismatch`;
 * - commits: write modes add / overwrite / update(rev), `autorename`, `strict_conflict`,
 *   conflicts with files, folders and file ancestors, malformed paths, disallowed names,
 *   the account's quota (`insufficient_space`).
 *
 * Files are not kept, only their size, SHA-256 and Dropbox content hash, computed while
 * the bytes stream in (a 300 MiB upload never sits in memory). A request that breaks off
 * changes nothing: its data is hashed into copies of the session's hashers, kept only when
 * the whole body arrived.
 *
 * Endpoint errors are 409 with `{ error_summary, error }` where `error` is the tagged
 * union (`.tag`), and `error_summary` its tags joined by "/" and padded with a varying
 * number of dots, as Dropbox does so that clients read `error`, not the summary.
 *
 * References: https://www.dropbox.com/developers/documentation/http/documentation
 * (files/upload, upload_session/*, "Errors"), https://www.dropbox.com/developers/reference/content-hash,
 * https://www.dropbox.com/developers/reference/data-ingress-guide (429 answers).
 *
 * Not modelled: RPC endpoints (api.dropboxapi.com answers 400 for everything), concurrent
 * sessions, finish_batch, `ns:` and `id:` paths, folder creation as its own operation
 * (folders exist implicitly as parents of files).
 */

const MiB = 1024 * 1024;
/** Dropbox's limit on the data of one request (files/upload, and each session request). */
export const DROPBOX_REQUEST_LIMIT_BYTES = 150 * MiB;
/** The block size of Dropbox's content hash. */
export const DROPBOX_HASH_BLOCK_BYTES = 4 * MiB;
/** How long an upload session may be used. */
export const DROPBOX_SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** The token a fake accepts unless told otherwise. */
export const DROPBOX_FAKE_TOKEN = 'sl.fake-dropbox-access-token';

/** Names Dropbox refuses to store (it ignores them when syncing, and the API says disallowed_name). */
const DISALLOWED_NAMES = new Set(['desktop.ini', 'thumbs.db', '.ds_store', 'icon\r', '.dropbox', '.dropbox.attr']);
/** What files/upload's `path` must match (WritePathOrId); anything else is a 400. */
const PATH_PATTERN = /^((\/[\s\S]*)|(ns:[0-9]+(\/.*)?)|(id:.*))$/;

export type DropboxEndpoint = 'upload' | 'upload_session/start' | 'upload_session/append_v2' | 'upload_session/finish';

const ENDPOINTS: Record<string, DropboxEndpoint> = {
  'files/upload': 'upload',
  'files/upload_session/start': 'upload_session/start',
  'files/upload_session/append_v2': 'upload_session/append_v2',
  'files/upload_session/finish': 'upload_session/finish',
};

export interface DropboxFakeOptions {
  /** Access tokens the fake accepts; default [DROPBOX_FAKE_TOKEN]. */
  tokens?: string[];
  /**
   * Decides about every token instead of `tokens` (for an OAuth fake to plug in): true
   * valid, false unknown (401 invalid_access_token), 'expired' (401 expired_access_token).
   */
  validateToken?: (token: string) => boolean | 'expired' | Promise<boolean | 'expired'>;
  /** Bytes the account may hold; beyond it commits fail with insufficient_space. Default: no limit. */
  quotaBytes?: number;
}

/**
 * A scripted answer instead of the normal one, for the next `times` requests (default 1)
 * of the given endpoints (default: any). The body is read completely first (as Dropbox
 * does), except for `dropAfterBytes`.
 * - `rateLimit`: 429 with Retry-After and a RateLimitError body (`too_many_write_operations`
 *   by default, or `too_many_requests`); `plainText` sends the text body Dropbox also uses;
 * - `expiredToken`: 401 expired_access_token, whatever the token;
 * - `status`: any status (5xx: a plain-text body unless `body` is given);
 * - `insufficientSpace`: the commit fails with insufficient_space (upload and finish only;
 *   a finish appends its data first, as Dropbox does);
 * - `commitError`: the commit fails with this WriteError tag (`too_many_write_operations`,
 *   `no_write_permission`, ...), likewise after a finish appended its data;
 * - `dropAfterBytes`: the connection is destroyed once this many body bytes arrived;
 *   nothing of the request is kept;
 * - `loseAnswer`: the request is carried out completely, then the connection is destroyed
 *   instead of answering (a commit whose answer the client never sees).
 */
export type DropboxFault = { endpoint?: DropboxEndpoint | DropboxEndpoint[]; times?: number } & (
  | { rateLimit: 'too_many_write_operations' | 'too_many_requests'; retryAfterSeconds?: number; plainText?: boolean }
  | { expiredToken: true }
  | { status: number; body?: string; headers?: Record<string, string> }
  | { insufficientSpace: true }
  | { commitError: string }
  | { dropAfterBytes: number }
  | { loseAnswer: true }
);

/** A file the fake holds. Field names follow Dropbox's FileMetadata. */
export interface DropboxFakeFile {
  id: string;
  name: string;
  path_lower: string;
  path_display: string;
  rev: string;
  size: number;
  content_hash: string;
  /** SHA-256 of the whole file, hex (not a Dropbox field; for tests). */
  sha256: string;
  client_modified: string;
  server_modified: string;
  /** Commits that wrote this file (1 for a new file; overwrites add one). */
  revisions: number;
}

export interface DropboxFakeSession {
  id: string;
  createdAt: number;
  /** Bytes appended so far. */
  offset: number;
  closed: boolean;
  /** Set when a finish committed it; the session no longer exists for lookups. */
  finished: boolean;
}

export interface DropboxFakeRequest {
  endpoint: DropboxEndpoint | string;
  /** Dropbox-API-Arg as parsed (undefined when it was missing or invalid). */
  arg: Record<string, unknown> | undefined;
  token: string | undefined;
  receivedAt: number;
  /** Body bytes read off the wire. */
  bodyBytes: number;
  /** The status answered; 0 when the connection was cut instead. */
  status: number;
  /** The error's tags (`path/insufficient_space`) for 4xx JSON answers. */
  errorSummary: string | undefined;
  fault: DropboxFault | undefined;
}

export interface DropboxFake {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Base of the RPC endpoints (stands for https://api.dropboxapi.com/2). */
  readonly apiBaseUrl: string;
  /** Base of the content endpoints (stands for https://content.dropboxapi.com/2). */
  readonly contentBaseUrl: string;
  /** The first token of `tokens`: valid unless expired by a test. */
  readonly token: string;
  readonly requests: DropboxFakeRequest[];
  readonly sessions: Map<string, DropboxFakeSession>;
  /** The file at `path` (any case, leading slash optional), or undefined. */
  file(path: string): DropboxFakeFile | undefined;
  /** Every file, sorted by path. */
  files(): DropboxFakeFile[];
  /**
   * New files created by commits that asked for `path` (any case): 1 after any number of
   * overwrites; 2 when a retried commit in add mode with autorename made "name (1).ext".
   */
  filesCreated(path: string): number;
  /** File bytes received since start (all upload endpoints, broken requests included). */
  bytesReceived(): number;
  /** Reads request bodies at most this many bytes per second (0: full speed). */
  throttle(bytesPerSecond: number): void;
  /** Scripts the next requests (see DropboxFault); replaces faults not used yet. */
  setFaults(faults: DropboxFault[]): void;
  addToken(token: string): void;
  /** The token is answered 401 expired_access_token from now on. */
  expireToken(token: string): void;
  /** Every open session is expired (as after 7 days). */
  expireSessions(): void;
  setQuota(bytes: number | undefined): void;
  close(): Promise<void>;
}

export async function startDropboxFake(options: DropboxFakeOptions = {}): Promise<DropboxFake> {
  const tokens = new Map<string, 'valid' | 'expired'>((options.tokens ?? [DROPBOX_FAKE_TOKEN]).map((t) => [t, 'valid']));
  const state: FakeState = {
    files: new Map(),
    created: new Map(),
    sessions: new Map(),
    hashers: new Map(),
    requests: [],
    faults: [],
    throttle: 0,
    bytesReceived: 0,
    quotaBytes: options.quotaBytes,
    validate: async (token) => {
      if (options.validateToken) {
        const verdict = await options.validateToken(token);
        return verdict === 'expired' ? 'expired' : verdict ? 'valid' : 'invalid';
      }
      return tokens.get(token) ?? 'invalid';
    },
  };

  const server = createServer((req, res) => {
    handle(state, req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`fake failure: ${(error as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    apiBaseUrl: `${url}/api/2`,
    contentBaseUrl: `${url}/content/2`,
    token: [...tokens.keys()][0] ?? DROPBOX_FAKE_TOKEN,
    requests: state.requests,
    sessions: state.sessions,
    file: (path) => state.files.get(lowerOf(path.startsWith('/') ? path : `/${path}`)),
    files: () => [...state.files.values()].sort((a, b) => a.path_lower.localeCompare(b.path_lower)),
    filesCreated: (path) => state.created.get(lowerOf(path.startsWith('/') ? path : `/${path}`)) ?? 0,
    bytesReceived: () => state.bytesReceived,
    throttle(bytesPerSecond) {
      state.throttle = Math.max(0, bytesPerSecond);
    },
    setFaults(faults) {
      state.faults = faults.map((f) => ({ fault: f, left: f.times ?? 1 }));
    },
    addToken: (token) => void tokens.set(token, 'valid'),
    expireToken: (token) => void tokens.set(token, 'expired'),
    expireSessions() {
      for (const session of state.sessions.values()) session.createdAt -= DROPBOX_SESSION_TTL_MS + 1;
    },
    setQuota(bytes) {
      state.quotaBytes = bytes;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- request handling --------------------------------------------------------------

interface FakeState {
  files: Map<string, DropboxFakeFile>;
  /** New files per requested path (lower case). */
  created: Map<string, number>;
  sessions: Map<string, DropboxFakeSession>;
  /** The data hashers of each session, beside the public session record. */
  hashers: Map<string, DataHashers>;
  requests: DropboxFakeRequest[];
  faults: { fault: DropboxFault; left: number }[];
  throttle: number;
  bytesReceived: number;
  quotaBytes: number | undefined;
  validate(token: string): Promise<'valid' | 'expired' | 'invalid'>;
}

interface Answer {
  status: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

async function handle(state: FakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const record: DropboxFakeRequest = {
    endpoint: '',
    arg: undefined,
    token: undefined,
    receivedAt: Date.now(),
    bodyBytes: 0,
    status: 0,
    errorSummary: undefined,
    fault: undefined,
  };
  state.requests.push(record);
  req.on('error', () => undefined);

  const path = (req.url ?? '').split('?')[0] ?? '';
  const content = /^\/content\/2\/(.+)$/.exec(path);
  const rpc = /^\/api\/2\/(.+)$/.exec(path);
  const route = content?.[1] ?? rpc?.[1] ?? path;
  record.endpoint = ENDPOINTS[route] ?? route;

  const reply = (answer: Answer) => {
    record.status = answer.status;
    const headers: Record<string, string> = { ...answer.headers };
    let body: string;
    if (answer.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(answer.json);
      const summary = answer.json === null ? undefined : (answer.json as { error_summary?: unknown }).error_summary;
      if (typeof summary === 'string') record.errorSummary = summary.replace(/\/\.*$/, '');
    } else {
      headers['content-type'] ??= 'text/plain; charset=utf-8';
      body = answer.text ?? '';
    }
    if (!res.destroyed) res.writeHead(answer.status, headers).end(body);
  };
  /** Dropbox reads the request before answering errors; so does the fake (the client would otherwise see a reset). */
  const drainThen = async (answer: Answer) => {
    await readBody(state, req, record, undefined, () => undefined);
    reply(answer);
  };

  if (req.method !== 'POST') return drainThen({ status: 405, text: 'Dropbox API endpoints take POST' });
  if (rpc) return drainThen({ status: 400, text: `Error in call to API function "${route}": This is not an RPC endpoint of this fake; content endpoints are under ${'/content/2/'}` });
  if (!content || !ENDPOINTS[route]) return drainThen({ status: 404, text: `Unknown API function: "${route}"` });
  const endpoint = ENDPOINTS[route] as DropboxEndpoint;
  const where = `Error in call to API function "${route}"`;

  // Authorization, as Dropbox checks it: a Bearer header, then the token.
  const authorization = req.headers.authorization;
  const bearer = /^Bearer (\S+)$/.exec(authorization ?? '');
  if (!authorization) return drainThen({ status: 400, text: `${where}: Must provide HTTP header "Authorization" or URL parameter "authorization".` });
  if (!bearer?.[1]) return drainThen({ status: 400, text: `${where}: Invalid authorization value in HTTP header "Authorization". Expecting "Bearer <oauth2-access-token>".` });
  record.token = bearer[1];

  const fault = takeFault(state, endpoint);
  record.fault = fault;
  if (fault && 'expiredToken' in fault) return drainThen(authError('expired_access_token'));
  const verdict = await state.validate(bearer[1]);
  if (verdict !== 'valid') return drainThen(authError(verdict === 'expired' ? 'expired_access_token' : 'invalid_access_token'));

  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/octet-stream\s*(;.*)?$/i.test(contentType) && contentType !== 'text/plain; charset=dropbox-cors-hack') {
    return drainThen({
      status: 400,
      text: `${where}: Bad HTTP "Content-Type" header: "${contentType}".  Expecting one of "application/octet-stream", "text/plain; charset=dropbox-cors-hack".`,
    });
  }

  const argHeader = req.headers['dropbox-api-arg'];
  if (typeof argHeader !== 'string') return drainThen({ status: 400, text: `${where}: Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".` });
  // HTTP headers are ASCII: clients must escape everything else as \uXXXX.
  if (/[^\x20-\x7e]/.test(argHeader)) {
    return drainThen({ status: 400, text: `${where}: HTTP header "Dropbox-API-Arg": could not decode input as JSON (non-ASCII characters must be escaped)` });
  }
  let arg: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(argHeader);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    arg = parsed as Record<string, unknown>;
  } catch {
    return drainThen({ status: 400, text: `${where}: HTTP header "Dropbox-API-Arg": could not decode input as JSON` });
  }
  record.arg = arg;
  const argProblem = checkArg(endpoint, arg);
  if (argProblem) return drainThen({ status: 400, text: `${where}: HTTP header "Dropbox-API-Arg": ${argProblem}` });

  // The body: hashed into copies of the session's hashers, kept only once complete.
  const sessionId = endpoint === 'upload' || endpoint === 'upload_session/start' ? undefined : String((arg.cursor as { session_id: unknown }).session_id);
  const base = sessionId !== undefined ? state.hashers.get(sessionId) : undefined;
  const whole = base ? base.copy() : new DataHashers();
  const request = new DataHashers();
  const outcome = await readBody(state, req, record, fault && 'dropAfterBytes' in fault ? fault.dropAfterBytes : undefined, (chunk) => {
    if (record.bodyBytes <= DROPBOX_REQUEST_LIMIT_BYTES) {
      whole.update(chunk);
      request.update(chunk);
    }
  });
  if (outcome === 'broken') return;

  let answer: Answer;
  if (fault && 'rateLimit' in fault) {
    answer = rateLimited(fault.rateLimit, fault.retryAfterSeconds ?? 1, fault.plainText === true);
  } else if (fault && 'status' in fault) {
    answer = { status: fault.status, text: fault.body ?? `${fault.status} fake server error`, headers: fault.headers ?? {} };
  } else {
    const commitError = fault && 'insufficientSpace' in fault ? 'insufficient_space' : fault && 'commitError' in fault ? fault.commitError : undefined;
    answer = carryOut(state, endpoint, arg, record.bodyBytes, whole, request, commitError);
  }
  if (fault && 'loseAnswer' in fault) {
    record.status = 0;
    req.socket.destroy();
    return;
  }
  reply(answer);
}

function takeFault(state: FakeState, endpoint: DropboxEndpoint): DropboxFault | undefined {
  const entry = state.faults.find(({ fault }) => {
    if (fault.endpoint === undefined) return true;
    return Array.isArray(fault.endpoint) ? fault.endpoint.includes(endpoint) : fault.endpoint === endpoint;
  });
  if (!entry) return undefined;
  entry.left -= 1;
  if (entry.left <= 0) state.faults.splice(state.faults.indexOf(entry), 1);
  return entry.fault;
}

/** The fields each endpoint requires in Dropbox-API-Arg; a problem is a 400, as at Dropbox. */
function checkArg(endpoint: DropboxEndpoint, arg: Record<string, unknown>): string | undefined {
  const hash = arg.content_hash;
  if (hash !== undefined && (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash))) return `content_hash: '${String(hash)}' did not match pattern '[0-9a-f]{64}'`;
  const checkCommit = (commit: unknown, prefix: string): string | undefined => {
    if (commit === null || typeof commit !== 'object') return `${prefix}missing required field`;
    const c = commit as Record<string, unknown>;
    if (typeof c.path !== 'string') return `${prefix}path: missing required field 'path'`;
    if (!PATH_PATTERN.test(c.path)) return `${prefix}path: '${c.path}' did not match pattern '(/(.|[\\r\\n])*)|(ns:[0-9]+(/.*)?)|(id:.*)'`;
    if (c.mode !== undefined && modeOf(c.mode) === undefined) return `${prefix}mode: unknown tag`;
    return undefined;
  };
  const checkCursor = (cursor: unknown): string | undefined => {
    if (cursor === null || typeof cursor !== 'object') return "cursor: missing required field 'cursor'";
    const c = cursor as Record<string, unknown>;
    if (typeof c.session_id !== 'string') return "cursor.session_id: missing required field 'session_id'";
    if (typeof c.offset !== 'number' || !Number.isInteger(c.offset) || c.offset < 0) return 'cursor.offset: expected an unsigned integer';
    return undefined;
  };
  switch (endpoint) {
    case 'upload':
      return checkCommit(arg, '');
    case 'upload_session/start':
      if (arg.session_type !== undefined && tagOf(arg.session_type) !== 'sequential') return 'session_type: this fake supports sequential sessions only';
      return undefined;
    case 'upload_session/append_v2':
      return checkCursor(arg.cursor);
    case 'upload_session/finish':
      return checkCursor(arg.cursor) ?? checkCommit(arg.commit, 'commit.');
  }
}

/** The endpoint's work once the whole body arrived. */
function carryOut(
  state: FakeState,
  endpoint: DropboxEndpoint,
  arg: Record<string, unknown>,
  bodyBytes: number,
  whole: DataHashers,
  request: DataHashers,
  commitError: string | undefined,
): Answer {
  if (bodyBytes > DROPBOX_REQUEST_LIMIT_BYTES) return endpointError(['payload_too_large'], { '.tag': 'payload_too_large' });
  if (typeof arg.content_hash === 'string' && arg.content_hash !== request.contentHash()) {
    return endpointError(['content_hash_mismatch'], { '.tag': 'content_hash_mismatch' });
  }

  if (endpoint === 'upload') {
    const result = commit(state, arg, whole, bodyBytes, commitError);
    if ('reason' in result) return endpointError(['path', ...result.tags], { '.tag': 'path', reason: result.reason, upload_session_id: randomId() });
    return { status: 200, json: result.metadata };
  }

  if (endpoint === 'upload_session/start') {
    const id = randomId();
    state.sessions.set(id, { id, createdAt: Date.now(), offset: bodyBytes, closed: arg.close === true, finished: false });
    state.hashers.set(id, whole);
    return { status: 200, json: { session_id: id } };
  }

  const cursor = arg.cursor as { session_id: string; offset: number };
  const session = state.sessions.get(cursor.session_id);
  const lookup = lookupProblem(session, cursor.offset, endpoint === 'upload_session/append_v2');
  if (endpoint === 'upload_session/append_v2') {
    if (lookup) return endpointError(lookup.tags, lookup.error);
    const s = session as DropboxFakeSession;
    s.offset += bodyBytes;
    if (arg.close === true) s.closed = true;
    state.hashers.set(s.id, whole);
    return { status: 200, json: null };
  }

  // finish: the data is appended first; a failed commit leaves it in the session.
  if (lookup) return endpointError(['lookup_failed', ...lookup.tags], { '.tag': 'lookup_failed', lookup_failed: lookup.error });
  const s = session as DropboxFakeSession;
  s.offset += bodyBytes;
  s.closed = true;
  state.hashers.set(s.id, whole);
  const result = commit(state, arg.commit as Record<string, unknown>, whole, s.offset, commitError);
  if ('reason' in result) return endpointError(['path', ...result.tags], { '.tag': 'path', path: result.reason });
  s.finished = true;
  state.sessions.delete(s.id);
  state.hashers.delete(s.id);
  return { status: 200, json: result.metadata };
}

/** UploadSessionLookupError for a cursor, or undefined when the session may take data at this offset. */
function lookupProblem(session: DropboxFakeSession | undefined, offset: number, appending: boolean): { tags: string[]; error: Record<string, unknown> } | undefined {
  if (!session || session.finished || Date.now() - session.createdAt > DROPBOX_SESSION_TTL_MS) return { tags: ['not_found'], error: { '.tag': 'not_found' } };
  if (offset !== session.offset) return { tags: ['incorrect_offset'], error: { '.tag': 'incorrect_offset', correct_offset: session.offset } };
  if (appending && session.closed) return { tags: ['closed'], error: { '.tag': 'closed' } };
  return undefined;
}

type CommitResult = { metadata: Omit<DropboxFakeFile, 'sha256' | 'revisions'> & { is_downloadable: true } } | { reason: Record<string, unknown>; tags: string[] };

/** Saves a file as CommitInfo asks: write mode, autorename, conflicts, path rules, quota. */
function commit(state: FakeState, info: Record<string, unknown>, data: DataHashers, size: number, commitError: string | undefined): CommitResult {
  const requested = info.path as string;
  const fail = (tags: string[], reason: Record<string, unknown>): CommitResult => ({ tags, reason });

  if (!requested.startsWith('/')) return fail(['malformed_path'], { '.tag': 'malformed_path' });
  const malformed = malformedReason(requested);
  if (malformed) return fail(['malformed_path'], { '.tag': 'malformed_path', malformed_path: malformed });
  const name = requested.slice(requested.lastIndexOf('/') + 1);
  if (DISALLOWED_NAMES.has(name.toLowerCase())) return fail(['disallowed_name'], { '.tag': 'disallowed_name' });

  if (commitError) return fail([commitError], { '.tag': commitError });
  const used = [...state.files.values()].reduce((sum, f) => sum + f.size, 0);
  if (state.quotaBytes !== undefined && used + size > state.quotaBytes) {
    return fail(['insufficient_space'], { '.tag': 'insufficient_space' });
  }

  const mode = modeOf(info.mode ?? 'add') as { tag: 'add' | 'overwrite' | 'update'; rev?: string };
  const autorename = info.autorename === true;
  const strict = info.strict_conflict === true;
  const contentHash = data.contentHash();

  // A file where a parent folder should be cannot be renamed around.
  const parts = lowerOf(requested).split('/').slice(1);
  for (let i = 1; i < parts.length; i += 1) {
    if (state.files.has(`/${parts.slice(0, i).join('/')}`)) return fail(['conflict', 'file_ancestor'], { '.tag': 'conflict', conflict: { '.tag': 'file_ancestor' } });
  }

  let target = requested;
  const existing = state.files.get(lowerOf(target));
  const folderAt = (path: string) => [...state.files.keys()].some((p) => p.startsWith(`${lowerOf(path)}/`));

  let conflict: 'file' | 'folder' | undefined;
  if (folderAt(target)) conflict = 'folder';
  else if (existing) {
    const sameContent = existing.content_hash === contentHash && existing.size === size;
    if (mode.tag === 'add') {
      if (sameContent && !strict) return { metadata: publicMetadata(existing) };
      conflict = 'file';
    } else if (mode.tag === 'update' && existing.rev !== mode.rev) {
      if (sameContent && !strict) return { metadata: publicMetadata(existing) };
      conflict = 'file';
    }
  } else if (mode.tag === 'update' && strict) {
    conflict = 'file';
  }

  if (conflict) {
    if (!autorename) return fail(['conflict', conflict], { '.tag': 'conflict', conflict: { '.tag': conflict } });
    target = freeName(state, requested);
  }

  const now = timestampOf(new Date());
  const previous = state.files.get(lowerOf(target));
  const file: DropboxFakeFile = {
    id: previous?.id ?? `id:${randomBytes(11).toString('base64url')}`,
    name: target.slice(target.lastIndexOf('/') + 1),
    path_lower: lowerOf(target),
    path_display: target,
    rev: randomBytes(8).toString('hex').replace(/^./, '0'),
    size,
    content_hash: contentHash,
    sha256: data.sha256(),
    client_modified: typeof info.client_modified === 'string' ? info.client_modified : now,
    server_modified: now,
    revisions: (previous?.revisions ?? 0) + 1,
  };
  state.files.set(file.path_lower, file);
  if (!previous) state.created.set(lowerOf(requested), (state.created.get(lowerOf(requested)) ?? 0) + 1);
  return { metadata: publicMetadata(file) };
}

/** Why Dropbox would call this path malformed, or undefined. */
function malformedReason(path: string): string | undefined {
  if (path === '/' || path.endsWith('/')) return 'the path must name a file, not end with "/"';
  const components = path.split('/').slice(1);
  if (components.some((c) => c === '')) return 'empty path component ("//")';
  if (components.some((c) => c === '.' || c === '..')) return 'path components "." and ".." are not allowed';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path.replace(/icon\r$/i, ''))) return 'control characters are not allowed';
  if (components.some((c) => c.length > 255)) return 'a path component is longer than 255 characters';
  return undefined;
}

/** "name (1).ext", "name (2).ext", ...: the first that is free. */
function freeName(state: FakeState, path: string): string {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 1; ; n += 1) {
    const candidate = `${dir}${stem} (${n})${ext}`;
    if (!state.files.has(lowerOf(candidate))) return candidate;
  }
}

function publicMetadata(file: DropboxFakeFile) {
  const { sha256: _sha256, revisions: _revisions, ...metadata } = file;
  return { ...metadata, is_downloadable: true as const };
}

// ---- answers in Dropbox's formats -------------------------------------------------

/** Dropbox pads error_summary with a varying number of dots; clients must read `error`. */
function summaryOf(tags: string[]): string {
  return `${tags.join('/')}/${'.'.repeat(1 + Math.floor(Math.random() * 4))}`;
}

function endpointError(tags: string[], error: Record<string, unknown>): Answer {
  return { status: 409, json: { error_summary: summaryOf(tags), error } };
}

function authError(tag: 'expired_access_token' | 'invalid_access_token'): Answer {
  return { status: 401, json: { error_summary: summaryOf([tag]), error: { '.tag': tag } } };
}

/** 429 as the data ingress guide describes it: JSON RateLimitError, or plain text (too_many_requests). */
function rateLimited(reason: 'too_many_write_operations' | 'too_many_requests', retryAfterSeconds: number, plainText: boolean): Answer {
  const headers = { 'retry-after': String(retryAfterSeconds) };
  if (plainText) return { status: 429, text: 'Too many requests', headers };
  return { status: 429, headers, json: { error_summary: summaryOf([reason]), error: { reason: { '.tag': reason }, retry_after: retryAfterSeconds } } };
}

// ---- helpers -------------------------------------------------------------------------

/** Reads the body (throttled, counted, cut off when told); 'broken' when the connection went away first. */
function readBody(
  state: FakeState,
  req: IncomingMessage,
  record: DropboxFakeRequest,
  dropAfterBytes: number | undefined,
  onData: (chunk: Buffer) => void,
): Promise<'complete' | 'broken'> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: 'complete' | 'broken') => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      record.bodyBytes += chunk.length;
      state.bytesReceived += chunk.length;
      if (dropAfterBytes !== undefined && record.bodyBytes >= dropAfterBytes) {
        req.socket.destroy();
        settle('broken');
        return;
      }
      onData(chunk);
      if (state.throttle > 0) {
        // Pause until the bytes so far fit the rate; TCP backpressure slows the client down.
        const wait = record.receivedAt + (record.bodyBytes / state.throttle) * 1000 - Date.now();
        if (wait > 0) {
          req.pause();
          setTimeout(() => req.resume(), wait).unref();
        }
      }
    });
    req.on('end', () => settle('complete'));
    req.on('close', () => settle(req.complete ? 'complete' : 'broken'));
  });
}

/**
 * SHA-256 of the data and Dropbox's content hash: the SHA-256 of the concatenated SHA-256
 * digests of each 4 MiB block (https://www.dropbox.com/developers/reference/content-hash).
 * `copy()` lets a request hash on top of a session without touching it.
 */
class DataHashers {
  constructor(
    private readonly whole: Hash = createHash('sha256'),
    private readonly blocks: Hash = createHash('sha256'),
    private block: Hash = createHash('sha256'),
    private inBlock = 0,
  ) {}

  update(data: Buffer): void {
    this.whole.update(data);
    for (let at = 0; at < data.length; ) {
      const take = Math.min(DROPBOX_HASH_BLOCK_BYTES - this.inBlock, data.length - at);
      this.block.update(data.subarray(at, at + take));
      this.inBlock += take;
      at += take;
      if (this.inBlock === DROPBOX_HASH_BLOCK_BYTES) {
        this.blocks.update(this.block.digest());
        this.block = createHash('sha256');
        this.inBlock = 0;
      }
    }
  }

  copy(): DataHashers {
    return new DataHashers(this.whole.copy(), this.blocks.copy(), this.block.copy(), this.inBlock);
  }

  sha256(): string {
    return this.whole.copy().digest('hex');
  }

  contentHash(): string {
    const blocks = this.blocks.copy();
    if (this.inBlock > 0) blocks.update(this.block.copy().digest());
    return blocks.digest('hex');
  }
}

/** Dropbox's content hash of a buffer, for tests that compare. */
export function dropboxContentHash(data: Buffer): string {
  const hashers = new DataHashers();
  hashers.update(data);
  return hashers.contentHash();
}

function modeOf(mode: unknown): { tag: string; rev?: string } | undefined {
  const tag = tagOf(mode);
  if (tag === 'add' || tag === 'overwrite') return { tag };
  if (tag === 'update' && typeof mode === 'object' && mode !== null && typeof (mode as { update?: unknown }).update === 'string') {
    return { tag, rev: (mode as { update: string }).update };
  }
  return undefined;
}

/** A union value as Dropbox accepts it: "add", or { ".tag": "add" }. */
function tagOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const tag = (value as Record<string, unknown>)['.tag'];
    return typeof tag === 'string' ? tag : undefined;
  }
  return undefined;
}

function lowerOf(path: string): string {
  return path.toLowerCase();
}

function randomId(): string {
  return `AAAAAAAA${randomBytes(12).toString('base64url')}`;
}

/** Dropbox timestamps: ISO 8601 in UTC, to the second. */
function timestampOf(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
