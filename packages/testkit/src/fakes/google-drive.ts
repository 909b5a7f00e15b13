import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ResumableReceiver,
  ScriptedFaults,
  bearerTokenOf,
  bodyFaultOf,
  googleError,
  readText,
  receiveOnSession,
  sendJson,
  type BodyFault,
  type FrontEndSession,
  type ScriptedFault,
} from './google-resumable.js';

/**
 * A local stand-in for the Google Drive API v3, for the parts the fleet uses: files.create
 * with uploadType=resumable, and about.get. A real node:http server on 127.0.0.1 that
 * checks what Drive checks:
 *
 * - `Authorization: Bearer <token>` on every request (a list of valid tokens, or a
 *   validator, so the OAuth fake can decide); 401 `authError` in Drive's format otherwise;
 * - the session start (`POST /upload/drive/v3/files?uploadType=resumable`): JSON metadata;
 *   each parent must be a folder the account can see, and a folder in a shared drive is
 *   visible only with `supportsAllDrives=true` (404 `notFound` "File not found: <id>."
 *   otherwise, as Drive answers:
 *   https://developers.google.com/workspace/drive/api/guides/enable-shareddrives); the
 *   account may write to it (403 `insufficientFilePermissions`); a file in My Drive must fit
 *   the owner's storage quota (403 `storageQuotaExceeded`);
 * - the session URI: Google's resumable upload front end, shared with the YouTube and Cloud
 *   Storage fakes (google-resumable.ts): Content-Range rules, 256 KiB multiples, 308 with
 *   Range, status queries, bytes kept in 256 KiB units;
 * - the last chunk's answer, 200 with the file resource holding only what `fields` asked
 *   for (kind, id, name, mimeType without it:
 *   https://developers.google.com/workspace/drive/api/guides/fields-parameter); a finished
 *   session answers it again, an expired one 404;
 * - about.get, which Drive refuses without `fields` (400 `required`).
 *
 * Error bodies are Drive's: `{"error": {"code", "message", "errors": [{"domain", "reason",
 * "message"}]}}` (https://developers.google.com/workspace/drive/api/guides/handle-errors).
 * Protocol: https://developers.google.com/workspace/drive/api/guides/manage-uploads#resumable.
 */

/** The token the fake accepts unless told otherwise. */
export const DRIVE_FAKE_TOKEN = 'ya29.fake-drive-access-token';
/** The Drive user (permissionId) of every token unless told otherwise. */
export const DRIVE_FAKE_USER = '01234567890123456789';
/** What files.create answers without a `fields` parameter. */
const DEFAULT_FIELDS = ['kind', 'id', 'name', 'mimeType'];

export interface GoogleDriveFakeOptions {
  /** Access tokens the fake accepts; default [DRIVE_FAKE_TOKEN]. */
  tokens?: string[];
  /** Decides about every token instead of `tokens` (for the OAuth fake to plug in). */
  validateToken?: (token: string) => boolean | Promise<boolean>;
  /** The Drive user (permissionId) of a valid token; default DRIVE_FAKE_USER for every token. */
  userOf?: (token: string) => string;
}

export type DriveFakeStep = 'start' | 'chunk' | 'status' | 'about';

export type DriveErrorName =
  | 'storageQuotaExceeded'
  | 'userRateLimitExceeded'
  | 'rateLimitExceeded'
  | 'tooManyRequests'
  | 'dailyLimitExceeded'
  | 'authError'
  | 'insufficientPermissions'
  | 'backendError'
  | 'internalError';

/**
 * A scripted answer for the next `times` requests (default 1) of the given steps (default
 * any): one of Drive's real errors, any status, a connection dropped after `dropAfterBytes`
 * body bytes, or a chunk of which only `keepBytes` are kept.
 */
export type DriveFault = ScriptedFault<DriveFakeStep> &
  ({ error: DriveErrorName; headers?: Record<string, string> } | { status: number; reason?: string; message?: string; body?: string; headers?: Record<string, string> } | BodyFault);

export interface FakeDriveFolder {
  id: string;
  name: string;
  /** The shared drive it is in; undefined: My Drive. */
  driveId: string | undefined;
}

export interface FakeDriveFile {
  id: string;
  name: string;
  mimeType: string;
  description: string | undefined;
  parents: string[];
  /** The shared drive of its parent, if any. */
  driveId: string | undefined;
  size: number;
  sha256: string;
  /** The Drive user who uploaded it. */
  owner: string;
  webViewLink: string;
  /** X-Upload-Content-Type of the session. */
  uploadContentType: string | undefined;
  /** Whether the session start said supportsAllDrives=true. */
  supportsAllDrives: boolean;
  sessionId: string;
}

