import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResumableSession, resumableTraffic, type ResumableChunkFault } from './resumable-put.js';

/**
 * A local stand-in for Mux Video's direct uploads: the API (`/video/v1/uploads`,
 * `/video/v1/assets`) and the upload URL it hands out, on one node:http server on
 * 127.0.0.1. It checks what Mux checks and answers in Mux's formats:
 *
 * - HTTP Basic auth with an access token id and secret on every API request; 401
 *   `{ "error": { "type": "unauthorized", "messages": [...] } }` otherwise
 *   (https://www.mux.com/docs/core/make-api-requests);
 * - the create-upload body (https://www.mux.com/docs/api-reference/video/direct-uploads/create-direct-upload):
 *   `cors_origin` a string, `test` a boolean, `timeout` 60..604800 seconds,
 *   `new_asset_settings.playback_policies` (or the older `playback_policy`) a list of
 *   "public"/"signed", `passthrough` at most 255 characters, `mp4_support` one of Mux's
 *   values; anything else is 400 `invalid_parameters` naming the field. Mux's reference
 *   does not say whether unknown fields are refused: the fake refuses them (the strict
 *   choice), so a misspelt setting cannot pass here;
 * - the upload URL is a Google Cloud Storage resumable session, as Mux's is (its guide:
 *   "The URL is resumable"; UpChunk sends 256 KiB-multiple `Content-Range` chunks to it,
 *   https://github.com/muxinc/upchunk): served by the testkit's shared ResumableSession
 *   (./resumable-put.ts), with its signed query (`Expires`, `Signature`) checked;
 * - after the last byte, the upload turns `asset_created` with an `asset_id` a little later
 *   (`assetCreatedAfterMs`), and the asset goes from `preparing` to `ready`
 *   (`assetReadyAfterMs`) with one playback id of the upload's policy;
 * - an upload whose `timeout` passed is `timed_out`, and its URL answers 404 (GCS's answer
 *   for a session that no longer exists).
 *
 * Faults can be scripted per step, 429 included, in Mux's error format.
 */

export const MUX_FAKE_TOKEN_ID = 'fake-mux-token-id-0001';
export const MUX_FAKE_TOKEN_SECRET = 'fake-mux-token-secret-do-not-use';

/** Mux's values of `new_asset_settings.mp4_support` (standard is deprecated but still accepted). */
export const MUX_MP4_SUPPORT_VALUES = ['none', 'standard', 'capped-1080p', 'audio-only', 'audio-only,capped-1080p'] as const;
const PLAYBACK_POLICIES = new Set(['public', 'signed']);
const UPLOAD_FIELDS = new Set(['cors_origin', 'new_asset_settings', 'test', 'timeout']);
const ASSET_SETTING_FIELDS = new Set(['playback_policy', 'playback_policies', 'passthrough', 'mp4_support', 'video_quality', 'normalize_audio', 'master_access']);
const MAX_JSON_BODY = 64 * 1024;

export type MuxStep = 'create' | 'get-upload' | 'get-asset' | 'chunk';

export type MuxFault = ({ status: number; type?: string; messages?: string[]; headers?: Record<string, string> } | ResumableChunkFault) & {
  step: MuxStep;
  /** How many matching requests the fault hits (default 1). */
  times?: number;
};

export interface FakeMuxUpload {
  id: string;
  url: string;
  status: 'waiting' | 'asset_created' | 'errored' | 'cancelled' | 'timed_out';
  timeoutSeconds: number;
  createdAt: number;
  corsOrigin: string | undefined;
  test: boolean;
  newAssetSettings: Record<string, unknown>;
  session: ResumableSession;
  assetId?: string;
  /** Why Mux could not make an asset of it (status `errored`). */
  error?: { type: string; message: string };
  /** Set by `expireUploads`: the URL answers this status. */
  expiredWith?: number;
}

export interface FakeMuxAsset {
  id: string;
  uploadId: string;
  status: 'preparing' | 'ready' | 'errored';
  playbackIds: { id: string; policy: string }[];
  passthrough: string | undefined;
  mp4Support: string | undefined;
  test: boolean;
  corsOrigin: string | undefined;
  size: number;
  sha256: string;
  createdAt: number;
}

export interface MuxFakeOptions {
  /** Access tokens, id to secret (default: MUX_FAKE_TOKEN_ID). */
  tokens?: Record<string, string>;
  /** From the last byte to `asset_created` (default 50 ms). */
  assetCreatedAfterMs?: number;
  /** From the asset's creation to `ready` (default 100 ms). */
  assetReadyAfterMs?: number;
}

