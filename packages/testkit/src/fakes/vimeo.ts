import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '@tus/file-store';
import { Server as TusServer } from '@tus/server';
import { startTcpProxy, type TcpProxy } from '../tcp-proxy.js';

/**
 * A local stand-in for the Vimeo API's upload path, in front of a REAL tus server
 * (`@tus/server` with `@tus/file-store`, the tus project's own Node server):
 *
 * - POST /me/videos with `{ upload: { approach: "tus", size }, name, description, privacy,
 *   password, folder_uri }` creates the video and, through a real tus creation request
 *   (POST with Upload-Length) to the tus server, its upload; it answers 201 with the video
 *   and `upload.upload_link`, which points at the tus server behind a TCP proxy (which
 *   counts, slows down and cuts the bytes, like a network would).
 * - The bytes then go to the tus server itself: PATCH, HEAD and Upload-Offset are
 *   @tus/server's, not ours.
 * - GET /videos/{id}?fields=...: upload.status (complete once the tus upload holds every
 *   byte) and transcode.status (in_progress, then complete `transcodeMs` after the upload).
 * - GET /me?fields=...: the user's uri and upload_quota (space, periodic with reset_date).
 *
 * Like the real API it checks `Authorization: bearer <token>` (401 with error_code 8003)
 * and the version header `Accept: application/vnd.vimeo.*+json;version=3.4`, answers
 * errors as `{ error, link, developer_message, error_code, invalid_parameters? }`, sends
 * X-RateLimit-Limit / -Remaining / -Reset on every answer and 429 when the limit is used
 * up, and refuses a video larger than the free weekly quota.
 *
 * Strict choices where Vimeo documents nothing (docs/destinations/vimeo.md says so): a
 * missing or other API version is refused (406) instead of served by another version;
 * unknown body fields and bad privacy values are 400 with error_code 2204 naming the field;
 * an unknown folder_uri is 400 2204; the weekly quota answers 403 with error_code 4003 and
 * a full storage 403 with 3428.
 *
 * References: https://developer.vimeo.com/api/upload/videos (resumable tus approach),
 * https://developer.vimeo.com/api/reference/videos#upload_video (parameters),
 * https://developer.vimeo.com/api/guides/error-codes, https://developer.vimeo.com/guidelines/rate-limiting.
 */

/** The token the fake accepts unless told otherwise. */
export const VIMEO_FAKE_TOKEN = 'vimeo-fake-access-token';
export const VIMEO_FAKE_USER_ID = '12345';

const VIEW = new Set(['anybody', 'nobody', 'password', 'unlisted', 'disable', 'contacts', 'users']);
const EMBED = new Set(['public', 'private', 'whitelist']);
const COMMENTS = new Set(['anybody', 'contacts', 'nobody']);
const CREATE_FIELDS = new Set(['upload', 'name', 'description', 'privacy', 'password', 'folder_uri']);
const ACCEPT_VERSION = /application\/vnd\.vimeo\.\*\+json\s*;\s*version=3\.4/;
const MAX_JSON_BODY = 1024 * 1024;

export interface VimeoFakeOptions {
  /** Access tokens the fake accepts; default [VIMEO_FAKE_TOKEN]. */
  tokens?: string[];
  /** Decides about every token instead of `tokens` (an OAuth fake plugs in here). */
  validateToken?: (token: string) => boolean;
  /** The user id of a valid token; default VIMEO_FAKE_USER_ID for all. */
  userOf?: (token: string) => string;
  /** Folders (project ids) each user has; default ['456'] for every user. */
  folders?: string[];
  /** The weekly (periodic) upload quota in bytes; default 500 GiB. */
  weeklyQuotaBytes?: number;
  /** Total storage in bytes; default unlimited. */
  storageBytes?: number;
  /** API requests per token and minute before 429; default unlimited. */
  requestsPerMinute?: number;
  /** How long transcoding takes after the last byte, in ms; default 0. */
  transcodeMs?: number;
}

export type VimeoFakeStep = 'create' | 'me' | 'status';

