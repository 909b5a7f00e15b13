import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { keyLayoutOf, type KeyLayout } from '@upload-fleet/core';

/**
 * The list of deliveries, newest first, for the delivery console: sorted sets of tokens
 * scored by creation time (ms), one for the whole fleet and one per owner (API key), so a
 * reader can be scoped to one owner. Written at enqueue (delivery-submission.ts), removed on
 * roll-back. Bounded like the records they point to: every write drops the entries older
 * than the record TTL and renews the set's own expiry, so the index never outlives the
 * records by more than one TTL. On a spread cluster the sets are keys of their own (not in
 * the record's slot), written with plain commands sent together with the enqueued mark; in
 * one slot they join the delivery's one MULTI (DeliveryWriter).
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

export class DeliveryIndex {
  private readonly layout: KeyLayout;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix: string,
    /** The delivery record TTL: entries older than this point to records that are gone. */
    private readonly ttlSeconds: number,
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

  /** Adds the token to both sets, drops entries older than the TTL, renews the sets' expiry. */
  private addCommands<T extends Pick<Redis, 'zadd' | 'zremrangebyscore' | 'expire'> | ChainableCommander>(target: T, token: string, owner: string, createdAtMs: number): unknown[] {
    const oldest = createdAtMs - this.ttlSeconds * 1000;
    return [this.allKey(), this.ownerKey(owner)].flatMap((key) => [
      target.zadd(key, createdAtMs, token),
      target.zremrangebyscore(key, '-inf', `(${oldest}`),
      target.expire(key, this.ttlSeconds),
    ]);
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
