import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOAuthServer, type FakeOAuthServer } from './oauth.js';

/**
 * A local stand-in for TikTok's Content Posting API, Direct Post with FILE_UPLOAD, and the
 * upload URL it hands out, on one node:http server on 127.0.0.1. Tokens come from the
 * testkit's OAuth fake (`flavor: 'tiktok'`) through `validateToken` and `creatorOf`. It
 * checks what TikTok documents and answers in TikTok's envelope,
 * `{ "data": {...}, "error": { "code", "message", "log_id" } }`:
 *
 * - every API request needs `Authorization: Bearer <token>` of a valid token (401
 *   access_token_invalid) and `Content-Type: application/json` (400 invalid_param);
 * - creator_info/query (https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info)
 *   answers the creator's username and privacy_level_options (a public account's by default);
 * - video/init (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post):
 *   post_info.privacy_level among the creator's options (403 privacy_level_option_mismatch),
 *   title at most 2200 UTF-16 units, the booleans booleans, video_cover_timestamp_ms a
 *   non-negative integer, no other field (the strict choice: TikTok does not say whether it
 *   ignores unknown ones); an unaudited client may post SELF_ONLY only (403
 *   unaudited_client_can_only_post_to_private_accounts); source_info FILE_UPLOAD with a
 *   chunk plan that keeps the Media Transfer Guide's rules
 *   (https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide): count =
 *   size / chunk rounded down, chunks 5 MiB..64 MB, the final one up to 128 MB, files under
 *   5 MiB whole, 1..1000 chunks (each bound read the strict way, see chunk-plan.ts of the
 *   adapter); 6 inits a minute per token (429 rate_limit_exceeded) and 15 posts per creator
 *   in 24 hours (403 spam_risk_too_many_posts);
 * - the upload URL takes the chunks in order: `Content-Range: bytes a-b/total` with the
 *   plan's total and exactly the next chunk's range, Content-Length to match,
 *   `Content-Type` video/mp4, video/quicktime or video/webm; 206 for a chunk, 201 for the
 *   last. Undocumented, so strict: a chunk is kept whole or not at all (a connection cut
 *   mid-chunk keeps nothing of it), a chunk out of order is 416 with TikTok's envelope, and
 *   an upload URL older than an hour (`uploadUrlTtlMs`) answers 404;
 * - status/fetch (https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status):
 *   PROCESSING_UPLOAD with uploaded_bytes until the last chunk, then PROCESSING_DOWNLOAD,
 *   then PUBLISH_COMPLETE (`publishAfterMs`) with publicaly_available_post_id (TikTok's
 *   spelling; an int64, written as a 19-digit number) for posts others may see; a post of
 *   another creator's token is 403 (strict).
 *
 * Faults can be scripted per step, in TikTok's error format; `dropAfterBytes` cuts a chunk's
 * connection.
 */

export type TikTokFakeStep = 'creator-info' | 'init' | 'chunk' | 'status';

export type TikTokFault = { step: TikTokFakeStep; times?: number } & ({ status: number; code: string; message?: string; headers?: Record<string, string> } | { dropAfterBytes: number });

export interface FakeTikTokPost {
  publishId: string;
  creator: string;
  postInfo: Record<string, unknown>;
  sourceInfo: { video_size: number; chunk_size: number; total_chunk_count: number };
  uploadToken: string;
  initiatedAt: number;
  stored: number;
  chunksReceived: number;
  contentRanges: string[];
  contentTypes: string[];
  status: 'PROCESSING_UPLOAD' | 'PROCESSING_DOWNLOAD' | 'PUBLISH_COMPLETE' | 'FAILED';
  sha256?: string;
  postId?: string;
  failReason?: string;
}

