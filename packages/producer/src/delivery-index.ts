import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { keyLayoutOf, type KeyLayout } from '@upload-fleet/core';

/**
 * The list of deliveries, newest first, for the delivery console: sorted sets of tokens
 * scored by creation time (ms), one for the whole fleet and one per owner (API key), so a
 * reader can be scoped to one owner. Written at enqueue (delivery-submission.ts), removed on
 * roll-back. Bounded like the records they point to: a write drops the entries older than
 * the record TTL and renews the set's own expiry, at most once a minute per set and process
 * (INDEX_UPKEEP_INTERVAL_MS), to a TTL and a minute, so a set outlives every record it
 * lists. On a spread cluster the sets are keys of their own (not in the record's slot),
 * written with plain commands sent together with the enqueued mark; in one slot they join
 * the delivery's one MULTI (DeliveryWriter).
 */
export interface DeliveryIndexQuery {
  /** Only this owner's deliveries; all owners when unset. */
  owner?: string;
  /** Created at or after (ms since the epoch). */
  fromMs?: number;
  /** Created at or before (ms since the epoch). */
  toMs?: number;
  /** Entries to skip, newest first (default 0). */
  offset?: number;
  /** At most this many tokens (default 50). */
  limit?: number;
}

/**
 * How often one process trims a set and renews its expiry. Every submit did both before: 4 of
 * the 12 commands of a delivery's transaction, for entries that expire by the day (the record
 * TTL is days), about a fifth of the submitting client's ioredis time per delivery.
 */
export const INDEX_UPKEEP_INTERVAL_MS = 60_000;

/** Sets whose next upkeep time is remembered (the fleet's and one per owner); beyond that the memory starts over. */
const UPKEEP_SETS_REMEMBERED = 10_000;

export class DeliveryIndex {
  private readonly layout: KeyLayout;
  /** When each set is next trimmed and its expiry renewed (ms), by key. */
  private readonly upkeepDueAt = new Map<string, number>();

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    /** The delivery record TTL: entries older than this point to records that are gone. */
    private readonly ttlSeconds: number,
    private readonly upkeepIntervalMs = INDEX_UPKEEP_INTERVAL_MS,
  ) {
    this.layout = keyLayoutOf(redis, prefix);
  }

  allKey(): string {
    return this.layout.deliveriesIndex();
  }

  ownerKey(owner: string): string {
    return this.layout.ownerIndex(owner);
  }

  async add(token: string, owner: string, createdAtMs: number): Promise<void> {
    // Plain commands, sent together: on a cluster the two sets may sit in different slots.
    await Promise.all(this.addCommands(this.redis, token, owner, createdAtMs));
  }

  /** `add` queued into a transaction (one server or one slot: DeliveryWriter). */
  addIn(multi: ChainableCommander, token: string, owner: string, createdAtMs: number): void {
    this.addCommands(multi, token, owner, createdAtMs);
  }

  /** Adds the token to both sets; when a set's upkeep is due, drops its entries older than the TTL and renews its expiry. */
  private addCommands<T extends Pick<Redis, 'zadd' | 'zremrangebyscore' | 'expire'> | ChainableCommander>(target: T, token: string, owner: string, createdAtMs: number): unknown[] {
    const oldest = createdAtMs - this.ttlSeconds * 1000;
    return [this.allKey(), this.ownerKey(owner)].flatMap((key) => [
      target.zadd(key, createdAtMs, token),
      // The expiry is a TTL and an interval away: the writes of the interval after a renewal do not renew it.
      ...(this.upkeepDue(key) ? [target.zremrangebyscore(key, '-inf', `(${oldest}`), target.expire(key, this.ttlSeconds + Math.ceil(this.upkeepIntervalMs / 1000))] : []),
    ]);
  }

  /**
   * Whether this write should trim `key` and renew its expiry, counting it done (a write that
   * fails leaves it to the next interval). The first write of a process to a set always does.
   */
  private upkeepDue(key: string): boolean {
    const now = Date.now();
    if ((this.upkeepDueAt.get(key) ?? 0) > now) return false;
    if (this.upkeepDueAt.size >= UPKEEP_SETS_REMEMBERED) this.upkeepDueAt.clear();
    this.upkeepDueAt.set(key, now + this.upkeepIntervalMs);
    return true;
  }

  async remove(token: string, owner: string): Promise<void> {
    await Promise.all([this.redis.zrem(this.allKey(), token), this.redis.zrem(this.ownerKey(owner), token)]);
  }

  /** Tokens, newest first. */
  async list(query: DeliveryIndexQuery = {}): Promise<string[]> {
    return (await this.entries(query)).map((entry) => entry.token);
  }

  /**
   * Tokens with their creation time (ms), newest first; equal times come in reverse token
   * order (ZREVRANGEBYSCORE's order), so (created_at, token) is a total order to page on.
   */
  async entries(query: DeliveryIndexQuery = {}): Promise<{ token: string; createdAtMs: number }[]> {
    const key = query.owner === undefined ? this.allKey() : this.ownerKey(query.owner);
    const max = query.toMs === undefined ? '+inf' : String(query.toMs);
    const min = query.fromMs === undefined ? '-inf' : String(query.fromMs);
    const flat = await this.redis.zrevrangebyscore(key, max, min, 'WITHSCORES', 'LIMIT', query.offset ?? 0, query.limit ?? 50);
    const entries: { token: string; createdAtMs: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ token: flat[i]!, createdAtMs: Number(flat[i + 1]) });
    return entries;
  }

  /** How many deliveries the index holds (for one owner, or all). */
  async count(owner?: string): Promise<number> {
    return this.redis.zcard(owner === undefined ? this.allKey() : this.ownerKey(owner));
  }
}
