import type { Cluster, Redis } from 'ioredis';
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

const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], untilMs, 'PXAT', untilMs) end
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
  constructor(private readonly options: FleetLimiterOptions) {}

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
    // A pause of the whole destination type (its own slot, so checked on its own).
    const typePausedForMs = await this.options.connection.pttl(this.typePauseKey(type));
    if (typePausedForMs > 0) return { allowed: false, waitMs: typePausedForMs, reason: 'paused' };
    const rules = this.rulesFor(type, key);
    const keys = this.keysOf(type, key, rules);
    if (!rules) {
      // No rule, but the platform may still have paused this key.
      const pausedForMs = await this.options.connection.pttl(keys.pause);
      if (pausedForMs > 0) return { allowed: false, waitMs: pausedForMs, reason: 'paused' };
      return { allowed: true, permit: this.permit(type, key, member, leaseHolder, keys) };
    }
    const args = [member, rules.windows.length, rules.concurrency ?? 0, this.options.leaseTtlMs, ...rules.windows.flatMap((w) => [w.limit, w.windowMs]), leaseHolder];
    const [allowed, waitMs, reason] = (await this.options.connection.eval(ACQUIRE, keys.windows.length + 2, ...keys.windows, keys.leases, keys.pause, ...args)) as [number, number, string];
    if (allowed === 1) return { allowed: true, permit: this.permit(type, key, member, leaseHolder, keys) };
    return { allowed: false, waitMs: Math.max(1, Number(waitMs)), reason: reason as 'window' | 'concurrency' | 'paused' };
  }

  /** The platform said "slow down": no upload of this key starts for `forMs`, fleet-wide. */
  async pause(type: DestinationType, key: string, forMs: number): Promise<void> {
    await this.options.connection.eval(PAUSE, 1, this.keysOf(type, key, undefined).pause, String(Math.max(1, Math.round(forMs))));
  }

  /** No upload of this destination type starts for `forMs`, whatever its account (a project-wide quota). */
  async pauseDestination(type: DestinationType, forMs: number): Promise<void> {
    await this.options.connection.eval(PAUSE, 1, this.typePauseKey(type), String(Math.max(1, Math.round(forMs))));
  }

  private typePauseKey(type: DestinationType): string {
    return `${this.options.prefix}:limit:{${type}}:pause`;
  }

  private permit(type: DestinationType, key: string, member: string, leaseHolder: string, keys: LimitKeys): Permit {
    const { connection, leaseTtlMs } = this.options;
    return {
      key,
      renew: async () => {
        await connection.eval(RENEW, 1, keys.leases, leaseHolder, String(leaseTtlMs));
      },
      release: async () => {
        await connection.zrem(keys.leases, leaseHolder);
      },
      giveBack: async () => {
        if (keys.windows.length > 0) await Promise.all(keys.windows.map((k) => connection.zrem(k, member)));
      },
    };
  }

  private keysOf(type: DestinationType, key: string, rules: KeyRules | undefined): LimitKeys {
    // The hash tag {type:key} keeps every key of one account in one cluster slot.
    const base = `${this.options.prefix}:limit:{${type}:${key.replace(/[{}]/g, '_')}}`;
    return {
      windows: (rules?.windows ?? []).map((w) => `${base}:window:${w.windowMs}`),
      leases: `${base}:leases`,
      pause: `${base}:pause`,
    };
  }
}

interface LimitKeys {
  windows: string[];
  leases: string;
  pause: string;
}
