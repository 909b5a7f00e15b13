import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GOOGLE_CHUNK_UNIT, ResumableReceiver, googleError, readText, sendJson, type ResumableBytes } from './google-resumable.js';

export { googleError };

/**
 * A local stand-in for the YouTube Data API v3, for the parts the fleet uses: the
 * resumable upload of videos.insert, thumbnails.set, captions.insert, playlists.list and
 * playlists.insert, playlistItems.insert, and videos.list with a scripted processing
 * verdict. It is a real node:http server on 127.0.0.1 and checks what the real platform
 * checks:
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
 * - the publishing options: status.publishAt only with privacyStatus private and in the
 *   future (invalidPublishAt), snippet.defaultLanguage and defaultAudioLanguage among
 *   YouTube's languages (invalidVideoMetadata), selfDeclaredMadeForKids a boolean;
 * - thumbnails.set: a video of the channel (videoNotFound), an image body (mediaBodyRequired),
 *   JPEG or PNG bytes under an accepted Content-Type (invalidImage), at most 2 MB;
 * - captions.insert: part=snippet, a multipart/related body of the caption resource and
 *   the file (contentRequired), a video of the channel, one track per language and name
 *   (captionExists, 409);
 * - playlists.list (mine=true, pages of maxResults), playlists.insert (a title), and
 *   playlistItems.insert into an existing playlist;
 * - videos.list: `part` required, only the parts asked for; status and processingDetails
 *   move from uploaded/processing to the scripted verdict (processed, rejected with a
 *   rejectionReason, failed with a failureReason) after a number of reads; an unverified
 *   API project's videos are private whatever was asked (youtube/api-samples#364);
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
 * Methods: https://developers.google.com/youtube/v3/docs/thumbnails/set, .../captions/insert,
 * .../playlists/list, .../playlists/insert, .../playlistItems/insert, .../videos/list
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
  /** Playlists that exist (an id, or an id and a title); default ['PLfakePlaylist']. */
  playlists?: (string | { id: string; title: string })[];
  /** Videos of this API project are locked private, as for unverified projects (default false). */
  unverifiedProject?: boolean;
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
export type YouTubeStep = 'start' | 'chunk' | 'status' | 'playlist' | 'playlists' | 'thumbnail' | 'caption' | 'list' | 'channels';

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
  defaultLanguage: string | undefined;
  defaultAudioLanguage: string | undefined;
  publishAt: string | undefined;
  selfDeclaredMadeForKids: boolean | undefined;
  /** The video resource the API answers for it (status and processingDetails follow the verdict). */
  resource: Record<string, unknown>;
  /** videos.list reads of its status so far. */
  statusReads: number;
  /** What its processing comes to, and after how many reads. */
  processing: FakeProcessing;
}

/**
 * How processing of the videos created from now ends: after `reads` videos.list reads of
 * their status (0: at the first), processed, rejected (duplicate, termsOfUse, ...) or failed
 * (codec, conversion, ...). Default: processed at the first read.
 */
export interface FakeProcessing {
  reads: number;
  verdict: { outcome: 'processed' } | { outcome: 'rejected'; rejectionReason: string } | { outcome: 'failed'; failureReason: string; processingFailureReason?: string };
}

export interface FakePlaylist {
  id: string;
  title: string;
  privacyStatus: string;
  channelId: string;
}

export interface FakeThumbnail {
  videoId: string;
  contentType: string;
  size: number;
  sha256: string;
}

export interface FakeCaption {
  id: string;
  videoId: string;
  language: string;
  name: string;
  /** The file as received. */
  text: string;
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
  readonly playlists: readonly FakePlaylist[];
  readonly thumbnails: readonly FakeThumbnail[];
  readonly captions: readonly FakeCaption[];
  /** The newest video with this title. */
  videoByTitle(title: string): FakeVideo | undefined;
  acceptToken(token: string): void;
  revokeToken(token: string): void;
  addPlaylist(id: string, title?: string): void;
  /** How processing ends for the videos created from now. */
  setProcessing(processing: FakeProcessing): void;
  setUnverifiedProject(unverified: boolean): void;
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
  snippet?: { title?: unknown; description?: unknown; tags?: unknown; categoryId?: unknown; defaultLanguage?: unknown; defaultAudioLanguage?: unknown };
  status?: { privacyStatus?: unknown; publishAt?: unknown; selfDeclaredMadeForKids?: unknown };
}

