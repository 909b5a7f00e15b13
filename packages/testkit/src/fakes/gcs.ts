import { createPublicKey, createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResumableReceiver, bearerTokenOf, bodyFaultOf, googleError, readText, receiveOnSession, sendJson, type BodyFault, type ResumableBytes } from './google-resumable.js';

/**
 * A local stand-in for Google Cloud Storage's JSON API upload path and Google's OAuth token
 * endpoint for service accounts, on a real node:http server on 127.0.0.1. It checks what
 * the real services check:
 *
 * - the token endpoint (`POST /token`, the `token_uri` of the keys it issues): the JWT
 *   bearer grant, an RS256 assertion signed by a key it issued and has not deleted, with
 *   `aud` = the token URI, an `exp` at most an hour after `iat` and not past, a scope;
 *   errors as `{"error": "invalid_grant", "error_description": ...}` with status 400
 *   (https://developers.google.com/identity/protocols/oauth2/service-account#httprest);
 * - the session start (`POST /upload/storage/v1/b/<bucket>/o?uploadType=resumable`): a
 *   valid bearer token (401 `authError` otherwise), an existing bucket (404 `notFound`), the
 *   account's write permission on it (403 `forbidden`), an object name (query or metadata;
 *   400 `required`), a known `predefinedAcl` and `storageClass` (400 `invalid`);
 * - the session URI: Google's resumable upload front end, shared with the YouTube fake
 *   (google-resumable.ts): Content-Range rules, 256 KiB multiples, 308 with Range, status
 *   queries, bytes kept in 256 KiB units. Like GCS, the session URI itself authorizes its
 *   requests (https://cloud.google.com/storage/docs/resumable-uploads#session-uris);
 * - the last chunk: an `X-Goog-Hash` (crc32c and/or md5) that does not match the bytes is
 *   refused with 400 and no object is created; otherwise the object resource with
 *   `crc32c` and `md5Hash` (base64) and a new generation. A finished session answers 200
 *   with the object again; an expired one 404 or 410.
 *
 * Error bodies are the JSON API's (https://cloud.google.com/storage/docs/json_api/v1/status-codes):
 * `{ "error": { "code", "message", "errors": [{ "message", "domain", "reason" }] } }`.
 * Protocol: https://cloud.google.com/storage/docs/performing-resumable-uploads.
 */

export const GCS_PREDEFINED_ACLS = ['authenticatedRead', 'bucketOwnerFullControl', 'bucketOwnerRead', 'private', 'projectPrivate', 'publicRead'];
export const GCS_STORAGE_CLASSES = ['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE', 'MULTI_REGIONAL', 'REGIONAL', 'DURABLE_REDUCED_AVAILABILITY'];

export interface GcsFakeOptions {
  /** Buckets that exist; default ['fleet-videos']. */
  buckets?: string[];
  /** `expires_in` of issued access tokens; default 3599. */
  tokenTtlSeconds?: number;
}

export type GcsStep = 'token' | 'start' | 'chunk' | 'status' | 'get';

export type GcsErrorName = 'rateLimitExceeded' | 'userRateLimitExceeded' | 'forbidden' | 'notFound' | 'conditionNotMet' | 'invalid' | 'backendError' | 'internalError' | 'authError';

/**
 * A scripted answer for the next `times` requests (default 1) of the given steps (default any):
 * a named JSON API error, any status, a connection dropped after `dropAfterBytes` body
 * bytes, a chunk of which only `keepBytes` are kept, or (last chunk) an object resource
 * whose crc32c and md5Hash are wrong, as if GCS had stored other bytes.
 */
export type GcsFault = { step?: GcsStep | GcsStep[]; times?: number } & (
  | { error: GcsErrorName; headers?: Record<string, string> }
  | { status: number; reason?: string; message?: string; body?: string; headers?: Record<string, string> }
  | BodyFault
  | { wrongChecksum: true }
);