export interface TikTokFakeOptions {
  /** True for a token the OAuth fake issued and that is still valid. */
  validateToken: (token: string) => boolean;
  /** The creator (username) a valid token belongs to. */
  creatorOf: (token: string) => string;
  /** The creator's allowed privacy levels (default: a public account's). */
  privacyLevelOptions?: string[];
  /** False: the client is not audited, only SELF_ONLY posts are accepted (default true). */
  audited?: boolean;
  /** From the last chunk to PUBLISH_COMPLETE (default 50 ms). */
  publishAfterMs?: number;
  /** How long an upload URL works after the init (TikTok: one hour). */
  uploadUrlTtlMs?: number;
  /** Posts per creator in 24 hours (default 15). */
  postsPerDay?: number;
  /** video/init requests per token a minute (default 6). */
  initsPerMinute?: number;
}

export interface TikTokFake {
  readonly url: string;
  /** What TIKTOK_API_BASE_URL would be. */
  readonly apiBaseUrl: string;
  readonly posts: FakeTikTokPost[];
  /** Every API request: step, the token's creator (or undefined), the answer's status and error code. */
  readonly requests: { step: TikTokFakeStep | 'unknown'; creator: string | undefined; status: number; code: string }[];
  /** The raw JSON bodies of video/init requests. */
  readonly initBodies: Record<string, unknown>[];
  readonly bytesReceived: number;
  /** The newest post whose title is `title`. */
  postByTitle(title: string): FakeTikTokPost | undefined;
  setFaults(faults: TikTokFault[]): void;
  setPrivacyLevelOptions(options: string[]): void;
  setAudited(audited: boolean): void;
  /** Makes the upload URLs of every unfinished post answer 404 (as after its hour). */
  expireUploadUrls(): void;
  /** Makes posts that finish from now on FAIL with this fail_reason; undefined restores publishing. */
  failPublishing(reason: string | undefined): void;
  /** From the last chunk to PUBLISH_COMPLETE, for posts that finish from now on. */
  setPublishAfterMs(ms: number): void;
  throttle(bytesPerSecond: number): void;
  close(): Promise<void>;
}

const PRIVACY_LEVELS = new Set(['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR', 'SELF_ONLY']);
const POST_INFO_FIELDS = new Set(['title', 'privacy_level', 'disable_duet', 'disable_stitch', 'disable_comment', 'video_cover_timestamp_ms', 'brand_content_toggle', 'brand_organic_toggle', 'is_aigc']);
const VIDEO_TYPES = new Set(['video/mp4', 'video/quicktime', 'video/webm']);
const MiB = 1024 * 1024;
const MIN_CHUNK = 5 * MiB;
const MAX_CHUNK = 64_000_000;
const MAX_FINAL_CHUNK = 128_000_000;
const DAY_MS = 24 * 60 * 60_000;
const MAX_JSON_BODY = 64 * 1024;