export interface MuxFake {
  url: string;
  /** What MUX_API_BASE_URL would be. */
  apiBaseUrl: string;
  readonly uploads: FakeMuxUpload[];
  readonly assets: FakeMuxAsset[];
  /** Every API request's method, path and step, in order. */
  readonly requests: { method: string; path: string; step: MuxStep | 'unknown' }[];
  /** The bodies of create-upload requests, parsed. */
  readonly createBodies: Record<string, unknown>[];
  readonly bytesReceived: number;
  /** The newest asset whose passthrough is `passthrough`. */
  assetByPassthrough(passthrough: string): FakeMuxAsset | undefined;
  setFaults(faults: MuxFault[]): void;
  throttle(bytesPerSecond: number): void;
  /**
   * Makes uploads that finish from now on turn `errored` with this error instead of
   * creating an asset (Mux's answer to a file it cannot read); undefined restores assets.
   */
  failAssetCreation(error: { type: string; message: string } | undefined): void;
  /** Makes every unfinished upload's URL answer `status` (404 by default, or 410). */
  expireUploads(status?: 404 | 410): void;
  close(): Promise<void>;
}

export async function startMuxFake(options: MuxFakeOptions = {}): Promise<MuxFake> {
  const tokens = new Map(Object.entries(options.tokens ?? { [MUX_FAKE_TOKEN_ID]: MUX_FAKE_TOKEN_SECRET }));
  const assetCreatedAfterMs = options.assetCreatedAfterMs ?? 50;
  const assetReadyAfterMs = options.assetReadyAfterMs ?? 100;
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-mux-fake-'));
  const traffic = resumableTraffic();
  const uploads: FakeMuxUpload[] = [];
  const assets: FakeMuxAsset[] = [];
  const requests: MuxFake['requests'] = [];
  const createBodies: Record<string, unknown>[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let faults: (MuxFault & { left: number })[] = [];
  let assetCreationError: { type: string; message: string } | undefined;
  let base = '';

  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    timers.add(timer);
  };
  const takeFault = (step: MuxStep) => {
    const fault = faults.find((f) => f.step === step && f.left > 0);
    if (fault) fault.left -= 1;
    return fault;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const step = stepOf(req.method ?? 'GET', url.pathname);
    if (step === 'chunk') return receiveChunk(req, res, url);
    requests.push({ method: req.method ?? 'GET', path: url.pathname, step });
    if (step === 'unknown') return drainThen(req, () => sendMuxError(res, 404, 'not_found', ['The requested resource was not found']));
    if (!authorized(req)) return drainThen(req, () => sendMuxError(res, 401, 'unauthorized', ['Unauthorized request']));
    const fault = takeFault(step);
    if (fault && 'status' in fault) {
      return drainThen(req, () => sendMuxError(res, fault.status, fault.type ?? defaultType(fault.status), fault.messages ?? [`Scripted ${fault.status}`], fault.headers));
    }
    if (step === 'create') return void createUpload(req, res).catch(() => sendMuxError(res, 400, 'invalid_parameters', ['The request body could not be read']));
    const id = decodeURIComponent(url.pathname.split('/').at(-1) ?? '');
    if (step === 'get-upload') {
      const upload = uploads.find((u) => u.id === id);
      return drainThen(req, () => (upload ? sendJson(res, 200, { data: uploadJson(upload) }) : sendMuxError(res, 404, 'not_found', ['The requested resource was not found'])));
    }
    const asset = assets.find((a) => a.id === id);
    drainThen(req, () => (asset ? sendJson(res, 200, { data: assetJson(asset) }) : sendMuxError(res, 404, 'not_found', ['The requested resource was not found'])));
  });

  function authorized(req: IncomingMessage): boolean {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const expected = tokens.get(decoded.slice(0, colon));
    const given = Buffer.from(decoded.slice(colon + 1));
    return expected !== undefined && given.length === Buffer.byteLength(expected) && timingSafeEqual(given, Buffer.from(expected));
  }

  // ---- POST /video/v1/uploads ----------------------------------------------------------

  async function createUpload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(await readText(req));
    } catch {
      return sendMuxError(res, 400, 'invalid_parameters', ['The request body is not valid JSON']);
    }
    const problems = createBodyProblems(body);
    if (problems.length > 0) return sendMuxError(res, 400, 'invalid_parameters', problems);
    const input = body as { cors_origin?: string; test?: boolean; timeout?: number; new_asset_settings?: Record<string, unknown> };
    createBodies.push(input as Record<string, unknown>);
    const id = muxId();
    const signature = randomBytes(24).toString('base64url');
    const timeoutSeconds = input.timeout ?? 3600;
    const upload: FakeMuxUpload = {
      id,
      url: `${base}/upload/${id}?Expires=${Math.floor(Date.now() / 1000) + timeoutSeconds}&Signature=${signature}`,
      status: 'waiting',
      timeoutSeconds,
      createdAt: Date.now(),
      corsOrigin: input.cors_origin,
      test: input.test === true,
      newAssetSettings: input.new_asset_settings ?? {},
      session: new ResumableSession(id, dir, traffic, (session, answer) => {
        uploadFinished(upload);
        answer.writeHead(200, { 'content-length': '0' }).end();
      }),
    };
    uploads.push(upload);
    later(timeoutSeconds * 1000, () => {
      if (upload.status === 'waiting' && !upload.session.complete) upload.status = 'timed_out';
    });
    sendJson(res, 201, { data: uploadJson(upload) });
  }

  function uploadFinished(upload: FakeMuxUpload): void {
    if (upload.assetId !== undefined || upload.status !== 'waiting') return;
    // Guards against a second completion answer scheduling a second asset.
    upload.assetId = '';
    const failWith = assetCreationError;
    later(assetCreatedAfterMs, () => {
      if (failWith) {
        upload.assetId = undefined;
        upload.status = 'errored';
        upload.error = failWith;
        return;
      }
      const settings = upload.newAssetSettings;
      const policies = (settings.playback_policies ?? settings.playback_policy ?? []) as string[];
      const asset: FakeMuxAsset = {
        id: muxId(),
        uploadId: upload.id,
        status: 'preparing',
        playbackIds: policies.map((policy) => ({ id: muxId(), policy })),
        passthrough: settings.passthrough as string | undefined,
        mp4Support: settings.mp4_support as string | undefined,
        test: upload.test,
        corsOrigin: upload.corsOrigin,
        size: upload.session.stored,
        sha256: upload.session.sha256 ?? '',
        createdAt: Date.now(),
      };
      assets.push(asset);
      upload.assetId = asset.id;
      upload.status = 'asset_created';
      later(assetReadyAfterMs, () => {
        asset.status = 'ready';
      });
    });
  }

  // ---- PUT on the upload URL -----------------------------------------------------------

  function receiveChunk(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const id = decodeURIComponent(url.pathname.split('/').at(-1) ?? '');
    const upload = uploads.find((u) => u.id === id);
    const signed = upload && url.searchParams.get('Signature') === new URL(upload.url).searchParams.get('Signature');
    if (!upload || !signed) return drainThen(req, () => sendText(res, 403, 'SignatureDoesNotMatch: the upload URL is not signed for this object'));
    if (upload.expiredWith !== undefined || upload.status === 'timed_out' || upload.status === 'cancelled') {
      const status = upload.expiredWith ?? 404;
      return drainThen(req, () => sendText(res, status, 'No such upload session'));
    }
    const isQuery = /^bytes \*\//.test(String(req.headers['content-range'] ?? ''));
    const fault = isQuery ? undefined : takeFault('chunk');
    if (fault && 'status' in fault) return drainThen(req, () => sendText(res, fault.status, `Scripted ${fault.status}`, fault.headers));
    upload.session.receive(req, res, (answer, message) => sendText(answer, 400, message), fault);
  }

  // ---- the JSON Mux answers ------------------------------------------------------------

  function uploadJson(upload: FakeMuxUpload): Record<string, unknown> {
    return {
      id: upload.id,
      url: upload.url,
      status: upload.status,
      timeout: upload.timeoutSeconds,
      new_asset_settings: upload.newAssetSettings,
      ...(upload.corsOrigin !== undefined ? { cors_origin: upload.corsOrigin } : {}),
      ...(upload.test ? { test: true } : {}),
      ...(upload.assetId ? { asset_id: upload.assetId } : {}),
      ...(upload.error ? { error: upload.error } : {}),
    };
  }

  function assetJson(asset: FakeMuxAsset): Record<string, unknown> {
    return {
      id: asset.id,
      status: asset.status,
      created_at: String(Math.floor(asset.createdAt / 1000)),
      playback_ids: asset.playbackIds,
      upload_id: asset.uploadId,
      ...(asset.passthrough !== undefined ? { passthrough: asset.passthrough } : {}),
      ...(asset.mp4Support !== undefined ? { mp4_support: asset.mp4Support } : {}),
      ...(asset.test ? { test: true } : {}),
      master_access: 'none',
      video_quality: 'basic',
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiBaseUrl: base,
    uploads,
    assets,
    requests,
    createBodies,
    get bytesReceived() {
      return traffic.bytesReceived;
    },
    assetByPassthrough: (passthrough) => assets.filter((a) => a.passthrough === passthrough).at(-1),
    setFaults(list) {
      faults = list.map((f) => ({ ...f, left: f.times ?? 1 }));
    },
    throttle(rate) {
      traffic.bytesPerSecond = Math.max(0, rate);
      traffic.readyAt = 0;
    },
    failAssetCreation(error) {
      assetCreationError = error;
    },
    expireUploads(status = 404) {
      for (const u of uploads) if (!u.session.complete) u.expiredWith = status;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const u of uploads) u.session.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- what the real platform checks ------------------------------------------------------

function stepOf(method: string, path: string): MuxStep | 'unknown' {
  if (method === 'POST' && path === '/video/v1/uploads') return 'create';
  if (method === 'GET' && /^\/video\/v1\/uploads\/[^/]+$/.test(path)) return 'get-upload';
  if (method === 'GET' && /^\/video\/v1\/assets\/[^/]+$/.test(path)) return 'get-asset';
  if (method === 'PUT' && /^\/upload\/[^/]+$/.test(path)) return 'chunk';
  return 'unknown';
}

/** Every problem Mux would name in the create-upload body, as its `messages`. */
function createBodyProblems(body: unknown): string[] {
  if (!isObject(body)) return ['The request body must be a JSON object'];
  const problems: string[] = [];
  for (const key of Object.keys(body)) if (!UPLOAD_FIELDS.has(key)) problems.push(`${key} is not a valid parameter`);
  if (body.cors_origin !== undefined && typeof body.cors_origin !== 'string') problems.push('cors_origin must be a string');
  if (body.test !== undefined && typeof body.test !== 'boolean') problems.push('test must be a boolean');
  if (body.timeout !== undefined && (!Number.isInteger(body.timeout) || (body.timeout as number) < 60 || (body.timeout as number) > 604_800)) {
    problems.push('timeout must be an integer between 60 and 604800');
  }
  const settings = body.new_asset_settings;
  if (settings === undefined) return problems;
  if (!isObject(settings)) return [...problems, 'new_asset_settings must be an object'];
  for (const key of Object.keys(settings)) if (!ASSET_SETTING_FIELDS.has(key)) problems.push(`new_asset_settings.${key} is not a valid parameter`);
  if (settings.playback_policy !== undefined && settings.playback_policies !== undefined) problems.push('new_asset_settings: give playback_policies or playback_policy, not both');
  const policies = settings.playback_policies ?? settings.playback_policy;
  if (policies !== undefined && (!Array.isArray(policies) || policies.some((p) => typeof p !== 'string' || !PLAYBACK_POLICIES.has(p)))) {
    problems.push('new_asset_settings.playback_policies must be a list of "public" or "signed"');
  }
  if (settings.passthrough !== undefined && (typeof settings.passthrough !== 'string' || settings.passthrough.length > 255)) {
    problems.push('new_asset_settings.passthrough must be a string of at most 255 characters');
  }
  if (settings.mp4_support !== undefined && !(MUX_MP4_SUPPORT_VALUES as readonly unknown[]).includes(settings.mp4_support)) {
    problems.push(`new_asset_settings.mp4_support must be one of ${MUX_MP4_SUPPORT_VALUES.join(', ')}`);
  }
  return problems;
}

function defaultType(status: number): string {
  if (status === 400) return 'invalid_parameters';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'too_many_requests';
  return 'internal_error';
}

/** Mux's error body: `{ "error": { "type", "messages": [...] } }`. */
export function muxError(type: string, messages: string[]): { error: { type: string; messages: string[] } } {
  return { error: { type, messages } };
}

function sendMuxError(res: ServerResponse, status: number, type: string, messages: string[], headers: Record<string, string> = {}): void {
  sendJson(res, status, muxError(type, messages), headers);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
}

/** Mux ids: 32+ characters of letters and digits. */
function muxId(): string {
  return randomBytes(24).toString('base64url').replace(/[-_]/g, '0');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function drainThen(req: IncomingMessage, answer: () => void): void {
  if (req.complete) return answer();
  req.resume();
  req.once('end', answer);
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_JSON_BODY) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