/** A service account key as Google's console downloads it. */
export interface FakeServiceAccountKey {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

export interface FakeGcsObject {
  bucket: string;
  name: string;
  generation: string;
  size: number;
  sha256: string;
  crc32c: string;
  md5Hash: string;
  contentType: string | undefined;
  cacheControl: string | undefined;
  metadata: Record<string, string> | undefined;
  storageClass: string;
  predefinedAcl: string | undefined;
  /** The X-Goog-Hash the last chunk carried, if any. */
  sentHash: string | undefined;
  /** The service account that wrote it. */
  writer: string;
  resource: Record<string, unknown>;
}

export interface FakeGcsSession extends ResumableBytes {
  uri: string;
  bucket: string;
  name: string;
  metadata: Record<string, unknown>;
  predefinedAcl: string | undefined;
  declaredContentType: string | undefined;
  writer: string;
  object: FakeGcsObject | undefined;
  expiredWith: number | undefined;
  /** Set when the checksum check refused the last chunk: the session is over. */
  refused: { error: Record<string, unknown> } | undefined;
}

export interface FakeGcsRequest {
  method: string;
  step: GcsStep | 'unknown';
  path: string;
  status: number | undefined;
  contentRange: string | undefined;
  xGoogHash: string | undefined;
}

export interface GcsFake {
  /** `http://127.0.0.1:PORT`, for GCS_API_BASE_URL. */
  readonly url: string;
  readonly tokenUrl: string;
  readonly sessions: readonly FakeGcsSession[];
  readonly requests: readonly FakeGcsRequest[];
  /** Access tokens issued by the token endpoint. */
  readonly tokensIssued: number;
  readonly bytesReceived: number;
  /** A new service account key (its own account unless `email` is given), valid until deleted. */
  serviceAccountKey(options?: { email?: string }): FakeServiceAccountKey;
  /** The key was deleted in IAM: its assertions are refused and its tokens stop working. */
  deleteKey(key: FakeServiceAccountKey): void;
  /** Every access token issued so far expires now. */
  expireTokens(): void;
  /** Delays every token answer by this long, so concurrent grants overlap. */
  setTokenDelayMs(ms: number): void;
  addBucket(name: string): void;
  /** The account may no longer write to the bucket (403 forbidden). */
  denyWrites(bucket: string, email: string): void;
  /** The newest generation of the object, or undefined. */
  object(bucket: string, name: string): FakeGcsObject | undefined;
  /** Generations created under the name since the start. */
  generations(bucket: string, name: string): number;
  setFaults(faults: GcsFault[]): void;
  throttle(bytesPerSecond: number): void;
  expireSessions(status?: 404 | 410): void;
  close(): Promise<void>;
}

type ActiveFault = GcsFault & { left: number };

interface IssuedKey {
  id: string;
  email: string;
  publicKey: KeyObject;
  deleted: boolean;
}

const NAMED_ERRORS: Record<GcsErrorName, { code: number; reason: string; message: string; domain?: string }> = {
  rateLimitExceeded: { code: 429, reason: 'rateLimitExceeded', message: 'The object exceeded the rate limit for object mutation operations (create, update, and delete). Please reduce your request rate.', domain: 'usageLimits' },
  userRateLimitExceeded: { code: 403, reason: 'userRateLimitExceeded', message: 'The project exceeded the rate limit for its requests.', domain: 'usageLimits' },
  forbidden: { code: 403, reason: 'forbidden', message: 'Access denied.' },
  notFound: { code: 404, reason: 'notFound', message: 'The specified bucket does not exist.' },
  conditionNotMet: { code: 412, reason: 'conditionNotMet', message: 'Object has an active retention policy and cannot be overwritten.' },
  invalid: { code: 400, reason: 'invalid', message: 'Invalid argument.' },
  backendError: { code: 503, reason: 'backendError', message: 'Backend Error' },
  internalError: { code: 500, reason: 'internalError', message: 'Internal Error' },
  authError: { code: 401, reason: 'authError', message: 'Invalid Credentials' },
};

const MAX_ASSERTION_LIFETIME_S = 3600;

export async function startGcsFake(options: GcsFakeOptions = {}): Promise<GcsFake> {
  const buckets = new Set(options.buckets ?? ['fleet-videos']);
  const ttl = options.tokenTtlSeconds ?? 3599;
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-gcs-fake-'));
  const receiver = new ResumableReceiver(dir);
  const keys = new Map<string, IssuedKey>(); // by private_key_id
  const tokens = new Map<string, { email: string; keyId: string; expiresAt: number }>();
  const denied = new Set<string>(); // `${bucket}\0${email}`
  const sessions: FakeGcsSession[] = [];
  const objects: FakeGcsObject[] = [];
  const requests: FakeGcsRequest[] = [];
  let faults: ActiveFault[] = [];
  let tokensIssued = 0;
  let tokenDelayMs = 0;
  let generationCounter = 0;
  let base = '';

  const takeFault = (step: GcsStep): ActiveFault | undefined => {
    const index = faults.findIndex((f) => {
      if (('dropAfterBytes' in f || 'keepBytes' in f) && step !== 'chunk') return false;
      if ('wrongChecksum' in f && step !== 'chunk' && step !== 'status') return false;
      return f.step === undefined || (Array.isArray(f.step) ? f.step.includes(step) : f.step === step);
    });
    const fault = faults[index];
    if (!fault) return undefined;
    fault.left -= 1;
    if (fault.left <= 0) faults.splice(index, 1);
    return fault;
  };

  const accountOf = (token: string | undefined) => {
    const grant = token ? tokens.get(token) : undefined;
    if (!grant || grant.expiresAt <= Date.now() || keys.get(grant.keyId)?.deleted !== false) return undefined;
    return grant.email;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    const step = stepOf(req.method ?? '', url, req.headers['content-range']);
    const record: FakeGcsRequest = {
      method: req.method ?? '',
      step,
      path: `${url.pathname}${url.search}`,
      status: undefined,
      contentRange: req.headers['content-range'],
      xGoogHash: headerValue(req.headers['x-goog-hash']),
    };
    requests.push(record);
    req.on('error', () => undefined);
    res.on('finish', () => (record.status = res.statusCode));
    const drain = (answer: () => void) => receiver.drain(req, answer, step === 'chunk');

    void (async () => {
      if (step === 'unknown') return drain(() => sendJson(res, 404, googleError(404, 'notFound', 'Not Found', 'global')));
      const fault = takeFault(step);
      if (fault && ('error' in fault || 'status' in fault)) return drain(() => answerFault(res, fault));
      switch (step) {
        case 'token':
          return issueToken(req, res);
        case 'start':
          return startSession(req, res, url);
        case 'chunk':
        case 'status':
          return receiveChunk(req, res, url, fault);
        case 'get':
          return drain(() => getObject(req, res, url));
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, googleError(500, 'internalError', `fake failed: ${(error as Error).message}`, 'global'));
    });
  });

