import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GOOGLE_CHUNK_UNIT, ResumableReceiver, googleError, readText, sendJson, type ResumableBytes } from './google-resumable.js';

export { googleError };

/**
 * A local stand-in for the YouTube Data API v3, for the parts the fleet uses: the
 * resumable upload of videos.insert, playlistItems.insert, and videos.list (for tests).
 * It is a real node:http server on 127.0.0.1 and checks what the real platform checks:
 *
 * - `Authorization: Bearer <token>` on every request (a list of valid tokens, or a
 *   validator function, so an OAuth fake can decide);
 * - the session start: the video resource (title present, at most 100 characters, no
 *   "<" or ">"; description and tags within limits; an assignable categoryId; a known
 *   privacyStatus), answered with 400 in Google's error format otherwise;
 * - every chunk: `Content-Range: bytes first-last/total` continuing exactly where the
 *   session stands, a total equal to the announced X-Upload-Content-Length, and a size that
 *   is a multiple of 256 KiB unless it is the last chunk;
 * - status queries (`Content-Range: bytes * /total`, empty body);
 * - 308 with `Range: bytes=0-N` (no Range at all when nothing is stored), 201 with the
 *   video resource when the last byte arrives, 200 with it for a finished session;
 * - channels.list with `mine=true`: the channel of the token.
 *
 * Like the real service it keeps bytes in 256 KiB units: an interrupted chunk keeps its
 * whole units and drops the rest, so the client must ask for the offset before resuming.
 * Video bytes go to a file in a temp dir and are hashed as they arrive. The chunk rules
 * and answers are Google's upload front end, shared with the Cloud Storage fake
 * (google-resumable.ts).
 *
 * Protocol reference: https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol
 * Error format and reasons: https://developers.google.com/youtube/v3/docs/errors
 */

/** Google persists resumable uploads in units of 256 KiB; chunks must be multiples of it. */
export const YOUTUBE_CHUNK_UNIT = GOOGLE_CHUNK_UNIT;

/** The token a fake accepts unless told otherwise. */
export const YOUTUBE_FAKE_TOKEN = 'ya29.fake-youtube-access-token';

/**
 * Categories an upload may use (`assignable: true` in videoCategories.list for the US).
 * The spec's table also lists 18 (Short Movies) and 44 (Trailers), which YouTube lists as
 * not assignable: uploads naming them are refused with invalidCategoryId.
 */
export const YOUTUBE_ASSIGNABLE_CATEGORIES = ['1', '2', '10', '15', '17', '19', '20', '22', '23', '24', '25', '26', '27', '28', '29'];

export interface YouTubeFakeOptions {
  /** Access tokens the fake accepts; default [YOUTUBE_FAKE_TOKEN]. */
  tokens?: string[];
  /** Decides about every token instead of `tokens` (for an OAuth fake to plug in). */
  validateToken?: (token: string) => boolean | Promise<boolean>;
  /** Playlist ids that exist; default ['PLfakePlaylist']. */
  playlists?: string[];
  /** Category ids an upload may use; default YOUTUBE_ASSIGNABLE_CATEGORIES. */
  categories?: string[];
  /** The channel the videos belong to. */
  channelId?: string;
  /**
   * The channel of a (valid) token, for channels.list?mine=true and the videos' channelId;
   * undefined: the account has no channel. Default: `channelId` for every token. With the
   * OAuth fake: `(token) => 'UC' + oauth.accountOf(token)`.
   */
  channelOf?: (token: string) => string | undefined;
}

/** Which request a fault applies to. */
export type YouTubeStep = 'start' | 'chunk' | 'status' | 'playlist' | 'list' | 'channels';

/**
 * A scripted answer instead of the normal one, for the next `times` requests (default 1)
 * of the given steps (default: any step):
 * - `error`: one of the platform's real error answers;
 * - `status`: any status, with a Google-format body unless `body` is given;
 * - `dropAfterBytes`: the connection is destroyed once this many body bytes arrived
 *   (a chunk keeps its whole 256 KiB units, as after a real network failure);
 * - `keepBytes`: the chunk is read completely but only its first `keepBytes` bytes are
 *   kept, and the 308 says so (the server may keep fewer bytes than sent).
 */
