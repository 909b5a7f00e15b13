import type { Cluster, Redis } from 'ioredis';

/**
 * The list of deliveries, newest first, for the delivery console: sorted sets of tokens
 * scored by creation time (ms), one for the whole fleet and one per owner (API key), so a
 * reader can be scoped to one owner. Written at enqueue (delivery-submission.ts), removed on
 * roll-back. Bounded like the records they point to: every write drops the entries older
 * than the record TTL and renews the set's own expiry, so the index never outlives the
 * records by more than one TTL. The sets are keys of their own (not in the record's slot),
 * so they are written with plain commands, never in a MULTI with the record (Redis
 * Cluster), and sent together with the enqueued mark (no extra round trip on submit).
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
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
    /** The delivery record TTL: entries older than this point to records that are gone. */
    private readonly ttlSeconds: number,
  ) {}

  allKey(): string {
    return `${this.prefix}:deliveries`;
  }

  ownerKey(owner: string): string {
    return `${this.prefix}:deliveries:owner:${owner}`;
  }

  async add(token: string, owner: string, createdAtMs: number): Promise<void> {
    const oldest = createdAtMs - this.ttlSeconds * 1000;
    await Promise.all(
      [this.allKey(), this.ownerKey(owner)].flatMap((key) => [
        this.redis.zadd(key, createdAtMs, token),
        this.redis.zremrangebyscore(key, '-inf', `(${oldest}`),
        this.redis.expire(key, this.ttlSeconds),
      ]),
    );
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