export interface FakeDriveSession extends FrontEndSession {
  uri: string;
  owner: string;
  metadata: Record<string, unknown>;
  parents: string[];
  driveId: string | undefined;
  fields: string[];
  supportsAllDrives: boolean;
  uploadContentType: string | undefined;
  file: FakeDriveFile | undefined;
}

export interface FakeDriveRequest {
  method: string;
  step: DriveFakeStep | 'unknown';
  /** Path and query as sent. */
  path: string;
  token: string | undefined;
  status: number | undefined;
  contentRange: string | undefined;
}

export interface GoogleDriveFake {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** For GOOGLEDRIVE_API_BASE_URL. */
  readonly apiBaseUrl: string;
  /** For GOOGLEDRIVE_UPLOAD_BASE_URL. */
  readonly uploadBaseUrl: string;
  readonly sessions: readonly FakeDriveSession[];
  readonly files: readonly FakeDriveFile[];
  readonly requests: readonly FakeDriveRequest[];
  /** Chunk body bytes read off the wire since the start, kept or not. */
  readonly bytesReceived: number;
  /** A folder in My Drive, or in the shared drive `driveId`. */
  addFolder(id: string, options?: { name?: string; driveId?: string }): FakeDriveFolder;
  /** The user may see the folder but not add files to it (a viewer). */
  denyWrites(folderId: string, user?: string): void;
  /** Bytes of My Drive storage the user has left from now on (undefined: unlimited). */
  setStorageQuota(bytes: number | undefined, user?: string): void;
  /** The newest file with this name. */
  fileNamed(name: string): FakeDriveFile | undefined;
  acceptToken(token: string): void;
  revokeToken(token: string): void;
  setFaults(faults: DriveFault[]): void;
  addFault(fault: DriveFault): void;
  throttle(bytesPerSecond: number): void;
  /** Every session not finished yet answers `status` (404 or 410) from now on. */
  expireSessions(status?: 404 | 410): void;
  close(): Promise<void>;
}

