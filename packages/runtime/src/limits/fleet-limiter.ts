import type { Cluster, Redis } from 'ioredis';
import { keyLayoutOf, type KeyLayout } from '@upload-fleet/core';
import type { DestinationType } from '@upload-fleet/destinations/definitions';
import { rulesFor, type KeyRules, type LimitRules } from './rules.js';

/**
 * Fleet-wide limits in Redis, decided atomically by one Lua script per decision.
 *
 * For each key (destination account) there is one sorted set per rolling window (a
 * sliding log: one member per upload start, scored by its time), one sorted set of
 * concurrency leases (scored by their expiry, so a dead worker's lease lapses by itself),
 * and one pause key (set when the platform says "slow down"). All keys of one account
 * share a hash tag, so a decision touches one slot and works on Redis Cluster.
 * Time is Redis' own clock (TIME), the same for every pod.
 */

/** "Start now", or "not before `waitMs` from now" (relative, so pod clocks need not agree). */
export type Decision =
  | { allowed: true; permit: Permit }
  | { allowed: false; waitMs: number; reason: 'window' | 'concurrency' | 'paused' };

/** The name ACQUIRE is defined under on a connection (ioredis defineCommand). */
const ACQUIRE_COMMAND = 'uploadFleetLimitAcquire';
type AcquireCommand = Record<typeof ACQUIRE_COMMAND, (...args: (string | number)[]) => Promise<unknown>>;

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[1]
local windows = tonumber(ARGV[2])
local concurrency = tonumber(ARGV[3])
local leaseTtl = tonumber(ARGV[4])
local holder = ARGV[5 + 2 * windows]
local leasesKey = KEYS[windows + 1]
local pauseKey = KEYS[windows + 2]

local pausedUntil = tonumber(redis.call('GET', pauseKey) or '0')
if pausedUntil > now then return {0, pausedUntil - now, 'paused'} end

if concurrency > 0 then
  redis.call('ZREMRANGEBYSCORE', leasesKey, '-inf', now)
  if redis.call('ZSCORE', leasesKey, holder) == false and redis.call('ZCARD', leasesKey) >= concurrency then
    local first = redis.call('ZRANGE', leasesKey, 0, 0, 'WITHSCORES')
    return {0, math.min(tonumber(first[2]) - now, leaseTtl), 'concurrency'}
  end
end

local notBefore = 0
for i = 1, windows do
  local limit = tonumber(ARGV[3 + 2 * i])
  local window = tonumber(ARGV[4 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= limit and redis.call('ZSCORE', KEYS[i], member) == false then
    -- The start that leaves the window first frees the next slot.
    local oldest = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
    local free = tonumber(oldest[2]) + window
    if free > notBefore then notBefore = free end
  end
end
if notBefore > 0 then return {0, notBefore - now, 'window'} end

for i = 1, windows do
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[4 + 2 * i]))
end
if concurrency > 0 then
  redis.call('ZADD', leasesKey, now + leaseTtl, holder)
  redis.call('PEXPIRE', leasesKey, leaseTtl * 2)
