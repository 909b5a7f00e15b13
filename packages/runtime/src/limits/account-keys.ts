import type { Cluster, Redis } from 'ioredis';
import { keyLayoutOf } from '@upload-fleet/core';
import { isCredentialKey, limitKeyOf, type Destination } from '@upload-fleet/destinations/definitions';
import type { AccountContext, DestinationAdapter } from '@upload-fleet/destinations';

/**
 * Resolves the limit key of a destination: the account behind its credential when the
 * adapter can tell (YouTube channel), cached in Redis per credential hash so it is asked
 * once per credential fleet-wide, else the default key. A failed lookup falls back to the
 * credential's hash rather than blocking the upload.
 */
export class AccountKeys {
  constructor(
    private readonly connection: Redis | Cluster,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  async keyOf(adapter: DestinationAdapter, destination: Destination, context: Omit<AccountContext<Destination>, 'destination'>): Promise<string> {
    // The definition's key (bucket, host, or a credential's hash: docs/rate-limits.md).
    const fallback = limitKeyOf(destination);
    if (!adapter.accountOf || !isCredentialKey(fallback)) return fallback;
    const cacheKey = keyLayoutOf(this.connection, this.prefix).account(adapter.type, fallback);
    const cached = await this.connection.get(cacheKey);
    if (cached) return cached;
    try {
      const account = await adapter.accountOf({ ...context, destination } as never);
      await this.connection.set(cacheKey, account, 'EX', this.ttlSeconds);
      return account;
    } catch {
      return fallback;
    }
  }
}