const NAMED_ERRORS: Record<DriveErrorName, { code: number; reason: string; message: string; domain: string }> = {
  storageQuotaExceeded: { code: 403, reason: 'storageQuotaExceeded', message: 'The user\'s Drive storage quota has been exceeded.', domain: 'usageLimits' },
  userRateLimitExceeded: { code: 403, reason: 'userRateLimitExceeded', message: 'User Rate Limit Exceeded', domain: 'usageLimits' },
  rateLimitExceeded: { code: 403, reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded', domain: 'usageLimits' },
  tooManyRequests: { code: 429, reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded', domain: 'usageLimits' },
  dailyLimitExceeded: { code: 403, reason: 'dailyLimitExceeded', message: 'Daily Limit Exceeded', domain: 'usageLimits' },
  authError: { code: 401, reason: 'authError', message: 'Invalid Credentials', domain: 'global' },
  insufficientPermissions: { code: 403, reason: 'insufficientPermissions', message: 'Insufficient Permission: Request had insufficient authentication scopes.', domain: 'global' },
  backendError: { code: 503, reason: 'backendError', message: 'Backend Error', domain: 'global' },
  internalError: { code: 500, reason: 'internalError', message: 'Internal Error', domain: 'global' },
};

export async function startGoogleDriveFake(options: GoogleDriveFakeOptions = {}): Promise<GoogleDriveFake> {
  const tokens = new Set(options.tokens ?? [DRIVE_FAKE_TOKEN]);
  const userOf = options.userOf ?? (() => DRIVE_FAKE_USER);
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-drive-fake-'));
  const receiver = new ResumableReceiver(dir);
  const folders = new Map<string, FakeDriveFolder>([['root', { id: 'root', name: 'My Drive', driveId: undefined }]]);
  const denied = new Set<string>(); // `${folderId}\0${user}`
  const storageLeft = new Map<string, number>(); // by user; absent: unlimited
  const sessions: FakeDriveSession[] = [];
  const files: FakeDriveFile[] = [];
  const requests: FakeDriveRequest[] = [];
  const faults = new ScriptedFaults<DriveFakeStep, DriveFault>('chunk');
  let base = '';

  const isValid = async (token: string) => (options.validateToken ? options.validateToken(token) : tokens.has(token));

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const step = stepOf(req.method ?? '', url, req.headers['content-range']);
    const token = bearerTokenOf(req);
    const record: FakeDriveRequest = { method: req.method ?? '', step, path: `${url.pathname}${url.search}`, token, status: undefined, contentRange: req.headers['content-range'] };
    requests.push(record);
    // Clients going away is part of several tests (resets, aborts): never crash on it.
    req.on('error', () => undefined);
    res.on('finish', () => (record.status = res.statusCode));
    const drain = (answer: () => void) => receiver.drain(req, answer, step === 'chunk');

    void (async () => {
      if (step === 'unknown') return drain(() => sendJson(res, 404, googleError(404, 'notFound', 'Not Found', 'global')));
      const fault = faults.take(step);
      if (fault && ('error' in fault || 'status' in fault)) return drain(() => answerFault(res, fault));
      if (!token || !(await isValid(token))) return drain(() => answerFault(res, { error: 'authError' }));
      const user = userOf(token);
      switch (step) {
        case 'start':
          return startSession(req, res, url, user);
        case 'chunk':
        case 'status':
          return receiveChunk(req, res, url, bodyFaultOf(fault));
        case 'about':
          return drain(() => about(res, url, user));
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, googleError(500, 'internalError', `fake failed: ${(error as Error).message}`, 'global'));
    });
  });

  // ---- files.create, uploadType=resumable: the session start --------------------------

  async function startSession(req: IncomingMessage, res: ServerResponse, url: URL, user: string): Promise<void> {
    const text = await readText(req);
    if (url.searchParams.get('uploadType') !== 'resumable') return sendJson(res, 400, googleError(400, 'badRequest', 'This fake only implements uploadType=resumable.', 'global'));
    let metadata: Record<string, unknown> = {};
    if (text) {
      if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) return sendJson(res, 400, googleError(400, 'badContent', 'The file metadata must be sent as application/json.', 'global'));
      try {
        metadata = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return sendJson(res, 400, googleError(400, 'parseError', 'Parse Error', 'global'));
      }
    }
    const supportsAllDrives = url.searchParams.get('supportsAllDrives') === 'true';
    const parents = metadata.parents === undefined ? ['root'] : metadata.parents;
    if (!Array.isArray(parents) || parents.some((p) => typeof p !== 'string')) {
      return sendJson(res, 400, googleError(400, 'invalid', 'Invalid Value: parents must be a list of folder ids.', 'global'));
    }
    let driveId: string | undefined;
    for (const id of parents as string[]) {
      const folder = folders.get(id);
      // Without supportsAllDrives, Drive acts as if shared drives did not exist.
      if (!folder || (folder.driveId !== undefined && !supportsAllDrives)) return sendJson(res, 404, notFound(id));
      if (denied.has(`${id}\0${user}`)) {
        return sendJson(res, 403, googleError(403, 'insufficientFilePermissions', 'The user does not have sufficient permissions for this file.', 'global'));
      }
      driveId = folder.driveId;
    }
    const declared = req.headers['x-upload-content-length'];
    if (declared !== undefined && !/^\d+$/.test(String(declared))) {
      return sendJson(res, 400, googleError(400, 'badRequest', 'X-Upload-Content-Length must be a number of bytes.', 'global'));
    }
    // Files in a shared drive count against the shared drive's storage, not the user's.
    const left = storageLeft.get(user);
    if (driveId === undefined && left !== undefined && declared !== undefined && Number(declared) > left) return answerFault(res, { error: 'storageQuotaExceeded' });

    const id = randomBytes(24).toString('base64url');
    const uri = `${base}/upload/drive/v3/files?uploadType=resumable&upload_id=${id}`;
    const fieldsParam = url.searchParams.get('fields');
    sessions.push({
      ...receiver.newUpload(id, declared === undefined ? undefined : Number(declared)),
      uri,
      owner: user,
      metadata,
      parents: parents as string[],
      driveId,
      fields: fieldsParam ? fieldsParam.split(',').map((f) => f.trim()).filter(Boolean) : DEFAULT_FIELDS,
      supportsAllDrives,
      uploadContentType: headerValue(req.headers['x-upload-content-type']),
      file: undefined,
      expiredWith: undefined,
    });
    res.writeHead(200, { location: uri, 'x-guploader-uploadid': id, 'content-length': '0' }).end();
  }

  // ---- PUT on the session URI ---------------------------------------------------------

  function receiveChunk(req: IncomingMessage, res: ServerResponse, url: URL, bodyFault: BodyFault | undefined): void {
    const session = sessions.find((s) => s.id === url.searchParams.get('upload_id'));
    receiveOnSession(receiver, req, res, session, {
      // A finished session answers the file again, with the fields its start asked for.
      ended: () => (session?.file ? { status: 200, body: resourceOf(session.file, session.fields) } : undefined),
      bodyFault,
      handlers: {
        finish: () => finish(session!, res),
        refuse: (message) => sendJson(res, 400, googleError(400, 'badContentRange', message, 'global')),
      },
    });
  }

  function finish(session: FakeDriveSession, res: ServerResponse): void {
    const { sha256, size } = receiver.complete(session);
    const id = `1${randomBytes(24).toString('base64url')}`; // 33 characters, like Drive's ids
    const { metadata } = session;
    const file: FakeDriveFile = {
      id,
      name: typeof metadata.name === 'string' ? metadata.name : 'Untitled',
      mimeType: typeof metadata.mimeType === 'string' ? metadata.mimeType : (session.uploadContentType ?? 'application/octet-stream'),
      description: typeof metadata.description === 'string' ? metadata.description : undefined,
      parents: session.parents,
      driveId: session.driveId,
      size,
      sha256,
      owner: session.owner,
      webViewLink: `https://drive.google.com/file/d/${id}/view?usp=drivesdk`,
      uploadContentType: session.uploadContentType,
      supportsAllDrives: session.supportsAllDrives,
      sessionId: session.id,
    };
    session.file = file;
    files.push(file);
    const left = storageLeft.get(session.owner);
    if (file.driveId === undefined && left !== undefined) storageLeft.set(session.owner, left - size);
    sendJson(res, 200, resourceOf(file, session.fields));
  }

  // ---- about.get ----------------------------------------------------------------------

  function about(res: ServerResponse, url: URL, user: string): void {
    if (!url.searchParams.get('fields')) return sendJson(res, 400, googleError(400, 'required', 'The \'fields\' parameter is required for this method.', 'global'));
    sendJson(res, 200, { user: { kind: 'drive#user', permissionId: user, displayName: `User ${user}`, me: true } });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiBaseUrl: `${base}/drive/v3`,
    uploadBaseUrl: `${base}/upload/drive/v3`,
    sessions,
    files,
    requests,
    get bytesReceived() {
      return receiver.bytesReceived;
    },
    addFolder(id, folderOptions = {}) {
      const folder = { id, name: folderOptions.name ?? id, driveId: folderOptions.driveId };
      folders.set(id, folder);
      return folder;
    },
    denyWrites: (folderId, user = DRIVE_FAKE_USER) => void denied.add(`${folderId}\0${user}`),
    setStorageQuota(bytes, user = DRIVE_FAKE_USER) {
      if (bytes === undefined) storageLeft.delete(user);
      else storageLeft.set(user, bytes);
    },
    fileNamed: (name) => files.filter((f) => f.name === name).at(-1),
    acceptToken: (token) => void tokens.add(token),
    revokeToken: (token) => void tokens.delete(token),
    setFaults: (list) => faults.set(list),
    addFault: (fault) => faults.add(fault),
    throttle: (rate) => receiver.throttle(rate),
    expireSessions(status = 404) {
      for (const s of sessions) if (!s.file) s.expiredWith = status;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      receiver.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- what the real platform checks and answers ----------------------------------------

function stepOf(method: string, url: URL, contentRange: string | undefined): DriveFakeStep | 'unknown' {
  const path = url.pathname;
  if (method === 'POST' && path === '/upload/drive/v3/files' && !url.searchParams.has('upload_id')) return 'start';
  if (method === 'PUT' && path === '/upload/drive/v3/files' && url.searchParams.has('upload_id')) return /^bytes \*\//.test(contentRange ?? '') ? 'status' : 'chunk';
  if (method === 'GET' && path === '/drive/v3/about') return 'about';
  return 'unknown';
}

/** Drive's answer for a file or folder id it does not know (or may not show). */
function notFound(id: string): { error: Record<string, unknown> } {
  const message = `File not found: ${id}.`;
  return { error: { code: 404, message, errors: [{ message, domain: 'global', reason: 'notFound', location: 'fileId', locationType: 'parameter' }] } };
}

/** The file resource with only the fields asked for (Drive's int64 `size` is a string). */
function resourceOf(file: FakeDriveFile, fields: string[]): Record<string, unknown> {
  const all: Record<string, unknown> = {
    kind: 'drive#file',
    id: file.id,
    name: file.name,
    mimeType: file.mimeType,
    description: file.description,
    parents: file.parents,
    driveId: file.driveId,
    size: String(file.size),
    webViewLink: file.webViewLink,
  };
  return Object.fromEntries(fields.filter((f) => all[f] !== undefined).map((f) => [f, all[f]]));
}

function answerFault(res: ServerResponse, fault: { error: DriveErrorName; headers?: Record<string, string> } | { status: number; reason?: string; message?: string; body?: string; headers?: Record<string, string> }): void {
  if ('error' in fault) {
    const named = NAMED_ERRORS[fault.error];
    const body = named.code === 401
      ? { error: { code: 401, message: named.message, errors: [{ message: named.message, domain: named.domain, reason: named.reason, location: 'Authorization', locationType: 'header' }] } }
      : googleError(named.code, named.reason, named.message, named.domain);
    return sendJson(res, named.code, body, fault.headers);
  }
  if (fault.body !== undefined) {
    res.writeHead(fault.status, fault.headers).end(fault.body);
    return;
  }
  sendJson(res, fault.status, googleError(fault.status, fault.reason ?? 'backendError', fault.message ?? `Scripted ${fault.status}.`, 'global'), fault.headers);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
