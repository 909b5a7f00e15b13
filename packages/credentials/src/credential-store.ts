import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { FleetError, keyLayoutOf, type EncryptedEnvelope, type ErrorCode, type SecretBox } from '@upload-fleet/core';
import type { OAuthProvider } from '@upload-fleet/destinations';
import { hashSecret, isCredentialId, newAuthSecret } from './auth-secret.js';
import { OAUTH_PROVIDERS } from './oauth-settings.js';

/**
 * Credentials the fleet holds, in Redis: one hash per credential,
 * `<prefix>:credential:{<id>}` (the id its hash tag on a cluster: credentials spread over the masters), so every operation on a credential (including its refresh
 * lock) touches one key and stays in one slot on Redis Cluster.
 *
 * Fields:
 *   provider            google | dropbox
 *   owner               name of the API key that connected it
 *   status              active | reconnect_required
 *   secret_hash         hex SHA-256 of the secret part of the auth_secret (never the secret)
 *   refresh             JSON EncryptedEnvelope of the refresh token (absent for a
 *                       long-lived access token, which is then the credential)
 *   access              JSON EncryptedEnvelope of the cached access token (CachedAccessToken)
 *   account_id, scope   what the provider said about the account and the grant
 *   created_at, refreshed_at, status_changed_at, reconnect_reason
 *   lock                `<lock token>:<expiry ms, Redis clock>` while one worker refreshes
 *   refresh_failure     JSON RefreshFailure: the last transient refresh failure, so that
 *                       workers waiting for that refresh fail with it instead of retrying it
 *
 * Connect-flow states live in `<prefix>:connect-state:<sha256(state)>` (encrypted, with a TTL,
 * taken with GETDEL so each is used once).
 */
export type CredentialStatus = 'active' | 'reconnect_required';

/** What may be shown about a credential: no token, no hash. */
export interface CredentialInfo {
  id: string;
  provider: OAuthProvider;
  status: CredentialStatus;
  owner: string;
  accountId?: string;
  scope?: string;
  createdAt: string;
  refreshedAt?: string;
  statusChangedAt?: string;
  /** Why it needs reconnecting (the provider's error code and description), when it does. */
  reconnectReason?: string;
}

export interface NewCredential {
  provider: OAuthProvider;
  /** Name of the API key that connected it. */
  owner: string;
  /** Absent for a provider whose access tokens do not expire (`accessTokens: 'long-lived'`): then `accessToken` is the credential. */
  refreshToken?: string;
  accountId?: string;
  scope?: string;
  /**
   * The access token of the code exchange, cached so the first upload needs no refresh;
   * `expiresInSeconds: 'never'` for a long-lived token, served until the platform rejects it.
   */
  accessToken?: { token: string; expiresInSeconds: number | 'never' | undefined };
}

/** An access token as cached (encrypted) in the credential's hash. Times are epoch ms. */
export interface CachedAccessToken {
  token: string;
  expiresAt: number;
  /** When to stop serving it: `refreshMarginMs` (at most half its lifetime) before expiresAt. */
  refreshAt: number;
}

/** A transient refresh failure, remembered for `failureMemoMs`. */
export interface RefreshFailure {
  code: ErrorCode;
  message: string;
  status?: number;
  retryAfterMs?: number;
  /** Epoch ms, clock of the worker that failed. */
  at: number;
}

/** A credential as read for a token request (refresh token still encrypted). */
export interface CredentialSnapshot {
  id: string;
  provider: OAuthProvider;
  status: CredentialStatus;
  secretHash: string | undefined;
  access: CachedAccessToken | undefined;
  failure: RefreshFailure | undefined;
}

export type LockAttempt =
  | { outcome: 'acquired'; lockToken: string; access: CachedAccessToken | undefined; failure: RefreshFailure | undefined }
  | { outcome: 'locked'; access: CachedAccessToken | undefined; failure: RefreshFailure | undefined }
  | { outcome: 'inactive'; status: string }
  | { outcome: 'missing' };