end
return {1, 0, 'ok'}
`;

/** KEYS[1] the pause (its value: until when, ms), KEYS[2] why (shown by the console), both lapsing together. */
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then
  redis.call('SET', KEYS[1], untilMs, 'PXAT', untilMs)
  if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PXAT', untilMs) else redis.call('DEL', KEYS[2]) end
end
return untilMs
`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
`;

export interface FleetLimiterOptions {
  connection: Redis | Cluster;
  prefix: string;
  rules: LimitRules;
  /** A concurrency lease lapses this long after its holder last renewed it. */
  leaseTtlMs: number;
}

export interface Permit {
  key: string;
  /** Keeps the lease alive during a long upload; call about every leaseTtl/3. */
  renew(): Promise<void>;
  /** Ends the lease (the upload is over). */
  release(): Promise<void>;
  /** Gives the window slots back: the upload never reached the platform. */
  giveBack(): Promise<void>;
}

export class FleetLimiter {
  private readonly layout: KeyLayout;

  constructor(private readonly options: FleetLimiterOptions) {
    this.layout = keyLayoutOf(options.connection, options.prefix);
    // Sent by its SHA (EVALSHA, EVAL once after a NOSCRIPT) rather than its whole text on
    // every upload of a limited pool; the number of keys varies with the rules, so it is
    // the first argument (no numberOfKeys).
    if (!(ACQUIRE_COMMAND in options.connection)) options.connection.defineCommand(ACQUIRE_COMMAND, { lua: ACQUIRE });
  }

  rulesFor(type: DestinationType, key: string): KeyRules | undefined {
    return rulesFor(this.options.rules, type, key);
  }

  /**
   * May an upload of this key start now? `member` names the attempt (job id and attempt
   * number) in the rolling windows: asking again for the same member is not counted twice.
   * `leaseHolder` names the concurrency lease, by default the member. The upload processor
   * passes the job id, so a job re-run after its worker died takes over the lease that
   * worker left, instead of waiting for it to lapse (KEY_LEASE_TTL_MS) behind its own ghost.
   */
  async acquire(type: DestinationType, key: string, member: string, leaseHolder: string = member): Promise<Decision> {
    const rules = this.rulesFor(type, key);
    const keys = this.keysOf(type, key, rules);
    const { connection } = this.options;
    if (!rules) {
      // No rule, but the platform may have paused the whole type or this key. Two reads in
      // different slots (so not one script on a cluster), sent together: one round trip.
      const [typePausedForMs, pausedForMs] = await Promise.all([connection.pttl(this.typePauseKey(type)), connection.pttl(keys.pause)]);
      if (typePausedForMs > 0) return { allowed: false, waitMs: typePausedForMs, reason: 'paused' };
      if (pausedForMs > 0) return { allowed: false, waitMs: pausedForMs, reason: 'paused' };
      return { allowed: true, permit: this.permit(type, key, member, leaseHolder, keys, rules) };
    }
    // A pause of the whole destination type (its own slot, so checked on its own), before
    // the decision that takes a slot.
    const typePausedForMs = await connection.pttl(this.typePauseKey(type));
    if (typePausedForMs > 0) return { allowed: false, waitMs: typePausedForMs, reason: 'paused' };
    const args = [member, rules.windows.length, rules.concurrency ?? 0, this.options.leaseTtlMs, ...rules.windows.flatMap((w) => [w.limit, w.windowMs]), leaseHolder];
    const [allowed, waitMs, reason] = (await (connection as unknown as AcquireCommand)[ACQUIRE_COMMAND](keys.windows.length + 2, ...keys.windows, keys.leases, keys.pause, ...args)) as [number, number, string];
    if (allowed === 1) return { allowed: true, permit: this.permit(type, key, member, leaseHolder, keys, rules) };
    return { allowed: false, waitMs: Math.max(1, Number(waitMs)), reason: reason as 'window' | 'concurrency' | 'paused' };
  }

  /**
   * The platform said "slow down": no upload of this key starts for `forMs`, fleet-wide.
   * `reason` (an error code and message, without secrets) is what the console shows.
   */
  async pause(type: DestinationType, key: string, forMs: number, reason = ''): Promise<void> {
    const keys = this.keysOf(type, key, undefined);
    await this.options.connection.eval(PAUSE, 2, keys.pause, `${keys.pause}${PAUSE_REASON_SUFFIX}`, String(Math.max(1, Math.round(forMs))), reason);
  }

  /** No upload of this destination type starts for `forMs`, whatever its account (a project-wide quota). */
  async pauseDestination(type: DestinationType, forMs: number, reason = ''): Promise<void> {
    const pause = this.typePauseKey(type);
    await this.options.connection.eval(PAUSE, 2, pause, `${pause}${PAUSE_REASON_SUFFIX}`, String(Math.max(1, Math.round(forMs))), reason);
  }

  /**
   * What the limits hold now, for every account with a trace in Redis (a start in a window,
   * a lease or a pause): per window used, remaining and when the oldest start leaves it;
   * the leases held; the pause with its reason. Read-only: SCAN and reads, nothing written
   * (the windows are not trimmed, starts that left a window are just not counted).
   */
  async snapshot(): Promise<AccountLimitState[]> {
    const { connection, prefix } = this.options;
    const accounts = new Map<string, { type: DestinationType; key: string | undefined; windowsMs: Set<number> }>();
    for (const name of await scanKeys(connection, this.layout.limitPattern())) {
      const parsed = parseLimitKeyName(prefix, name);
      if (!parsed) continue;
      const id = `${parsed.type}\u0000${parsed.key ?? ''}`;
      const account = accounts.get(id) ?? { type: parsed.type, key: parsed.key, windowsMs: new Set<number>() };
      if (parsed.windowMs !== undefined) account.windowsMs.add(parsed.windowMs);
      accounts.set(id, account);
    }
    const [seconds, micros] = await connection.time();
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const states = await Promise.all([...accounts.values()].map((account) => this.stateOf(account.type, account.key, account.windowsMs, now)));
    return states.sort((a, b) => a.type.localeCompare(b.type) || (a.key ?? '').localeCompare(b.key ?? ''));
  }

  private async stateOf(type: DestinationType, key: string | undefined, seenWindowsMs: Set<number>, now: number): Promise<AccountLimitState> {
    const { connection } = this.options;
    const rules = key === undefined ? undefined : this.rulesFor(type, key);
    const keys = key === undefined ? { windows: [], leases: undefined, pause: this.typePauseKey(type) } : this.keysOf(type, key, rules);
    const windowsMs = [...new Set([...(rules?.windows ?? []).map((w) => w.windowMs), ...seenWindowsMs])].sort((a, b) => a - b);
    const base = this.layout.limitBase(type, key ?? '');
    const windows = await Promise.all(
      windowsMs.map(async (windowMs) => {
        const windowKey = `${base}:window:${windowMs}`;
        const from = `(${now - windowMs}`;
        const [used, oldest] = await Promise.all([connection.zcount(windowKey, from, '+inf'), connection.zrangebyscore(windowKey, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)]);
        const limit = rules?.windows.find((w) => w.windowMs === windowMs)?.limit;
        return {
          window_ms: windowMs,
          ...(limit !== undefined ? { limit, remaining: Math.max(0, limit - used) } : {}),
          used,
          ...(oldest[1] !== undefined ? { resets_at: new Date(Number(oldest[1]) + windowMs).toISOString() } : {}),
        };
      }),
    );
    const [leases, pausedUntil, pauseReason] = await Promise.all([
      keys.leases ? connection.zrangebyscore(keys.leases, `(${now}`, '+inf', 'WITHSCORES') : Promise.resolve([] as string[]),
      connection.get(keys.pause),
      connection.get(`${keys.pause}${PAUSE_REASON_SUFFIX}`),
    ]);
    const held: AccountLimitState['leases'] = [];
    for (let i = 0; i + 1 < leases.length; i += 2) held.push({ holder: leases[i]!, expires_at: new Date(Number(leases[i + 1])).toISOString() });
    const paused = pausedUntil !== null && Number(pausedUntil) > now ? { until: new Date(Number(pausedUntil)).toISOString(), ...(pauseReason ? { reason: pauseReason } : {}) } : undefined;
    return {
      type,
      ...(key !== undefined ? { key } : {}),
      windows,
      ...(rules?.concurrency !== undefined ? { concurrency: rules.concurrency } : {}),
      leases: held,
      ...(paused ? { paused } : {}),
    };
  }

  private typePauseKey(type: DestinationType): string {
    return this.layout.limitTypePause(type);
  }

  private permit(type: DestinationType, key: string, member: string, leaseHolder: string, keys: LimitKeys, rules: KeyRules | undefined): Permit {
    const { connection, leaseTtlMs } = this.options;
    // Only a concurrency cap takes a lease (ACQUIRE); without one there is nothing to end.
    const leased = (rules?.concurrency ?? 0) > 0;
    return {
      key,
      renew: async () => {
        if (leased) await connection.eval(RENEW, 1, keys.leases, leaseHolder, String(leaseTtlMs));
      },
      release: async () => {
        if (leased) await connection.zrem(keys.leases, leaseHolder);
      },
      giveBack: async () => {
        if (keys.windows.length > 0) await Promise.all(keys.windows.map((k) => connection.zrem(k, member)));
      },
    };
  }

  private keysOf(type: DestinationType, key: string, rules: KeyRules | undefined): LimitKeys {
    // The hash tag {type:key} keeps every key of one account in one cluster slot (the
    // scripts touch one account's keys only), and spreads the accounts over the masters.
    const base = this.layout.limitBase(type, key);
    return {
      windows: (rules?.windows ?? []).map((w) => `${base}:window:${w.windowMs}`),
      leases: `${base}:leases`,
      pause: `${base}:pause`,
    };
  }
}

/** One account's limits as the console shows them (FleetLimiter.snapshot). */
export interface AccountLimitState {
  type: DestinationType;
  /** The account (limit key); absent for a pause of the whole destination type. */
  key?: string;
  windows: { window_ms: number; limit?: number; used: number; remaining?: number; resets_at?: string }[];
  concurrency?: number;
  leases: { holder: string; expires_at: string }[];
  paused?: { until: string; reason?: string };
}

const PAUSE_REASON_SUFFIX = '-reason';

/** `<prefix>:limit:{<type>:<key>}:window:<ms>|leases|pause` and `<prefix>:limit:{<type>}:pause`, back to their parts. */
function parseLimitKeyName(prefix: string, name: string): { type: DestinationType; key: string | undefined; windowMs: number | undefined } | undefined {
  if (!name.startsWith(`${prefix}:limit:{`)) return undefined;
  const rest = name.slice(prefix.length + 8);
  const close = rest.lastIndexOf('}:');
  if (close < 0) return undefined;
  const tag = rest.slice(0, close);
  const part = rest.slice(close + 2);
  const colon = tag.indexOf(':');
  const type = (colon < 0 ? tag : tag.slice(0, colon)) as DestinationType;
  const key = colon < 0 ? undefined : tag.slice(colon + 1);
  const window = /^window:(\d+)$/.exec(part);
  if (window) return { type, key, windowMs: Number(window[1]) };
  if (part === 'leases' || part === 'pause') return { type, key, windowMs: undefined };
  return undefined;
}

/** Every key matching `pattern`, on each master of a Cluster or on the one server. */
async function scanKeys(connection: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = 'nodes' in connection && typeof connection.nodes === 'function' ? (connection as Cluster).nodes('master') : [connection as Redis];
  const found = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      for (const key of keys) found.add(key);
    } while (cursor !== '0');
  }
  return [...found];
}

interface LimitKeys {
  windows: string[];
  leases: string;
  pause: string;
}