export type YouTubeFault = { step?: YouTubeStep | YouTubeStep[]; times?: number } & (
  | { error: YouTubeErrorName }
  | { status: number; reason?: string; message?: string; body?: string; headers?: Record<string, string> }
  | { dropAfterBytes: number }
  | { keepBytes: number }
);

export type YouTubeErrorName =
  | 'quotaExceeded'
  | 'uploadLimitExceeded'
  | 'rateLimitExceeded'
  | 'unauthorized'
  | 'forbidden'
  | 'insufficientPermissions'
  | 'youtubeSignupRequired'
  | 'internalError'
  | 'backendError';

export interface FakeUploadSession {
  id: string;
  /** The session URI handed out in Location. */
  uri: string;
  /** The video resource the session was started with, as sent. */
  resource: VideoResourceInput;
  notifySubscribers: boolean;
  /** X-Upload-Content-Length and X-Upload-Content-Type as sent. */
  declaredSize: number | undefined;
  declaredContentType: string | undefined;
  /** Bytes stored so far. */
  stored: number;
  /** Every chunk request: its Content-Range and Content-Type as sent, body bytes read, bytes kept. */
  chunks: { contentRange: string; contentType: string | undefined; bodyBytes: number; kept: number }[];
  /** Set once the last byte arrived. */
  videoId: string | undefined;
  /** Expired sessions answer this status (404 or 410). */
  expiredWith: number | undefined;
  /** The channel of the token that started the session. */
  channelId: string;
}

export interface FakeVideo {
  id: string;
  sessionId: string;
  title: string;
  description: string;
  tags: string[] | undefined;
  categoryId: string;
  privacyStatus: string;
  notifySubscribers: boolean;
  /** X-Upload-Content-Type of the session. */
  mimetype: string | undefined;
  size: number;
  sha256: string;
  /** The video resource the API answers for it. */
  resource: Record<string, unknown>;
}

export interface FakeRequest {
  method: string;
  step: YouTubeStep | 'unknown';
  /** Path and query as sent. */
  path: string;
  /** The bearer token sent, if any. */
  token: string | undefined;
  status: number | undefined;
  contentRange: string | undefined;
}

export interface YouTubeFake {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** For `youtube.apiBaseUrl` (YOUTUBE_API_BASE_URL). */
  readonly apiBaseUrl: string;
  /** For `youtube.uploadBaseUrl` (YOUTUBE_UPLOAD_BASE_URL). */
  readonly uploadBaseUrl: string;
  readonly sessions: readonly FakeUploadSession[];
  readonly videos: readonly FakeVideo[];
  /** Videos created since the start: a retried upload must not add a second one. */
  readonly videosCreated: number;
  /** Chunk body bytes read off the wire since the start, kept or not. */
  readonly bytesReceived: number;
  readonly requests: readonly FakeRequest[];
  readonly playlistItems: readonly { id: string; playlistId: string; videoId: string }[];
  /** The newest video with this title. */
  videoByTitle(title: string): FakeVideo | undefined;
  acceptToken(token: string): void;
  revokeToken(token: string): void;
  addPlaylist(id: string): void;
  /** Replaces the scripted faults. */
  setFaults(faults: YouTubeFault[]): void;
  addFault(fault: YouTubeFault): void;
  /** Reads chunk bodies at most this many bytes per second over all requests (0: no limit). */
  throttle(bytesPerSecond: number): void;
  /** Every session not finished yet answers `status` (404 or 410) from now on, as expired sessions do. */
  expireSessions(status?: 404 | 410): void;
  close(): Promise<void>;
}

interface VideoResourceInput {
  snippet?: { title?: unknown; description?: unknown; tags?: unknown; categoryId?: unknown };
  status?: { privacyStatus?: unknown };
}

type SessionState = FakeUploadSession & ResumableBytes;

type ActiveFault = YouTubeFault & { left: number };

const PRIVACY_STATUSES = new Set(['public', 'private', 'unlisted']);