export async function startTikTokFake(options: TikTokFakeOptions): Promise<TikTokFake> {
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-tiktok-fake-'));
  const posts: FakeTikTokPost[] = [];
  const files = new Map<string, { fd: number; hash: Hash }>();
  const requests: TikTokFake['requests'] = [];
  const initBodies: Record<string, unknown>[] = [];
  const initTimes = new Map<string, number[]>();
  const timers = new Set<NodeJS.Timeout>();
  let privacyLevelOptions = options.privacyLevelOptions ?? ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY'];
  let audited = options.audited ?? true;
  let publishFailure: string | undefined;
  let faults: (TikTokFault & { left: number })[] = [];
  let bytesReceived = 0;
  let bytesPerSecond = 0;
  let readyAt = 0;
  let base = '';
  const uploadUrlTtlMs = options.uploadUrlTtlMs ?? 60 * 60_000;
  let publishAfterMs = options.publishAfterMs ?? 50;
  const postsPerDay = options.postsPerDay ?? 15;
  const initsPerMinute = options.initsPerMinute ?? 6;

  const takeFault = (step: TikTokFakeStep) => {
    const fault = faults.find((f) => f.step === step && f.left > 0);
    if (fault) fault.left -= 1;
    return fault;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'PUT' && url.pathname === '/upload/') return receiveChunk(req, res, url);
    const step = stepOf(req.method, url.pathname);
    const record = { step, creator: undefined as string | undefined, status: 200, code: 'ok' };
    requests.push(record);
    const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      record.status = status;
      record.code = code;
      sendEnvelope(res, status, {}, { code, message }, headers);
    };
    if (step === 'unknown') return drain(req, () => fail(404, 'not_found', 'The requested API does not exist.'));
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !options.validateToken(token)) {
      return drain(req, () => fail(401, 'access_token_invalid', 'The access token is invalid or not found in the request.'));
    }
    const creator = options.creatorOf(token);
    record.creator = creator;
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return drain(req, () => fail(400, 'invalid_param', 'Content-Type must be application/json; charset=UTF-8.'));
    const fault = takeFault(step);
    if (fault && 'status' in fault) return drain(req, () => fail(fault.status, fault.code, fault.message ?? `Scripted ${fault.code}.`, fault.headers));
    readJson(req).then(
      (body) => {
        if (step === 'creator-info') return creatorInfo(creator, res);
        if (step === 'init') return init(token, creator, body, fail, res);
        return status(creator, body, fail, res);
      },
      () => fail(400, 'invalid_param', 'The request body is not valid JSON.'),
    );
  });

  function creatorInfo(creator: string, res: ServerResponse): void {
    sendEnvelope(res, 200, {
      creator_avatar_url: `${base}/avatar/${creator}.jpg`,
      creator_username: creator,
      creator_nickname: creator,
      privacy_level_options: privacyLevelOptions,
      comment_disabled: false,
      duet_disabled: false,
      stitch_disabled: false,
      max_video_post_duration_sec: 600,
    });
  }

  type Fail = (status: number, code: string, message: string) => void;

  function init(token: string, creator: string, body: unknown, fail: Fail, res: ServerResponse): void {
    const now = Date.now();
    const recent = (initTimes.get(token) ?? []).filter((t) => t > now - 60_000);
    if (recent.length >= initsPerMinute) return fail(429, 'rate_limit_exceeded', 'API rate limit exceeded, please retry later.');
    initTimes.set(token, [...recent, now]);
    if (!isObject(body) || !isObject(body.post_info) || !isObject(body.source_info)) return fail(400, 'invalid_param', 'post_info and source_info are required.');
    initBodies.push(body);
    const postInfo = body.post_info;
    const unknown = Object.keys(postInfo).find((k) => !POST_INFO_FIELDS.has(k));
    if (unknown) return fail(400, 'invalid_param', `Unknown field post_info.${unknown}.`);
    if (typeof postInfo.privacy_level !== 'string' || !PRIVACY_LEVELS.has(postInfo.privacy_level)) return fail(400, 'invalid_param', 'post_info.privacy_level is invalid.');
    if (postInfo.title !== undefined && (typeof postInfo.title !== 'string' || postInfo.title.length > 2200)) return fail(400, 'invalid_param', 'post_info.title must be a string of at most 2200 UTF-16 runes.');
    for (const flag of ['disable_duet', 'disable_stitch', 'disable_comment'] as const) {
      if (postInfo[flag] !== undefined && typeof postInfo[flag] !== 'boolean') return fail(400, 'invalid_param', `post_info.${flag} must be a boolean.`);
    }
    const cover = postInfo.video_cover_timestamp_ms;
    if (cover !== undefined && (typeof cover !== 'number' || !Number.isInteger(cover) || cover < 0)) return fail(400, 'invalid_param', 'post_info.video_cover_timestamp_ms must be a non-negative integer.');
    const source = body.source_info;
    if (source.source !== 'FILE_UPLOAD') return fail(400, 'invalid_param', 'source_info.source must be FILE_UPLOAD or PULL_FROM_URL; this fake serves FILE_UPLOAD.');
    const plan = { video_size: source.video_size, chunk_size: source.chunk_size, total_chunk_count: source.total_chunk_count };
    const planProblem = chunkRulesBroken(plan);
    if (planProblem) return fail(400, 'invalid_param', `The chunk plan is invalid: ${planProblem}.`);
    if (!privacyLevelOptions.includes(postInfo.privacy_level)) {
      return fail(403, 'privacy_level_option_mismatch', 'The privacy level is not among the options the creator has.');
    }
    if (!audited && postInfo.privacy_level !== 'SELF_ONLY') {
      return fail(403, 'unaudited_client_can_only_post_to_private_accounts', 'Unaudited clients can only post to a private account.');
    }
    if (posts.filter((p) => p.creator === creator && p.initiatedAt > now - DAY_MS).length >= postsPerDay) {
      return fail(403, 'spam_risk_too_many_posts', 'The user has reached the maximum number of posts allowed for the day.');
    }
    const post: FakeTikTokPost = {
      publishId: `v_pub_file~v2-1.${randomDigits(19)}`,
      creator,
      postInfo,
      sourceInfo: plan as FakeTikTokPost['sourceInfo'],
      uploadToken: randomBytes(18).toString('base64url'),
      initiatedAt: now,
      stored: 0,
      chunksReceived: 0,
      contentRanges: [],
      contentTypes: [],
      status: 'PROCESSING_UPLOAD',
    };
    posts.push(post);
    sendEnvelope(res, 200, { publish_id: post.publishId, upload_url: `${base}/upload/?upload_id=${encodeURIComponent(post.publishId)}&upload_token=${post.uploadToken}` });
  }

  function status(creator: string, body: unknown, fail: Fail, res: ServerResponse): void {
    const publishId = isObject(body) ? body.publish_id : undefined;
    const post = posts.find((p) => p.publishId === publishId);
    if (!post) return fail(400, 'invalid_publish_id', 'The publish_id does not exist.');
    if (post.creator !== creator) return fail(403, 'invalid_publish_id', 'The publish_id belongs to another user.');
    const data: Record<string, unknown> = { status: post.status, uploaded_bytes: post.stored };
    if (post.failReason) data.fail_reason = post.failReason;
    // The id is an int64: written as a bare 19-digit number, as TikTok writes it.
    const ids = post.postId ? `[${post.postId}]` : '[]';
    const text = JSON.stringify({ data: { ...data, publicaly_available_post_id: '__IDS__' }, error: { code: 'ok', message: '', log_id: logId() } }).replace('"__IDS__"', ids);
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) }).end(text);
  }

  // ---- the upload URL -------------------------------------------------------------------

  function receiveChunk(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const reject = (status: number, code: string, message: string) => drain(req, () => sendEnvelope(res, status, {}, { code, message }));
    const post = posts.find((p) => p.publishId === url.searchParams.get('upload_id') && p.uploadToken === url.searchParams.get('upload_token'));
    if (!post) return reject(404, 'not_found', 'The upload does not exist.');
    if (post.status !== 'PROCESSING_UPLOAD' || Date.now() - post.initiatedAt > uploadUrlTtlMs) return reject(404, 'not_found', 'The upload URL has expired.');
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!VIDEO_TYPES.has(contentType)) return reject(400, 'invalid_param', 'Content-Type must be video/mp4, video/quicktime or video/webm.');
    const { video_size: size, chunk_size: chunkSize, total_chunk_count: count } = post.sourceInfo;
    const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(req.headers['content-range'] ?? '');
    if (!match) return reject(400, 'invalid_param', 'Content-Range must be "bytes {FIRST_BYTE}-{LAST_BYTE}/{TOTAL_BYTE_LENGTH}".');
    const [first, last, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const index = post.chunksReceived;
    const expectedFirst = index * chunkSize;
    const expectedLast = index === count - 1 ? size - 1 : expectedFirst + chunkSize - 1;
    if (total !== size) return reject(400, 'invalid_param', `Content-Range total ${total} is not the video_size ${size} of the init.`);
    if (first !== expectedFirst || last !== expectedLast) {
      return reject(416, 'invalid_param', `Chunks must be uploaded in order: the next is bytes ${expectedFirst}-${expectedLast}/${size}.`);
    }
    const length = last - first + 1;
    if (Number(req.headers['content-length']) !== length) return reject(400, 'invalid_param', `Content-Length must be ${length}, the chunk's size.`);
    post.contentRanges.push(req.headers['content-range']!);
    post.contentTypes.push(contentType);
    const fault = takeFault('chunk');
    if (fault && 'status' in fault) return reject(fault.status, fault.code, fault.message ?? `Scripted ${fault.code}.`);
    const dropAfter = fault && 'dropAfterBytes' in fault ? fault.dropAfterBytes : undefined;
    const pieces: Buffer[] = [];
    let received = 0;
    req.on('data', (piece: Buffer) => {
      bytesReceived += piece.length;
      received += piece.length;
      pieces.push(piece);
      if (dropAfter !== undefined && received >= dropAfter) return void req.socket.destroy();
      if (bytesPerSecond > 0) {
        readyAt = Math.max(readyAt, Date.now()) + (piece.length / bytesPerSecond) * 1000;
        const wait = readyAt - Date.now();
        if (wait > 0) {
          req.pause();
          setTimeout(() => req.resume(), wait).unref();
        }
      }
    });
    req.on('end', () => {
      // Cut short: nothing of the chunk is kept (whole chunks only).
      if (received !== length || post.chunksReceived !== index) return;
      storeChunk(post, Buffer.concat(pieces, received));
      const done = post.chunksReceived === count;
      if (done) finish(post);
      res.writeHead(done ? 201 : 206, { 'content-length': '0' }).end();
    });
  }

  function storeChunk(post: FakeTikTokPost, bytes: Buffer): void {
    let file = files.get(post.publishId);
    if (!file) {
      file = { fd: openSync(join(dir, `${post.uploadToken}.bin`), 'w'), hash: createHash('sha256') };
      files.set(post.publishId, file);
    }
    writeSync(file.fd, bytes, 0, bytes.length, post.stored);
    file.hash.update(bytes);
    post.stored += bytes.length;
    post.chunksReceived += 1;
  }

  function finish(post: FakeTikTokPost): void {
    const file = files.get(post.publishId)!;
    closeSync(file.fd);
    files.delete(post.publishId);
    post.sha256 = file.hash.digest('hex');
    post.status = 'PROCESSING_DOWNLOAD';
    const failure = publishFailure;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (failure) {
        post.status = 'FAILED';
        post.failReason = failure;
        return;
      }
      post.status = 'PUBLISH_COMPLETE';
      // TikTok names the post only when others may see it (private posts have no public id).
      if (post.postInfo.privacy_level !== 'SELF_ONLY') post.postId = `7${randomDigits(18)}`;
    }, publishAfterMs);
    timer.unref();
    timers.add(timer);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiBaseUrl: base,
    posts,
    requests,
    initBodies,
    get bytesReceived() {
      return bytesReceived;
    },
    postByTitle: (title) => posts.filter((p) => p.postInfo.title === title).at(-1),
    setFaults(list) {
      faults = list.map((f) => ({ ...f, left: f.times ?? 1 }));
    },
    setPrivacyLevelOptions(list) {
      privacyLevelOptions = [...list];
    },
    setAudited(value) {
      audited = value;
    },
    expireUploadUrls() {
      for (const post of posts) if (post.status === 'PROCESSING_UPLOAD') post.initiatedAt = Date.now() - uploadUrlTtlMs - 1;
    },
    failPublishing(reason) {
      publishFailure = reason;
    },
    setPublishAfterMs(ms) {
      publishAfterMs = Math.max(0, ms);
    },
    throttle(rate) {
      bytesPerSecond = Math.max(0, rate);
      readyAt = 0;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const file of files.values()) closeSync(file.fd);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Media Transfer Guide's chunk rules, checked on the init's numbers; undefined when kept. */