/** Settings of a connect flow between its start and its callback. */
export interface ConnectState {
  provider: OAuthProvider;
  owner: string;
  redirectUri: string;
  codeVerifier: string;
  createdAt: number;
}

export interface CredentialStoreOptions {
  /** Any ioredis connection (the store never blocks on it). */
  connection: Redis | Cluster;
  /** Key prefix, like REDIS_PREFIX (KeyLayout tags each credential by its id on a cluster). */
  prefix: string;
  /** Encrypts refresh tokens, access tokens and connect states at rest. */
  secretBox: SecretBox;
  /**
   * How long before its expiry an access token stops being served (default 60 s), capped at
   * half the token's lifetime so short-lived tokens are still cached.
   */
  refreshMarginMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export const DEFAULT_REFRESH_MARGIN_MS = 60_000;
/** The expiry of a long-lived token: a number, so that a cache entry stays plain JSON. */
const NEVER = Number.MAX_SAFE_INTEGER;
/** When the token endpoint does not say (`expires_in` is optional in RFC 6749), assume this. */
const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;

/**
 * Takes the refresh lock unless another worker holds an unexpired one. The Redis clock
 * (TIME) decides expiry, so clocks of worker machines do not matter.
 * ARGV: lock token, lock TTL ms. Answers {outcome, access, refresh_failure | status}.
 */
const ACQUIRE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'active' then return {'inactive', status or ''} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local access = redis.call('HGET', KEYS[1], 'access') or ''
local failure = redis.call('HGET', KEYS[1], 'refresh_failure') or ''
local lock = redis.call('HGET', KEYS[1], 'lock')
if lock then
  local expires = tonumber(string.match(lock, ':(%d+)$'))
  if expires and expires > now then return {'locked', access, failure} end
end
redis.call('HSET', KEYS[1], 'lock', ARGV[1] .. ':' .. tostring(now + tonumber(ARGV[2])))
return {'acquired', access, failure}
`;

/**
 * Stores a refreshed access token (and a rotated refresh token, when the provider sent
 * one), then drops the lock if it is still ours. The token is stored even when the lock
 * expired meanwhile: it is valid, and whoever holds the lock now overwrites it with another.
 * ARGV: lock token, access envelope, refreshed_at, refresh envelope or ''.
 * Answers 1, or 0 when the credential is gone or needs reconnecting (nothing written).
 */
const STORE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'access', ARGV[2], 'refreshed_at', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'refresh', ARGV[4]) end
redis.call('HDEL', KEYS[1], 'refresh_failure')
local lock = redis.call('HGET', KEYS[1], 'lock')
if lock and string.sub(lock, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then redis.call('HDEL', KEYS[1], 'lock') end
return 1
`;

/** Drops the lock if it is ours; records a failure when given. ARGV: lock token, failure JSON or ''. */
const RELEASE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'refresh_failure', ARGV[2]) end
local lock = redis.call('HGET', KEYS[1], 'lock')
if lock and string.sub(lock, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then redis.call('HDEL', KEYS[1], 'lock') end
return 1
`;

/** Marks a credential as needing reconnection and forgets its access token. ARGV: reason, time. */
const MARK_RECONNECT_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'reconnect_required', 'reconnect_reason', ARGV[1], 'status_changed_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'access', 'lock', 'refresh_failure')
return 1
`;

export class CredentialStore {
  readonly prefix: string;
  private readonly redis: Redis | Cluster;
  private readonly box: SecretBox;
  private readonly marginMs: number;
  private readonly now: () => number;

  constructor(options: CredentialStoreOptions) {
    this.redis = options.connection;
    this.prefix = options.prefix;
    this.box = options.secretBox;
    this.marginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.now = options.now ?? Date.now;
  }

  key(id: string): string {
    return keyLayoutOf(this.redis, this.prefix).credential(id);
  }

  /** Stores a new credential; answers its id and the auth_secret (to be shown once, never stored). */
  async create(credential: NewCredential): Promise<{ id: string; authSecret: string; info: CredentialInfo }> {
    const { id, secret, authSecret } = newAuthSecret();
    const createdAt = new Date(this.now()).toISOString();
    const fields: Record<string, string> = {
      v: '1',
      provider: credential.provider,
      owner: credential.owner,
      status: 'active',
      secret_hash: hashSecret(secret),
      created_at: createdAt,
    };
    if (credential.refreshToken !== undefined) fields.refresh = this.seal(credential.refreshToken);
    else if (!credential.accessToken) throw new Error('a credential needs a refresh token or an access token');
    if (credential.accountId) fields.account_id = credential.accountId;
    if (credential.scope) fields.scope = credential.scope;
    if (credential.accessToken) {
      fields.access = this.seal(this.cachedToken(credential.accessToken.token, credential.accessToken.expiresInSeconds));
      fields.refreshed_at = createdAt;
    }
    // HSETNX on a marker field first would guard against an id collision; 128 random bits make one
    // practically impossible, so a plain HSET it is.
    await this.redis.hset(this.key(id), fields);
    const info = infoOf(id, fields);
    if (!info) throw new Error('a new credential could not be read back');
    return { id, authSecret, info };
  }

  /** What may be shown about a credential; undefined when there is none with this id. */
  async info(id: string): Promise<CredentialInfo | undefined> {
    if (!isCredentialId(id)) return undefined;
    return infoOf(id, await this.redis.hgetall(this.key(id)));
  }

  /** Deletes a credential: its auth_secret stops working at once. Answers whether it existed. */
  async delete(id: string): Promise<boolean> {
    if (!isCredentialId(id)) return false;
    return (await this.redis.del(this.key(id))) === 1;
  }

  /** Marks a credential as needing reconnection (the provider answered invalid_grant). */
  async markReconnectRequired(id: string, reason: string): Promise<boolean> {
    const result = await this.redis.eval(MARK_RECONNECT_SCRIPT, 1, this.key(id), reason.slice(0, 300), new Date(this.now()).toISOString());
    return result === 1;
  }

  /** Reads a credential for a token request; undefined when there is none. */
  async snapshot(id: string): Promise<CredentialSnapshot | undefined> {
    if (!isCredentialId(id)) return undefined;
    const fields = await this.redis.hgetall(this.key(id));
    const provider = fields.provider as OAuthProvider | undefined;
    if (!provider || !(OAUTH_PROVIDERS as readonly string[]).includes(provider)) return undefined;
    return {
      id,
      provider,
      status: fields.status === 'active' ? 'active' : 'reconnect_required',
      secretHash: fields.secret_hash,
      access: this.openAccess(fields.access),
      failure: parseFailure(fields.refresh_failure),
    };
  }

  /** The decrypted refresh token; undefined when the credential is gone. */
  async refreshToken(id: string): Promise<string | undefined> {
    const sealed = await this.redis.hget(this.key(id), 'refresh');
    return sealed ? this.open<string>(sealed) : undefined;
  }

  /** Tries to take the refresh lock for `ttlMs` (it expires by itself if its holder dies). */
  async acquireRefreshLock(id: string, ttlMs: number): Promise<LockAttempt> {
    const lockToken = randomBytes(12).toString('hex');
    const [outcome, a = '', b = ''] = (await this.redis.eval(ACQUIRE_SCRIPT, 1, this.key(id), lockToken, String(Math.ceil(ttlMs)))) as string[];
    if (outcome === 'missing') return { outcome: 'missing' };
    if (outcome === 'inactive') return { outcome: 'inactive', status: a };
    const access = this.openAccess(a);
    const failure = parseFailure(b);
    if (outcome === 'acquired') return { outcome: 'acquired', lockToken, access, failure };
    return { outcome: 'locked', access, failure };
  }

  /** Stores a refreshed token and releases the lock; false when the credential is gone or needs reconnecting. */
  async storeRefreshed(id: string, lockToken: string, access: CachedAccessToken, rotatedRefreshToken?: string): Promise<boolean> {
    const result = await this.redis.eval(
      STORE_SCRIPT,
      1,
      this.key(id),
      lockToken,
      this.seal(access),
      new Date(this.now()).toISOString(),
      rotatedRefreshToken ? this.seal(rotatedRefreshToken) : '',
    );
    return result === 1;
  }

  /** Releases the lock after a failed refresh, remembering a transient failure for the waiters. */
  async releaseRefreshLock(id: string, lockToken: string, failure?: RefreshFailure): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.key(id), lockToken, failure ? JSON.stringify(failure) : '');
  }

  /** A cache entry for a token the provider said lives `expiresInSeconds` (`never`: until revoked). */
  cachedToken(token: string, expiresInSeconds: number | 'never' | undefined): CachedAccessToken {
    if (expiresInSeconds === 'never') return { token, expiresAt: NEVER, refreshAt: NEVER };
    const now = this.now();
    const lifetimeMs = (expiresInSeconds && expiresInSeconds > 0 ? expiresInSeconds : DEFAULT_TOKEN_LIFETIME_SECONDS) * 1000;
    const margin = Math.min(this.marginMs, lifetimeMs / 2);
    return { token, expiresAt: now + lifetimeMs, refreshAt: now + lifetimeMs - margin };
  }

  /** Keeps the state of a connect flow until its callback, for `ttlSeconds`. */
  async saveConnectState(state: string, record: ConnectState, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.connectStateKey(state), this.seal(record), 'EX', ttlSeconds);
  }

  /** Takes a connect state (once: a second call answers undefined), or undefined when expired or unknown. */
  async takeConnectState(state: string): Promise<ConnectState | undefined> {
    const sealed = await this.redis.getdel(this.connectStateKey(state));
    return sealed ? this.open<ConnectState>(sealed) : undefined;
  }

  private connectStateKey(state: string): string {
    // The state travels through browsers and provider logs; Redis holds only its hash.
    return keyLayoutOf(this.redis, this.prefix).connectState(createHash('sha256').update(state, 'utf8').digest('hex'));
  }

  private seal(value: unknown): string {
    return JSON.stringify(this.box.encrypt(value));
  }

  private open<T>(sealed: string): T {
    try {
      return this.box.decrypt<T>(JSON.parse(sealed) as EncryptedEnvelope);
    } catch (error) {
      // SecretBox's messages name the key id, never a key or the plaintext.
      throw new FleetError('UF_CONFIGURATION', `A stored credential cannot be decrypted (${(error as Error).message})`, { cause: error });
    }
  }

  private openAccess(sealed: string | undefined): CachedAccessToken | undefined {
    if (!sealed) return undefined;
    const access = this.open<CachedAccessToken>(sealed);
    return typeof access?.token === 'string' && typeof access.refreshAt === 'number' ? access : undefined;
  }
}

function parseFailure(text: string | undefined): RefreshFailure | undefined {
  if (!text) return undefined;
  try {
    const failure = JSON.parse(text) as RefreshFailure;
    return typeof failure.code === 'string' && typeof failure.at === 'number' ? failure : undefined;
  } catch {
    return undefined;
  }
}

function infoOf(id: string, fields: Record<string, string>): CredentialInfo | undefined {
  const provider = fields.provider as OAuthProvider | undefined;
  if (!provider || !(OAUTH_PROVIDERS as readonly string[]).includes(provider) || !fields.created_at) return undefined;
  return {
    id,
    provider,
    status: fields.status === 'active' ? 'active' : 'reconnect_required',
    owner: fields.owner ?? '',
    ...(fields.account_id ? { accountId: fields.account_id } : {}),
    ...(fields.scope ? { scope: fields.scope } : {}),
    createdAt: fields.created_at,
    ...(fields.refreshed_at ? { refreshedAt: fields.refreshed_at } : {}),
    ...(fields.status_changed_at ? { statusChangedAt: fields.status_changed_at } : {}),
    ...(fields.reconnect_reason ? { reconnectReason: fields.reconnect_reason } : {}),
  };
}