export async function startYouTubeFake(options: YouTubeFakeOptions = {}): Promise<YouTubeFake> {
  const tokens = new Set(options.tokens ?? [YOUTUBE_FAKE_TOKEN]);
  const playlists = new Set(options.playlists ?? ['PLfakePlaylist']);
  const categories = new Set(options.categories ?? YOUTUBE_ASSIGNABLE_CATEGORIES);
  const defaultChannel = options.channelId ?? 'UCfakeChannel0000000000';
  const channelOf = options.channelOf ?? (() => defaultChannel);
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-youtube-fake-'));
  const sessions: SessionState[] = [];
  const videos: FakeVideo[] = [];
  const requests: FakeRequest[] = [];
  const playlistItems: { id: string; playlistId: string; videoId: string }[] = [];
  let faults: ActiveFault[] = [];
  const receiver = new ResumableReceiver(dir);
  let base = '';

  const isValid = async (token: string) => (options.validateToken ? options.validateToken(token) : tokens.has(token));

  const takeFault = (step: YouTubeStep): ActiveFault | undefined => {
    const index = faults.findIndex((f) => {
      // Faults about body bytes only make sense for chunks.
      if (('dropAfterBytes' in f || 'keepBytes' in f) && step !== 'chunk') return false;
      return f.step === undefined || (Array.isArray(f.step) ? f.step.includes(step) : f.step === step);
    });
    const fault = faults[index];
    if (!fault) return undefined;
    fault.left -= 1;
    if (fault.left <= 0) faults.splice(index, 1);
    return fault;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const step = stepOf(req.method ?? '', url, req.headers['content-range']);
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const record: FakeRequest = { method: req.method ?? '', step, path: `${url.pathname}${url.search}`, token, status: undefined, contentRange: req.headers['content-range'] };
    requests.push(record);
    // Clients going away is part of several tests (resets, aborts): never crash on it.
    req.on('error', () => undefined);
    res.on('finish', () => (record.status = res.statusCode));

    // Chunk bodies count toward bytesReceived even when they are refused.
    const drain = (answer: () => void) => receiver.drain(req, answer, step === 'chunk');
    void (async () => {
      if (step === 'unknown') return drain(() => sendJson(res, 404, googleError(404, 'notFound', 'Not Found', 'global')));
      const fault = takeFault(step);
      if (fault && ('error' in fault || 'status' in fault)) return drain(() => answerFault(res, fault));
      if (!token || !(await isValid(token))) return drain(() => answerFault(res, { error: 'unauthorized' }));
      switch (step) {
        case 'start':
          return startSession(req, res, url);
        case 'chunk':
        case 'status':
          return receiveChunk(req, res, url, fault, drain);
        case 'playlist':
          return insertPlaylistItem(req, res);
        case 'list':
          return drain(() => listVideos(res, url));
        case 'channels':
          return drain(() => listChannels(res, url, token));
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, googleError(500, 'internalError', `fake failed: ${(error as Error).message}`, 'global'));
    });
  });

  // ---- videos.insert, uploadType=resumable: the session start --------------------------

  async function startSession(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const text = await readText(req);
    if (url.searchParams.get('uploadType') !== 'resumable') {
      return sendJson(res, 400, googleError(400, 'badRequest', 'This fake only implements uploadType=resumable.', 'global'));
    }
    const parts = (url.searchParams.get('part') ?? '').split(',');
    if (!parts.includes('snippet')) return sendJson(res, 400, googleError(400, 'missingRequiredParameter', 'No filter selected. Expected one of: snippet, status.', 'youtube.parameter'));
    if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) {
      return sendJson(res, 400, googleError(400, 'badContent', 'The video resource must be sent as application/json.', 'global'));
    }
    let resource: VideoResourceInput;
    try {
      resource = JSON.parse(text) as VideoResourceInput;
    } catch {
      return sendJson(res, 400, googleError(400, 'parseError', 'Parse Error', 'global'));
    }
    // Uploading needs a channel: an account without one gets youtubeSignupRequired (401).
    const channelId = channelOf(headerToken(req));
    if (!channelId) return answerFault(res, { error: 'youtubeSignupRequired' });
    const problem = videoResourceProblem(resource, categories);
    if (problem) return sendJson(res, 400, googleError(400, problem.reason, problem.message, 'youtube.video'));

    const declared = req.headers['x-upload-content-length'];
    if (declared !== undefined && !/^\d+$/.test(String(declared))) {
      return sendJson(res, 400, googleError(400, 'badRequest', 'X-Upload-Content-Length must be a number of bytes.', 'global'));
    }
    const id = randomBytes(18).toString('base64url');
    const session: SessionState = {
      ...receiver.newUpload(id, declared === undefined ? undefined : Number(declared)),
      uri: `${base}/upload/youtube/v3/videos?uploadType=resumable&part=${encodeURIComponent(parts.join(','))}&upload_id=${id}`,
      resource,
      notifySubscribers: url.searchParams.get('notifySubscribers') !== 'false',
      declaredContentType: headerValue(req.headers['x-upload-content-type']),
      videoId: undefined,
      expiredWith: undefined,
      channelId,
    };
    sessions.push(session);
    res.writeHead(200, { location: session.uri, 'x-guploader-uploadid': id, 'content-length': '0' }).end();
  }

  // ---- PUT on the session URI: a chunk, or a status query -----------------------------

  function receiveChunk(req: IncomingMessage, res: ServerResponse, url: URL, fault: ActiveFault | undefined, drain: (answer: () => void) => void): void {
    const session = sessions.find((s) => s.id === url.searchParams.get('upload_id'));
    if (!session) return drain(() => sendJson(res, 404, googleError(404, 'notFound', 'Not Found', 'global')));
    if (session.expiredWith !== undefined) {
      const status = session.expiredWith;
      return drain(() => sendJson(res, status, googleError(status, 'notFound', 'The upload session does not exist or has expired.', 'global')));
    }
    if (session.videoId !== undefined) return drain(() => sendJson(res, 200, videoOf(session)!.resource));
    const bodyFault = fault && ('dropAfterBytes' in fault || 'keepBytes' in fault) ? fault : undefined;
    receiver.receive(req, res, session, bodyFault, {
      finish: () => finish(session, res),
      refuse: (message) => sendJson(res, 400, googleError(400, 'badContentRange', message, 'global')),
    });
  }

  function finish(session: SessionState, res: ServerResponse): void {
    const { sha256 } = receiver.complete(session);
    const id = randomBytes(8).toString('base64url'); // 11 characters, like real video ids
    const snippet = session.resource.snippet ?? {};
    const tags = Array.isArray(snippet.tags) ? (snippet.tags as string[]) : undefined;
    const privacyStatus = String(session.resource.status?.privacyStatus ?? 'public');
    const video: FakeVideo = {
      id,
      sessionId: session.id,
      title: String(snippet.title),
      description: String(snippet.description ?? ''),
      tags,
      categoryId: String(snippet.categoryId),
      privacyStatus,
      notifySubscribers: session.notifySubscribers,
      mimetype: session.declaredContentType,
      size: session.stored,
      sha256,
      resource: {
        kind: 'youtube#video',
        etag: randomBytes(12).toString('base64url'),
        id,
        snippet: {
          publishedAt: new Date().toISOString(),
          channelId: session.channelId,
          title: snippet.title,
          description: snippet.description ?? '',
          ...(tags ? { tags } : {}),
          categoryId: snippet.categoryId,
          liveBroadcastContent: 'none',
          localized: { title: snippet.title, description: snippet.description ?? '' },
        },
        status: { uploadStatus: 'uploaded', privacyStatus, license: 'youtube', embeddable: true, publicStatsViewable: true },
      },
    };
    session.videoId = id;
    videos.push(video);
    sendJson(res, 201, video.resource);
  }

  const videoOf = (session: FakeUploadSession) => videos.find((v) => v.id === session.videoId);

  // ---- playlistItems.insert and videos.list ---------------------------------------------

  async function insertPlaylistItem(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: { snippet?: { playlistId?: unknown; resourceId?: { kind?: unknown; videoId?: unknown } } };
    try {
      body = JSON.parse(await readText(req)) as typeof body;
    } catch {
      return sendJson(res, 400, googleError(400, 'parseError', 'Parse Error', 'global'));
    }
    const playlistId = body.snippet?.playlistId;
    const videoId = body.snippet?.resourceId?.videoId;
    if (typeof playlistId !== 'string' || !playlistId) {
      return sendJson(res, 400, googleError(400, 'playlistIdRequired', 'The request does not specify a value for the required <code>playlistId</code> property.', 'youtube.playlistItem'));
    }
    if (!playlists.has(playlistId)) {
      return sendJson(res, 404, googleError(404, 'playlistNotFound', 'The playlist identified with the request\'s <code>playlistId</code> parameter cannot be found.', 'youtube.playlistItem'));
    }
    if (body.snippet?.resourceId?.kind !== 'youtube#video' || typeof videoId !== 'string' || !videos.some((v) => v.id === videoId)) {
      return sendJson(res, 404, googleError(404, 'videoNotFound', 'The video that you are trying to add to the playlist cannot be found.', 'youtube.playlistItem'));
    }
    const item = { id: randomBytes(24).toString('base64url'), playlistId, videoId };
    playlistItems.push(item);
    sendJson(res, 200, {
      kind: 'youtube#playlistItem',
      id: item.id,
      snippet: { playlistId, position: playlistItems.filter((i) => i.playlistId === playlistId).length - 1, resourceId: { kind: 'youtube#video', videoId } },
    });
  }

  function listChannels(res: ServerResponse, url: URL, token: string): void {
    if (url.searchParams.get('mine') !== 'true') {
      return sendJson(res, 400, googleError(400, 'missingRequiredParameter', 'This fake only implements channels.list with mine=true.', 'youtube.parameter'));
    }
    const id = channelOf(token);
    sendJson(res, 200, { kind: 'youtube#channelListResponse', items: id ? [{ kind: 'youtube#channel', id }] : [], pageInfo: { totalResults: id ? 1 : 0, resultsPerPage: 5 } });
  }

  function listVideos(res: ServerResponse, url: URL): void {
    const ids = (url.searchParams.get('id') ?? '').split(',').filter(Boolean);
    const items = videos.filter((v) => ids.includes(v.id)).map((v) => v.resource);
    sendJson(res, 200, { kind: 'youtube#videoListResponse', items, pageInfo: { totalResults: items.length, resultsPerPage: items.length } });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiBaseUrl: `${base}/youtube/v3`,
    uploadBaseUrl: `${base}/upload/youtube/v3`,
    sessions,
    videos,
    get videosCreated() {
      return videos.length;
    },
    get bytesReceived() {
      return receiver.bytesReceived;
    },
    requests,
    playlistItems,
    videoByTitle: (title) => videos.filter((v) => v.title === title).at(-1),
    acceptToken: (token) => void tokens.add(token),
    revokeToken: (token) => void tokens.delete(token),
    addPlaylist: (id) => void playlists.add(id),
    setFaults(list) {
      faults = list.map((f) => ({ ...f, left: f.times ?? 1 }));
    },
    addFault(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    throttle(rate) {
      receiver.throttle(rate);
    },
    expireSessions(status = 404) {
      for (const s of sessions) if (s.videoId === undefined) s.expiredWith = status;
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

function stepOf(method: string, url: URL, contentRange: string | undefined): YouTubeStep | 'unknown' {
  const path = url.pathname;
  if (method === 'POST' && path === '/upload/youtube/v3/videos') return 'start';
  if (method === 'PUT' && path === '/upload/youtube/v3/videos' && url.searchParams.has('upload_id')) return /^bytes \*\//.test(contentRange ?? '') ? 'status' : 'chunk';
  if (method === 'POST' && path === '/youtube/v3/playlistItems') return 'playlist';
  if (method === 'GET' && path === '/youtube/v3/videos') return 'list';
  if (method === 'GET' && path === '/youtube/v3/channels') return 'channels';
  return 'unknown';
}

/** The first problem YouTube reports for a video resource, as its error reason and message. */
function videoResourceProblem(resource: VideoResourceInput, categories: Set<string>): { reason: string; message: string } | undefined {
  const snippet = resource.snippet;
  const title = snippet?.title;
  if (typeof title !== 'string' || title.trim() === '' || [...title].length > 100 || /[<>]/.test(title)) {
    return { reason: 'invalidTitle', message: 'The request metadata specifies an invalid or empty video title.' };
  }
  const description = snippet?.description ?? '';
  if (typeof description !== 'string' || Buffer.byteLength(description) > 5000 || /[<>]/.test(description)) {
    return { reason: 'invalidDescription', message: 'The request metadata specifies an invalid video description.' };
  }
  const tags = snippet?.tags;
  if (tags !== undefined && (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string' || /[<>,]/.test(t)) || tagsLength(tags as string[]) > 500)) {
    return { reason: 'invalidTags', message: 'The request metadata specifies invalid video keywords.' };
  }
  if (typeof snippet?.categoryId !== 'string' || !categories.has(snippet.categoryId)) {
    return {
      reason: 'invalidCategoryId',
      message: 'The <code>snippet.categoryId</code> property specifies an invalid category ID. Use the <code>videoCategories.list</code> method to retrieve supported categories.',
    };
  }
  const privacy = resource.status?.privacyStatus;
  if (privacy !== undefined && (typeof privacy !== 'string' || !PRIVACY_STATUSES.has(privacy))) {
    return { reason: 'invalidVideoMetadata', message: 'The request metadata is invalid: status.privacyStatus must be public, private or unlisted.' };
  }
  return undefined;
}

function tagsLength(tags: string[]): number {
  return tags.reduce((sum, tag) => sum + tag.length + (tag.includes(' ') ? 2 : 0), 0) + Math.max(0, tags.length - 1);
}

const NAMED_ERRORS: Record<YouTubeErrorName, { code: number; body: () => { error: Record<string, unknown> } }> = {
  quotaExceeded: {
    code: 403,
    body: () => googleError(403, 'quotaExceeded', 'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.', 'youtube.quota'),
  },
  uploadLimitExceeded: { code: 400, body: () => googleError(400, 'uploadLimitExceeded', 'The user has exceeded the number of videos they may upload.', 'youtube.video') },
  rateLimitExceeded: { code: 403, body: () => googleError(403, 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits') },
  unauthorized: {
    code: 401,
    body: () => ({
      error: {
        code: 401,
        message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        errors: [{ message: 'Invalid Credentials', domain: 'global', reason: 'authError', location: 'Authorization', locationType: 'header' }],
        status: 'UNAUTHENTICATED',
      },
    }),
  },
  forbidden: { code: 403, body: () => googleError(403, 'forbidden', 'Access forbidden. The request may not be properly authorized.', 'youtube.video', 'PERMISSION_DENIED') },
  insufficientPermissions: {
    code: 403,
    body: () => googleError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.', 'global', 'PERMISSION_DENIED'),
  },
  youtubeSignupRequired: {
    code: 401,
    body: () => googleError(401, 'youtubeSignupRequired', 'The user has an unlinked Google Account: it has no YouTube channel.', 'youtube.header', 'UNAUTHENTICATED'),
  },
  internalError: { code: 500, body: () => googleError(500, 'internalError', 'Internal error encountered.', 'global', 'INTERNAL') },
  backendError: { code: 503, body: () => googleError(503, 'backendError', 'The service is currently unavailable.', 'global', 'UNAVAILABLE') },
};

function answerFault(res: ServerResponse, fault: { error: YouTubeErrorName } | { status: number; reason?: string; message?: string; body?: string; headers?: Record<string, string> }): void {
  if ('error' in fault) {
    const named = NAMED_ERRORS[fault.error];
    return sendJson(res, named.code, named.body());
  }
  if (fault.body !== undefined) {
    res.writeHead(fault.status, fault.headers).end(fault.body);
    return;
  }
  sendJson(res, fault.status, googleError(fault.status, fault.reason ?? 'backendError', fault.message ?? `Scripted ${fault.status}.`, 'global'), fault.headers);
}

function headerToken(req: IncomingMessage): string {
  return /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