/** A scripted answer instead of the normal one, for the next `times` (default 1) API requests of `step` (default any). */
export interface VimeoFault {
  step?: VimeoFakeStep;
  times?: number;
  status: number;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface FakeVimeoVideo {
  id: string;
  uri: string;
  link: string;
  userId: string;
  name: string | undefined;
  description: string | undefined;
  privacy: Record<string, unknown> | undefined;
  password: string | undefined;
  folderUri: string | undefined;
  size: number;
  /** The id of its upload on the tus server. */
  tusId: string;
  /** The upload link handed out (through the proxy). */
  uploadLink: string;
  createdAt: number;
  /** When the tus upload was first seen complete. */
  completedAt: number | undefined;
}

export interface FakeVimeoRequest {
  method: string;
  path: string;
  step: VimeoFakeStep | 'unknown';
  status: number;
  accept: string | undefined;
  token: string | undefined;
  body?: Record<string, unknown>;
}

/** A request that reached the tus server (the upload links). */
export interface FakeTusRequest {
  method: string;
  /** Whether it carried an Authorization header (the adapter must not send its token there). */
  authorization: boolean;
  tusResumable: string | string[] | undefined;
  uploadOffset: string | undefined;
}

export interface VimeoFake {
  /** For VIMEO_API_BASE_URL. */
  readonly apiBaseUrl: string;
  /** The tus server's own URL (behind the proxy the upload links point at). */
  readonly tusUrl: string;
  readonly videos: readonly FakeVimeoVideo[];
  readonly requests: readonly FakeVimeoRequest[];
  /** Requests to the tus server, the fake's own creations included. */
  readonly tusRequests: readonly FakeTusRequest[];
  /** Bytes clients sent to the upload links (through the proxy), headers included. */
  readonly bytesReceived: number;
  /** The newest video with this name. */
  videoByName(name: string): FakeVimeoVideo | undefined;
  /** What the tus server holds for a video: bytes stored and, when complete, their SHA-256. */
  stored(video: FakeVimeoVideo): Promise<{ size: number; sha256: string; offset: number }>;
  setFaults(faults: VimeoFault[]): void;
  /** Bytes per second to the upload links (0: full speed). */
  throttle(bytesPerSecond: number): void;
  /** Cuts every open connection to the upload links (a connection reset mid-upload). */
  cutUploads(): void;
  /** Removes every unfinished tus upload: their links answer 404 from now on, as expired ones do. */
  expireUploadLinks(): Promise<void>;
  /** Uses up the weekly quota until `resetAt` (default: in a day). */
  exhaustWeeklyQuota(resetAt?: Date): void;
  /** A new week: the weekly quota is free again. */
  resetWeeklyQuota(): void;
  /** The next API request answers 429 with the rate-limit headers, resetting after `resetInMs`. */
  rateLimitNext(resetInMs: number): void;
  acceptToken(token: string): void;
  revokeToken(token: string): void;
  close(): Promise<void>;
}

export async function startVimeoFake(options: VimeoFakeOptions = {}): Promise<VimeoFake> {
  const tokens = new Set(options.tokens ?? [VIMEO_FAKE_TOKEN]);
  const validToken = options.validateToken ?? ((token: string) => tokens.has(token));
  const userOf = options.userOf ?? (() => VIMEO_FAKE_USER_ID);
  const folders = new Set(options.folders ?? ['456']);
  const transcodeMs = options.transcodeMs ?? 0;
  const weeklyMax = options.weeklyQuotaBytes ?? 500 * 1024 ** 3;
  const storageMax = options.storageBytes;
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-vimeo-tus-'));

  // The real tus server, and the proxy in front of it that the upload links name.
  const datastore = new FileStore({ directory: dir });
  // FileStore's constructor starts a recursive mkdir of its directory that nothing awaits
  // and whose failure it throws uncaught: removing the folder while that mkdir runs (a fake
  // closed right after it started) fails it with ENOENT. Its own mkdir of the existing
  // folder, issued after, ends after it on the libuv pool's queue in practice; close waits for it.
  const directoryReady = mkdir(dir, { recursive: true });
  const tus = new TusServer({ path: '/files', datastore });
  const tusRequests: FakeTusRequest[] = [];
  const tusHttp = createServer((req, res) => {
    tusRequests.push({ method: req.method ?? '', authorization: req.headers.authorization !== undefined, tusResumable: req.headers['tus-resumable'], uploadOffset: req.headers['upload-offset'] as string | undefined });
    tus.handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const tusPort = await listen(tusHttp);
  const tusUrl = `http://127.0.0.1:${tusPort}`;
  const proxy: TcpProxy = await startTcpProxy(tusPort);
  const uploadBase = `http://127.0.0.1:${proxy.port}`;

  const videos: FakeVimeoVideo[] = [];
  const requests: FakeVimeoRequest[] = [];
  let faults: (VimeoFault & { left: number })[] = [];
  let nextVideoId = 100_000_001;
  let weekly = { used: 0, resetAt: new Date(Date.now() + 7 * 24 * 3600_000) };
  let rateLimitOnce: number | undefined;
  const windowByToken = new Map<string, { start: number; count: number }>();

  async function tusOffset(video: FakeVimeoVideo): Promise<number> {
    try {
      const upload = await datastore.getUpload(video.tusId);
      const offset = upload.offset ?? 0;
      if (offset === video.size && video.completedAt === undefined) video.completedAt = Date.now();
      return offset;
    } catch {
      return -1;
    }
  }

  async function createTusUpload(size: number, videoId: string): Promise<string> {
    const answer = await fetch(`${tusUrl}/files`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': String(size), 'upload-metadata': `video ${Buffer.from(videoId).toString('base64')}` },
    });
    const location = answer.headers.get('location');
    if (answer.status !== 201 || !location) throw new Error(`the tus server answered ${answer.status} to the creation`);
    return new URL(location, tusUrl).pathname.split('/').pop()!;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vimeo-fake.invalid');
    const step: VimeoFakeStep | 'unknown' =
      req.method === 'POST' && url.pathname === '/me/videos' ? 'create' : req.method === 'GET' && url.pathname === '/me' ? 'me' : req.method === 'GET' && /^\/videos\/\d+$/.test(url.pathname) ? 'status' : 'unknown';
    const token = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const accept = req.headers.accept;
    const record: FakeVimeoRequest = { method: req.method ?? '', path: url.pathname + url.search, step, status: 0, accept, token };
    requests.push(record);
    let rateHeaders: Record<string, string> = {};
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/vnd.vimeo.video+json', ...rateHeaders, ...headers }).end(body === undefined ? '' : JSON.stringify(body));
    };
    const error = (status: number, code: number | undefined, message: string, developer: string, extra: Record<string, unknown> = {}) =>
      send(status, { error: message, link: null, developer_message: developer, ...(code !== undefined ? { error_code: code } : {}), ...extra });
    const invalid = (field: string, developer: string) =>
      error(400, 2204, 'You have provided an invalid parameter. Please contact developer of this application.', developer, {
        invalid_parameters: [{ field, error_code: 2204, error: 'invalid parameter', developer_message: developer }],
      });

    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (body && 'parsed' in body) record.body = body.parsed;

    if (!token || !validToken(token)) {
      return error(401, 8003, 'Something strange occurred. Please get in touch with the app\'s creator.', 'Invalid token. Make sure the token is sent as Authorization: bearer <token>.');
    }
    if (!accept || !ACCEPT_VERSION.test(accept)) {
      return error(406, undefined, 'This app asked for an API version Vimeo does not serve.', 'Send Accept: application/vnd.vimeo.*+json;version=3.4.');
    }

    // Rate limits per token and minute, reported on every answer.
    const now = Date.now();
    const window = windowByToken.get(token) ?? { start: now, count: 0 };
    if (now - window.start >= 60_000) Object.assign(window, { start: now, count: 0 });
    window.count += 1;
    windowByToken.set(token, window);
    const limit = options.requestsPerMinute ?? 2500;
    const resetAt = rateLimitOnce !== undefined ? now + rateLimitOnce : window.start + 60_000;
    rateHeaders = {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(rateLimitOnce !== undefined ? 0 : Math.max(0, limit - window.count)),
      'x-ratelimit-reset': new Date(resetAt).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    };
    if (rateLimitOnce !== undefined || window.count > limit) {
      rateLimitOnce = undefined;
      return error(429, undefined, 'Too many API requests. Please wait and try again.', 'The app or user exceeded its rate limit; wait until X-RateLimit-Reset.');
    }

    const fault = faults.find((f) => f.left > 0 && (f.step === undefined || f.step === step));
    if (fault) {
      fault.left -= 1;
      return send(fault.status, fault.body ?? { error: 'Something went wrong.', link: null, developer_message: `HTTP ${fault.status}` }, fault.headers);
    }

    const userId = userOf(token);
    if (step === 'create') {
      if (!body || !('parsed' in body)) return error(400, 2205, 'The request body is not valid JSON.', 'Send the video as a JSON object.');
      const input = body.parsed;
      for (const field of Object.keys(input)) if (!CREATE_FIELDS.has(field)) return invalid(field, `${field} is not a parameter of this endpoint.`);
      const upload = input.upload as { approach?: unknown; size?: unknown } | undefined;
      if (!upload || upload.approach !== 'tus') return invalid('upload.approach', 'upload.approach must be "tus" for a resumable upload.');
      const size = typeof upload.size === 'number' ? upload.size : typeof upload.size === 'string' && /^\d+$/.test(upload.size) ? Number(upload.size) : Number.NaN;
      if (!Number.isSafeInteger(size) || size < 0) return invalid('upload.size', 'upload.size must be the size of the video in bytes.');
      for (const field of ['name', 'description', 'password', 'folder_uri'] as const) {
        if (input[field] !== undefined && typeof input[field] !== 'string') return invalid(field, `${field} must be a string.`);
      }
      const privacy = input.privacy as Record<string, unknown> | undefined;
      if (privacy !== undefined) {
        if (typeof privacy !== 'object' || privacy === null) return invalid('privacy', 'privacy must be an object.');
        for (const key of Object.keys(privacy)) if (!['view', 'embed', 'comments', 'download'].includes(key)) return invalid(`privacy.${key}`, `privacy.${key} is not a privacy setting.`);
        if (privacy.view !== undefined && !VIEW.has(privacy.view as string)) return invalid('privacy.view', 'privacy.view is not a valid value.');
        if (privacy.embed !== undefined && !EMBED.has(privacy.embed as string)) return invalid('privacy.embed', 'privacy.embed is not a valid value.');
        if (privacy.comments !== undefined && !COMMENTS.has(privacy.comments as string)) return invalid('privacy.comments', 'privacy.comments is not a valid value.');
        if (privacy.download !== undefined && typeof privacy.download !== 'boolean') return invalid('privacy.download', 'privacy.download must be a boolean.');
        if (privacy.view === 'password' && typeof input.password !== 'string') return invalid('password', 'A password is required when privacy.view is password.');
      }
      const folderUri = input.folder_uri as string | undefined;
      if (folderUri !== undefined) {
        const match = /^\/users\/(\d+)\/projects\/(\d+)$/.exec(folderUri);
        if (!match || match[1] !== userId || !folders.has(match[2]!)) return invalid('folder_uri', 'The folder does not exist or does not belong to this user.');
      }
      const stored = videos.filter((v) => v.userId === userId).reduce((sum, v) => sum + v.size, 0);
      if (storageMax !== undefined && stored + size > storageMax) {
        return error(403, 3428, 'Your account does not have enough storage for this video.', 'The user has used up their storage.');
      }
      if (Date.now() >= weekly.resetAt.getTime()) weekly = { used: 0, resetAt: new Date(Date.now() + 7 * 24 * 3600_000) };
      if (weekly.used + size > weeklyMax) {
        return error(403, 4003, 'You have reached your weekly upload limit.', 'The user has exceeded their weekly upload quota.');
      }
      weekly.used += size;
      const id = String(nextVideoId++);
      const tusId = await createTusUpload(size, id);
      const video: FakeVimeoVideo = {
        id,
        uri: `/videos/${id}`,
        link: `https://vimeo.com/${id}`,
        userId,
        name: input.name as string | undefined,
        description: input.description as string | undefined,
        privacy,
        password: input.password as string | undefined,
        folderUri,
        size,
        tusId,
        uploadLink: `${uploadBase}/files/${tusId}`,
        createdAt: Date.now(),
        completedAt: undefined,
      };
      videos.push(video);
      return send(201, {
        ...videoResource(video, 'in_progress'),
        upload: { status: 'in_progress', approach: 'tus', upload_link: video.uploadLink, size },
      });
    }
    if (step === 'status') {
      const video = videos.find((v) => v.uri === url.pathname && v.userId === userId);
      if (!video) return error(404, undefined, 'The requested video could not be found.', 'No video with this id belongs to the user.');
      const complete = (await tusOffset(video)) === video.size;
      const transcoded = complete && video.completedAt !== undefined && Date.now() - video.completedAt >= transcodeMs;
      const full = { ...videoResource(video, transcoded ? 'complete' : 'in_progress'), upload: { status: complete ? 'complete' : 'in_progress', approach: 'tus' } };
      return send(200, selectFields(full, url.searchParams.get('fields')));
    }
    if (step === 'me') {
      const free = Math.max(0, weeklyMax - weekly.used);
      const me = {
        uri: `/users/${userId}`,
        link: `https://vimeo.com/user${userId}`,
        upload_quota: {
          space: { free, max: weeklyMax, used: weekly.used, showing: 'periodic' },
          periodic: { free, max: weeklyMax, used: weekly.used, reset_date: weekly.resetAt.toISOString().replace(/\.\d{3}Z$/, '+00:00') },
          lifetime: { free: storageMax ?? null, max: storageMax ?? null, used: 0 },
        },
      };
      return send(200, selectFields(me, url.searchParams.get('fields')));
    }
    return error(404, undefined, 'The requested page could not be found.', `No route for ${req.method ?? ''} ${url.pathname}.`);
  }

  const api = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const apiPort = await listen(api);

  return {
    apiBaseUrl: `http://127.0.0.1:${apiPort}`,
    tusUrl,
    videos,
    requests,
    tusRequests,
    get bytesReceived() {
      return proxy.bytesUp;
    },
    videoByName: (name) => videos.filter((v) => v.name === name).at(-1),
    async stored(video) {
      const offset = await tusOffset(video);
      const path = join(dir, video.tusId);
      const hash = createHash('sha256');
      let size = 0;
      if (offset > 0) {
        for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
          hash.update(chunk);
          size += chunk.length;
        }
      }
      return { size, sha256: hash.digest('hex'), offset };
    },
    setFaults(list) {
      faults = list.map((f) => ({ ...f, left: f.times ?? 1 }));
    },
    throttle: (bytesPerSecond) => proxy.setThrottle(bytesPerSecond),
    cutUploads: () => proxy.cutAll(),
    async expireUploadLinks() {
      for (const video of videos) {
        if ((await tusOffset(video)) !== video.size) await datastore.remove(video.tusId).catch(() => undefined);
      }
    },
    exhaustWeeklyQuota(resetAt = new Date(Date.now() + 24 * 3600_000)) {
      weekly = { used: weeklyMax, resetAt };
    },
    resetWeeklyQuota() {
      weekly = { used: 0, resetAt: new Date(Date.now() + 7 * 24 * 3600_000) };
    },
    rateLimitNext(resetInMs) {
      rateLimitOnce = resetInMs;
    },
    acceptToken: (token) => void tokens.add(token),
    revokeToken: (token) => void tokens.delete(token),
    async close() {
      await proxy.close();
      for (const server of [api, tusHttp]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await directoryReady;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function videoResource(video: FakeVimeoVideo, transcode: 'in_progress' | 'complete'): Record<string, unknown> {
  return {
    uri: video.uri,
    name: video.name ?? 'Untitled',
    description: video.description ?? null,
    link: video.link,
    privacy: { view: 'anybody', embed: 'public', comments: 'anybody', download: true, ...video.privacy },
    parent_folder: video.folderUri ? { uri: video.folderUri } : null,
    transcode: { status: transcode },
  };
}

/** Vimeo's `fields` filter: a comma-separated list of (dotted) fields to keep. */
function selectFields(resource: Record<string, unknown>, fields: string | null): Record<string, unknown> {
  if (!fields) return resource;
  const out: Record<string, unknown> = {};
  for (const path of fields.split(',').map((f) => f.trim()).filter(Boolean)) {
    const parts = path.split('.');
    let from: unknown = resource;
    for (const part of parts) from = from && typeof from === 'object' ? (from as Record<string, unknown>)[part] : undefined;
    if (from === undefined) continue;
    let to = out;
    for (const part of parts.slice(0, -1)) to = (to[part] ??= {}) as Record<string, unknown>;
    to[parts.at(-1)!] = from;
  }
  return out;
}

async function readJson(req: IncomingMessage): Promise<{ parsed: Record<string, unknown> } | { invalid: true }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY) return { invalid: true };
    chunks.push(chunk);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? { parsed: value as Record<string, unknown> } : { invalid: true };
  } catch {
    return { invalid: true };
  }
}

async function listen(server: HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}