function chunkRulesBroken(plan: Record<string, unknown>): string | undefined {
  const size = plan.video_size;
  const chunk = plan.chunk_size;
  const count = plan.total_chunk_count;
  if (typeof size !== 'number' || typeof chunk !== 'number' || typeof count !== 'number') return 'video_size, chunk_size and total_chunk_count are required for FILE_UPLOAD';
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(chunk) || !Number.isSafeInteger(count) || size < 1 || chunk < 1 || count < 1) return 'sizes and counts are positive integers';
  if (count > 1000) return 'at most 1000 chunks';
  if (count !== Math.floor(size / chunk)) return 'total_chunk_count must be video_size divided by chunk_size, rounded down';
  if (size < MIN_CHUNK) return chunk === size ? undefined : 'a video under 5 MB is uploaded whole (chunk_size = video_size)';
  if (chunk < MIN_CHUNK || chunk > MAX_CHUNK) return 'chunk_size must be from 5 MB to 64 MB';
  if (size - (count - 1) * chunk > MAX_FINAL_CHUNK) return 'the final chunk may be at most 128 MB';
  return undefined;
}

function stepOf(method: string | undefined, path: string): TikTokFakeStep | 'unknown' {
  if (method !== 'POST') return 'unknown';
  if (path === '/v2/post/publish/creator_info/query/') return 'creator-info';
  if (path === '/v2/post/publish/video/init/') return 'init';
  if (path === '/v2/post/publish/status/fetch/') return 'status';
  return 'unknown';
}