  // ---- the token endpoint: the JWT bearer grant ---------------------------------------

  async function issueToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readText(req));
    if (tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, tokenDelayMs));
    const refuse = (description: string, error = 'invalid_grant') => sendJson(res, 400, { error, error_description: description });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('Invalid grant_type: ' + (form.get('grant_type') ?? ''), 'unsupported_grant_type');
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return refuse('Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.');
    const [header, claims] = parts.slice(0, 2).map((part) => parseJson(Buffer.from(part, 'base64url').toString('utf8')));
    if (header?.alg !== 'RS256') return refuse('Invalid JWT: the algorithm must be RS256.');
    const key = typeof header.kid === 'string' ? keys.get(header.kid) : [...keys.values()].find((k) => k.email === claims?.iss);
    if (!key || key.email !== claims?.iss) return refuse('Invalid grant: account not found');
    const signed = createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`).verify(key.publicKey, parts[2]!, 'base64url');
    if (!signed || key.deleted) return refuse('Invalid JWT Signature.');
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (claims.aud !== `${base}/token`) return refuse('Invalid JWT: the audience (aud) must be the token URI.');
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || exp <= now || exp - iat > MAX_ASSERTION_LIFETIME_S || iat > now + 300) {
      return refuse('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    if (typeof claims.scope !== 'string' || !claims.scope.includes('devstorage')) return refuse('Invalid OAuth scope or ID token audience provided.', 'invalid_scope');
    const token = `ya29.c.fake-gcs-${randomBytes(18).toString('base64url')}`;
    tokens.set(token, { email: key.email, keyId: key.id, expiresAt: Date.now() + ttl * 1000 });
    tokensIssued += 1;
    sendJson(res, 200, { access_token: token, expires_in: ttl, token_type: 'Bearer' });
  }

  // ---- objects.insert, uploadType=resumable: the session start ------------------------

  async function startSession(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const text = await readText(req);
    const email = accountOf(bearerTokenOf(req));
    if (!email) return answerFault(res, { error: 'authError' });
    const bucket = decodeURIComponent(url.pathname.split('/')[5] ?? '');
    if (!buckets.has(bucket)) return sendJson(res, 404, googleError(404, 'notFound', 'The specified bucket does not exist.', 'global'));
    if (denied.has(`${bucket}\0${email}`)) {
      const message = `${email} does not have storage.objects.create access to the Google Cloud Storage object. Permission 'storage.objects.create' denied on resource (or it may not exist).`;
      return sendJson(res, 403, googleError(403, 'forbidden', message, 'global'));
    }
    if (url.searchParams.get('uploadType') !== 'resumable') return sendJson(res, 400, googleError(400, 'invalid', 'This fake only implements uploadType=resumable.', 'global'));
    let metadata: Record<string, unknown> = {};
    if (text) {
      const parsed = parseJson(text);
      if (!parsed) return sendJson(res, 400, googleError(400, 'parseError', 'Parse Error', 'global'));
      metadata = parsed;
    }
    const name = url.searchParams.get('name') ?? (typeof metadata.name === 'string' ? metadata.name : '');
    if (!name) return sendJson(res, 400, googleError(400, 'required', 'Required', 'global'));
    const acl = url.searchParams.get('predefinedAcl') ?? undefined;
    if (acl !== undefined && !GCS_PREDEFINED_ACLS.includes(acl)) return sendJson(res, 400, googleError(400, 'invalid', `Invalid argument: predefinedAcl "${acl}".`, 'global'));
    if (metadata.storageClass !== undefined && !GCS_STORAGE_CLASSES.includes(String(metadata.storageClass))) {
      return sendJson(res, 400, googleError(400, 'invalid', `Invalid argument: storageClass "${String(metadata.storageClass)}".`, 'global'));
    }
    const declared = req.headers['x-upload-content-length'];
    if (declared !== undefined && !/^\d+$/.test(String(declared))) return sendJson(res, 400, googleError(400, 'invalid', 'X-Upload-Content-Length must be a number of bytes.', 'global'));

    const id = `ADPycd${randomBytes(24).toString('base64url')}`;
    const uri = `${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
    sessions.push({
      ...receiver.newUpload(id, declared === undefined ? undefined : Number(declared)),
      uri,
      bucket,
      name,
      metadata,
      predefinedAcl: acl,
      declaredContentType: headerValue(req.headers['x-upload-content-type']),
      writer: email,
      object: undefined,
      expiredWith: undefined,
      refused: undefined,
    });
    res.writeHead(200, { location: uri, 'x-guploader-uploadid': id, 'content-length': '0' }).end();
  }

  // ---- PUT on the session URI ---------------------------------------------------------

  function receiveChunk(req: IncomingMessage, res: ServerResponse, url: URL, fault: ActiveFault | undefined): void {
    const session = sessions.find((s) => s.id === url.searchParams.get('upload_id'));
    const wrongChecksum = fault !== undefined && 'wrongChecksum' in fault;
    receiveOnSession(receiver, req, res, session, {
      // A session whose last chunk the checksum check refused is over; a finished one answers its object.
      ended: () => (session?.refused ? { status: 400, body: session.refused } : session?.object ? { status: 200, body: session.object.resource } : undefined),
      bodyFault: bodyFaultOf(fault),
      handlers: {
        finish: () => finish(session!, req, res, wrongChecksum),
        refuse: (message) => sendJson(res, 400, googleError(400, 'invalid', message, 'global')),
      },
    });
  }

  function finish(session: FakeGcsSession, req: IncomingMessage, res: ServerResponse, wrongChecksum: boolean): void {
    const digest = receiver.complete(session);
    const sentHash = headerValue(req.headers['x-goog-hash']);
    const sent = parseGoogHash(sentHash);
    const mismatch =
      sent.crc32c !== undefined && sent.crc32c !== digest.crc32c
        ? `Provided CRC32C "${sent.crc32c}" doesn't match calculated CRC32C "${digest.crc32c}".`
        : sent.md5 !== undefined && sent.md5 !== digest.md5Hash
          ? `Provided MD5 hash "${sent.md5}" doesn't match calculated MD5 hash "${digest.md5Hash}".`
          : undefined;
    if (mismatch) {
      session.refused = googleError(400, 'invalid', mismatch, 'global');
      return sendJson(res, 400, session.refused);
    }
    generationCounter += 1;
    const generation = String(Date.now() * 1000 + generationCounter);
    const metadata = session.metadata;
    const now = new Date().toISOString();
    const answered = wrongChecksum ? { crc32c: 'AAAAAA==', md5Hash: '1B2M2Y8AsgTpgAmY7PhCfg==' } : { crc32c: digest.crc32c, md5Hash: digest.md5Hash };
    const object: FakeGcsObject = {
      bucket: session.bucket,
      name: session.name,
      generation,
      size: digest.size,
      sha256: digest.sha256,
      crc32c: digest.crc32c,
      md5Hash: digest.md5Hash,
      contentType: typeof metadata.contentType === 'string' ? metadata.contentType : session.declaredContentType,
      cacheControl: typeof metadata.cacheControl === 'string' ? metadata.cacheControl : undefined,
      metadata: metadata.metadata && typeof metadata.metadata === 'object' ? (metadata.metadata as Record<string, string>) : undefined,
      storageClass: typeof metadata.storageClass === 'string' ? metadata.storageClass : 'STANDARD',
      predefinedAcl: session.predefinedAcl,
      sentHash,
      writer: session.writer,
      resource: {},
    };
    const path = `${encodeURIComponent(session.bucket)}/o/${encodeURIComponent(session.name)}`;
    object.resource = {
      kind: 'storage#object',
      id: `${session.bucket}/${session.name}/${generation}`,
      selfLink: `${base}/storage/v1/b/${path}`,
      mediaLink: `${base}/download/storage/v1/b/${path}?generation=${generation}&alt=media`,
      name: session.name,
      bucket: session.bucket,
      generation,
      metageneration: '1',
      ...(object.contentType ? { contentType: object.contentType } : {}),
      storageClass: object.storageClass,
      size: String(digest.size),
      md5Hash: answered.md5Hash,
      crc32c: answered.crc32c,
      etag: randomBytes(9).toString('base64'),
      timeCreated: now,
      updated: now,
      timeStorageClassUpdated: now,
      ...(object.cacheControl ? { cacheControl: object.cacheControl } : {}),
      ...(object.metadata ? { metadata: object.metadata } : {}),
    };
    session.object = object;
    objects.push(object);
    sendJson(res, 200, object.resource);
  }

  /** objects.get (metadata): `GET /storage/v1/b/<bucket>/o/<name>`. */
  function getObject(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!accountOf(bearerTokenOf(req))) return answerFault(res, { error: 'authError' });
    const [, , , , bucket, , name] = url.pathname.split('/');
    const object = newest(decodeURIComponent(bucket ?? ''), decodeURIComponent(name ?? ''));
    if (!object) return sendJson(res, 404, googleError(404, 'notFound', 'No such object.', 'global'));
    sendJson(res, 200, object.resource);
  }

  const newest = (bucket: string, name: string) => objects.filter((o) => o.bucket === bucket && o.name === name).at(-1);

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    tokenUrl: `${base}/token`,
    sessions,
    requests,
    get tokensIssued() {
      return tokensIssued;
    },
    get bytesReceived() {
      return receiver.bytesReceived;
    },
    serviceAccountKey(keyOptions = {}) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const id = randomBytes(20).toString('hex');
      const email = keyOptions.email ?? `uploader-${id.slice(0, 6)}@fleet-test.iam.gserviceaccount.com`;
      keys.set(id, { id, email, publicKey: createPublicKey(publicKey.export({ type: 'spki', format: 'pem' })), deleted: false });
      return {
        type: 'service_account',
        project_id: 'fleet-test',
        private_key_id: id,
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: email,
        client_id: String(100000000000000000000n + BigInt(keys.size)),
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: `${base}/token`,
      };
    },
    deleteKey(key) {
      const issued = keys.get(key.private_key_id);
      if (issued) issued.deleted = true;
    },
    expireTokens() {
      for (const grant of tokens.values()) grant.expiresAt = 0;
    },
    setTokenDelayMs: (ms) => void (tokenDelayMs = ms),
    addBucket: (name) => void buckets.add(name),
    denyWrites: (bucket, email) => void denied.add(`${bucket}\0${email}`),
    object: newest,
    generations: (bucket, name) => objects.filter((o) => o.bucket === bucket && o.name === name).length,
    setFaults(list) {
      faults = list.map((f) => ({ ...f, left: f.times ?? 1 }));
    },
    throttle: (rate) => receiver.throttle(rate),
    expireSessions(status = 404) {
      for (const s of sessions) if (!s.object) s.expiredWith = status;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      receiver.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function stepOf(method: string, url: URL, contentRange: string | undefined): GcsStep | 'unknown' {
  const path = url.pathname;
  if (method === 'POST' && path === '/token') return 'token';
  const upload = /^\/upload\/storage\/v1\/b\/[^/]+\/o$/.test(path);
  if (method === 'POST' && upload && !url.searchParams.has('upload_id')) return 'start';
  if (method === 'PUT' && upload && url.searchParams.has('upload_id')) return /^bytes \*\//.test(contentRange ?? '') ? 'status' : 'chunk';
  if (method === 'GET' && /^\/storage\/v1\/b\/[^/]+\/o\/[^/]+$/.test(path)) return 'get';
  return 'unknown';
}

/** `X-Goog-Hash: crc32c=...,md5=...` (also as two headers joined by Node with ", "). */
function parseGoogHash(value: string | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  for (const part of (value ?? '').split(',')) {
    const match = /^\s*(crc32c|md5)=(.+?)\s*$/.exec(part);
    if (match) out[match[1] as 'crc32c' | 'md5'] = match[2];
  }
  return out;
}

function answerFault(res: ServerResponse, fault: { error: GcsErrorName; headers?: Record<string, string> } | { status: number; reason?: string; message?: string; body?: string; headers?: Record<string, string> }): void {
  if ('error' in fault) {
    const named = NAMED_ERRORS[fault.error];
    const body = googleError(named.code, named.reason, named.message, named.domain ?? 'global');
    if (fault.error === 'authError') Object.assign((body.error.errors as Record<string, unknown>[])[0]!, { locationType: 'header', location: 'Authorization' });
    return sendJson(res, named.code, body, fault.headers);
  }
  if (fault.body !== undefined) {
    res.writeHead(fault.status, fault.headers).end(fault.body);
    return;
  }
  sendJson(res, fault.status, googleError(fault.status, fault.reason ?? 'backendError', fault.message ?? `Scripted ${fault.status}.`, 'global'), fault.headers);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