/** A part of YouTube's i18nLanguages list (https://developers.google.com/youtube/v3/docs/i18nLanguages/list). */
export const YOUTUBE_FAKE_LANGUAGES = ['ar', 'de', 'de-AT', 'de-CH', 'en', 'en-GB', 'en-US', 'es', 'es-419', 'fr', 'fr-CA', 'hi', 'it', 'ja', 'ko', 'nl', 'no', 'pl', 'pt', 'pt-BR', 'ru', 'sv', 'tr', 'uk', 'zh-Hans', 'zh-Hant'];

const THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024;
const CAPTION_MAX_BYTES = 100 * 1024 * 1024;
const THUMBNAIL_TYPES = new Set(['image/jpeg', 'image/png', 'application/octet-stream']);

type SessionState = FakeUploadSession & ResumableBytes;

type ActiveFault = YouTubeFault & { left: number };

const PRIVACY_STATUSES = new Set(['public', 'private', 'unlisted']);

export async function startYouTubeFake(options: YouTubeFakeOptions = {}): Promise<YouTubeFake> {
  const tokens = new Set(options.tokens ?? [YOUTUBE_FAKE_TOKEN]);
  const defaultChannelForPlaylists = options.channelId ?? 'UCfakeChannel0000000000';
  const playlists: FakePlaylist[] = (options.playlists ?? ['PLfakePlaylist']).map((p) =>
    typeof p === 'string' ? { id: p, title: p, privacyStatus: 'public', channelId: defaultChannelForPlaylists } : { ...p, privacyStatus: 'public', channelId: defaultChannelForPlaylists },
  );
  const thumbnails: FakeThumbnail[] = [];
  const captions: FakeCaption[] = [];
  let processing: FakeProcessing = { reads: 0, verdict: { outcome: 'processed' } };
  let unverifiedProject = options.unverifiedProject ?? false;
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
        case 'playlists':
          return req.method === 'GET' ? drain(() => listPlaylists(res, url, token)) : insertPlaylist(req, res, url, token);
        case 'thumbnail':
          return setThumbnail(req, res, url, token);
        case 'caption':
          return insertCaption(req, res, url, token);
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
    const status = session.resource.status ?? {};
    const asked = String(status.privacyStatus ?? 'public');
    // Unverified API projects: "restricted to private viewing mode" whatever was asked.
    const privacyStatus = unverifiedProject ? 'private' : asked;
    const defaultLanguage = typeof snippet.defaultLanguage === 'string' ? snippet.defaultLanguage : undefined;
    const defaultAudioLanguage = typeof snippet.defaultAudioLanguage === 'string' ? snippet.defaultAudioLanguage : undefined;
    const publishAt = typeof status.publishAt === 'string' ? status.publishAt : undefined;
    const madeForKids = typeof status.selfDeclaredMadeForKids === 'boolean' ? status.selfDeclaredMadeForKids : undefined;
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
      defaultLanguage,
      defaultAudioLanguage,
      publishAt,
      selfDeclaredMadeForKids: madeForKids,
      statusReads: 0,
      processing,
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
          ...(defaultLanguage ? { defaultLanguage } : {}),
          ...(defaultAudioLanguage ? { defaultAudioLanguage } : {}),
          localized: { title: snippet.title, description: snippet.description ?? '' },
        },
        status: {
          uploadStatus: 'uploaded',
          privacyStatus,
          ...(publishAt ? { publishAt } : {}),
          license: 'youtube',
          embeddable: true,
          publicStatsViewable: true,
          ...(madeForKids !== undefined ? { selfDeclaredMadeForKids: madeForKids, madeForKids } : {}),
        },
        processingDetails: { processingStatus: 'processing' },
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
    if (!playlists.some((p) => p.id === playlistId)) {
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
    const parts = (url.searchParams.get('part') ?? '').split(',').filter(Boolean);
    if (parts.length === 0) return sendJson(res, 400, googleError(400, 'missingRequiredParameter', 'No filter selected. Expected one of: snippet, status, processingDetails, ...', 'youtube.parameter'));
    const ids = (url.searchParams.get('id') ?? '').split(',').filter(Boolean);
    const items = videos
      .filter((v) => ids.includes(v.id))
      .map((v) => {
        if (parts.includes('status') || parts.includes('processingDetails')) advanceProcessing(v);
        const { kind, etag, id, ...rest } = v.resource;
        return { kind, etag, id, ...Object.fromEntries(Object.entries(rest).filter(([part]) => parts.includes(part))) };
      });
    sendJson(res, 200, { kind: 'youtube#videoListResponse', items, pageInfo: { totalResults: items.length, resultsPerPage: items.length } });
  }

  /** One more read of a video's status: at the scripted read, processing reaches its verdict. */
  function advanceProcessing(video: FakeVideo): void {
    video.statusReads += 1;
    if (video.statusReads <= video.processing.reads) return;
    const status = video.resource.status as Record<string, unknown>;
    const verdict = video.processing.verdict;
    if (verdict.outcome === 'processed') {
      status.uploadStatus = 'processed';
      video.resource.processingDetails = { processingStatus: 'succeeded' };
    } else if (verdict.outcome === 'rejected') {
      status.uploadStatus = 'rejected';
      status.rejectionReason = verdict.rejectionReason;
      video.resource.processingDetails = { processingStatus: 'terminated' };
    } else {
      status.uploadStatus = 'failed';
      status.failureReason = verdict.failureReason;
      video.resource.processingDetails = { processingStatus: 'failed', ...(verdict.processingFailureReason ? { processingFailureReason: verdict.processingFailureReason } : {}) };
    }
  }

  // ---- playlists.list and playlists.insert ----------------------------------------------

  function listPlaylists(res: ServerResponse, url: URL, token: string): void {
    if (url.searchParams.get('mine') !== 'true') {
      return sendJson(res, 400, googleError(400, 'missingRequiredParameter', 'This fake only implements playlists.list with mine=true.', 'youtube.parameter'));
    }
    if (!(url.searchParams.get('part') ?? '').split(',').includes('snippet')) {
      return sendJson(res, 400, googleError(400, 'missingRequiredParameter', 'No filter selected. Expected one of: snippet, status, id, contentDetails.', 'youtube.parameter'));
    }
    const pageSize = Math.min(50, Math.max(0, Number(url.searchParams.get('maxResults') ?? '5')));
    const start = Number(url.searchParams.get('pageToken') ?? '0');
    const mine = playlists.filter((p) => p.channelId === channelOf(token));
    const page = mine.slice(start, start + pageSize);
    const next = start + pageSize < mine.length ? String(start + pageSize) : undefined;
    sendJson(res, 200, {
      kind: 'youtube#playlistListResponse',
      ...(next ? { nextPageToken: next } : {}),
      pageInfo: { totalResults: mine.length, resultsPerPage: pageSize },
      items: page.map((p) => ({ kind: 'youtube#playlist', id: p.id, snippet: { title: p.title, channelId: p.channelId }, status: { privacyStatus: p.privacyStatus } })),
    });
  }

  async function insertPlaylist(req: IncomingMessage, res: ServerResponse, url: URL, token: string): Promise<void> {
    let body: { snippet?: { title?: unknown }; status?: { privacyStatus?: unknown } };
    try {
      body = JSON.parse(await readText(req)) as typeof body;
    } catch {
      return sendJson(res, 400, googleError(400, 'parseError', 'Parse Error', 'global'));
    }
    if (!(url.searchParams.get('part') ?? '').split(',').includes('snippet')) {
      return sendJson(res, 400, googleError(400, 'missingRequiredParameter', 'No filter selected. Expected one of: snippet, status.', 'youtube.parameter'));
    }
    const title = body.snippet?.title;
    if (typeof title !== 'string' || title.trim() === '') {
      return sendJson(res, 400, googleError(400, 'playlistTitleRequired', 'The request must specify a playlist title.', 'youtube.playlist'));
    }
    const privacy = body.status?.privacyStatus ?? 'public';
    if (typeof privacy !== 'string' || !PRIVACY_STATUSES.has(privacy)) {
      return sendJson(res, 400, googleError(400, 'invalidPlaylistSnippet', 'The request provides an invalid playlist snippet.', 'youtube.playlist'));
    }
    const playlist: FakePlaylist = { id: `PL${randomBytes(16).toString('base64url')}`, title, privacyStatus: privacy, channelId: channelOf(token) ?? defaultChannel };
    playlists.push(playlist);
    sendJson(res, 200, { kind: 'youtube#playlist', id: playlist.id, snippet: { title, channelId: playlist.channelId }, status: { privacyStatus: privacy } });
  }

  // ---- thumbnails.set and captions.insert ------------------------------------------------

  async function setThumbnail(req: IncomingMessage, res: ServerResponse, url: URL, token: string): Promise<void> {
    const body = await readBody(req, THUMBNAIL_MAX_BYTES);
    const video = videos.find((v) => v.id === url.searchParams.get('videoId'));
    if (!video || channelOfVideo(video) !== channelOf(token)) {
      return sendJson(res, 404, googleError(404, 'videoNotFound', 'The video that you are trying to insert a thumbnail image for cannot be found. Check the value of the request\'s <code>videoId</code> parameter.', 'youtube.thumbnail'));
    }
    if (body === 'too large') return sendJson(res, 413, googleError(413, 'uploadTooLarge', 'Media larger than 2097152 bytes.', 'global'));
    if (body.length === 0) return sendJson(res, 400, googleError(400, 'mediaBodyRequired', 'The request does not include the image content.', 'youtube.thumbnail'));
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const isImage = (body[0] === 0xff && body[1] === 0xd8 && body[2] === 0xff) || body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    if (!THUMBNAIL_TYPES.has(contentType) || !isImage) return sendJson(res, 400, googleError(400, 'invalidImage', 'The provided image content is invalid.', 'youtube.thumbnail'));
    thumbnails.push({ videoId: video.id, contentType, size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    const thumbnailUrl = `https://i.ytimg.com/vi/${video.id}/maxresdefault.jpg`;
    sendJson(res, 200, { kind: 'youtube#thumbnailSetResponse', etag: randomBytes(12).toString('base64url'), items: [{ default: { url: thumbnailUrl, width: 120, height: 90 } }] });
  }

  async function insertCaption(req: IncomingMessage, res: ServerResponse, url: URL, token: string): Promise<void> {
    const body = await readBody(req, CAPTION_MAX_BYTES + 64 * 1024);
    if (!(url.searchParams.get('part') ?? '').split(',').includes('snippet')) {
      return sendJson(res, 400, googleError(400, 'missingRequiredParameter', 'No filter selected. Expected one of: snippet, id.', 'youtube.parameter'));
    }
    if (body === 'too large') return sendJson(res, 413, googleError(413, 'uploadTooLarge', 'Media larger than 104857600 bytes.', 'global'));
    const parts = multipartRelatedParts(req.headers['content-type'], body);
    if (!parts || parts.length !== 2 || parts[1]!.body.length === 0) {
      return sendJson(res, 400, googleError(400, 'contentRequired', 'The request does not contain the caption track contents.', 'youtube.caption'));
    }
    let resource: { snippet?: { videoId?: unknown; language?: unknown; name?: unknown } };
    try {
      resource = JSON.parse(parts[0]!.body.toString('utf8')) as typeof resource;
    } catch {
      return sendJson(res, 400, googleError(400, 'parseError', 'Parse Error', 'global'));
    }
    const { videoId, language, name } = resource.snippet ?? {};
    const video = videos.find((v) => v.id === videoId);
    if (!video || channelOfVideo(video) !== channelOf(token)) {
      return sendJson(res, 404, googleError(404, 'videoNotFound', 'The video identified by the <code>videoId</code> parameter could not be found.', 'youtube.caption'));
    }
    if (typeof language !== 'string' || !YOUTUBE_FAKE_LANGUAGES.some((l) => l.toLowerCase() === language.toLowerCase()) || typeof name !== 'string') {
      return sendJson(res, 400, googleError(400, 'invalidMetadata', 'The request contains invalid metadata values, which prevent the track from being created.', 'youtube.caption'));
    }
    if (captions.some((c) => c.videoId === video.id && c.language.toLowerCase() === language.toLowerCase() && c.name === name)) {
      return sendJson(res, 409, googleError(409, 'captionExists', 'The specified video already has a caption track with the given <code>snippet.language</code> and <code>snippet.name</code>.', 'youtube.caption'));
    }
    const caption: FakeCaption = { id: randomBytes(20).toString('base64url'), videoId: video.id, language, name, text: parts[1]!.body.toString('utf8') };
    captions.push(caption);
    sendJson(res, 200, { kind: 'youtube#caption', id: caption.id, snippet: { videoId: video.id, language, name, trackKind: 'standard', isDraft: false, status: 'serving' } });
  }

  const channelOfVideo = (video: FakeVideo) => sessions.find((s) => s.id === video.sessionId)?.channelId;

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
    playlists,
    thumbnails,
    captions,
    videoByTitle: (title) => videos.filter((v) => v.title === title).at(-1),
    acceptToken: (token) => void tokens.add(token),
    revokeToken: (token) => void tokens.delete(token),
    addPlaylist: (id, title = id) => void playlists.push({ id, title, privacyStatus: 'public', channelId: defaultChannel }),
    setProcessing(next) {
      processing = next;
    },
    setUnverifiedProject(unverified) {
      unverifiedProject = unverified;
    },
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
  if ((method === 'GET' || method === 'POST') && path === '/youtube/v3/playlists') return 'playlists';
  if (method === 'POST' && path === '/upload/youtube/v3/thumbnails/set') return 'thumbnail';
  if (method === 'POST' && path === '/upload/youtube/v3/captions') return 'caption';
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
  // "It can be set only if the privacy status of the video is private", and lies in the future.
  const publishAt = resource.status?.publishAt;
  if (publishAt !== undefined && (typeof publishAt !== 'string' || Number.isNaN(Date.parse(publishAt)) || Date.parse(publishAt) <= Date.now() || privacy !== 'private')) {
    return { reason: 'invalidPublishAt', message: 'The request metadata specifies an invalid scheduled publishing time.' };
  }
  for (const language of [snippet?.defaultLanguage, snippet?.defaultAudioLanguage]) {
    if (language !== undefined && (typeof language !== 'string' || !YOUTUBE_FAKE_LANGUAGES.includes(language))) {
      return { reason: 'invalidVideoMetadata', message: 'The request metadata is invalid.' };
    }
  }
  const kids = resource.status?.selfDeclaredMadeForKids;
  if (kids !== undefined && typeof kids !== 'boolean') return { reason: 'invalidVideoMetadata', message: 'The request metadata is invalid.' };
  return undefined;
}

/** A request body of at most `max` bytes, or 'too large' (the rest is read and dropped). */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too large'> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length <= max) chunks.push(chunk);
  }
  return length > max ? 'too large' : Buffer.concat(chunks);
}

/** The parts of a multipart/related body (Google's multipart upload), or undefined when it is not one. */
function multipartRelatedParts(contentType: string | undefined, body: Buffer): { headers: string; body: Buffer }[] | undefined {
  const match = /^multipart\/related;\s*boundary="?([^";]+)"?/i.exec(contentType ?? '');
  if (!match) return undefined;
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts: { headers: string; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) return undefined;
  for (;;) {
    const afterDelimiter = at + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') return parts;
    const headerEnd = body.indexOf('\r\n\r\n', afterDelimiter);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), afterDelimiter);
    if (headerEnd < 0 || next < 0 || headerEnd > next) return undefined;
    parts.push({ headers: body.subarray(afterDelimiter, headerEnd).toString('utf8'), body: body.subarray(headerEnd + 4, next) });
    at = next + 2;
  }
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