function sendEnvelope(res: ServerResponse, status: number, data: Record<string, unknown>, error: { code: string; message: string } = { code: 'ok', message: '' }, headers: Record<string, string> = {}): void {
  const text = JSON.stringify({ data, error: { ...error, log_id: logId() } });
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

function logId(): string {
  return `2026${randomDigits(10)}${randomBytes(8).toString('hex').toUpperCase()}`;
}

function randomDigits(n: number): string {
  return Array.from(randomBytes(n), (b) => String(b % 10)).join('');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function drain(req: IncomingMessage, answer: () => void): void {
  if (req.complete) return answer();
  req.resume();
  req.once('end', answer);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const pieces: Buffer[] = [];
  let length = 0;
  for await (const piece of req as AsyncIterable<Buffer>) {
    length += piece.length;
    if (length > MAX_JSON_BODY) throw new Error('request body too large');
    pieces.push(piece);
  }
  const text = Buffer.concat(pieces).toString('utf8');
  return text ? JSON.parse(text) : {};
}

/** TikTok's OAuth token endpoint and its Content Posting API together, the API taking the tokens the OAuth fake issues. */
export interface TikTokStandIn {
  oauth: FakeOAuthServer;
  api: TikTokFake;
  close(): Promise<void>;
}

export async function startTikTokStandIn(options: Omit<TikTokFakeOptions, 'validateToken' | 'creatorOf'> & { accessTokenTtlSeconds?: number } = {}): Promise<TikTokStandIn> {
  const oauth = await startFakeOAuthServer({ flavor: 'tiktok', ...(options.accessTokenTtlSeconds !== undefined ? { accessTokenTtlSeconds: options.accessTokenTtlSeconds } : {}) });
  const api = await startTikTokFake({
    ...options,
    validateToken: (token) => oauth.isValidAccessToken(token),
    // The creator's username: the OAuth fake's account (open_id) of the token.
    creatorOf: (token) => `creator${(oauth.accountOf(token) ?? 'unknown').replace(/[^A-Za-z0-9]/g, '')}`,
  });
  return {
    oauth,
    api,
    async close() {
      await api.close();
      await oauth.close();
    },
  };
}
