import type { LookupFunction } from 'node:net';

/**
 * Checks outbound URLs against the fleet's network policy: loopback, private, link-local
 * and metadata addresses are refused unless the host is in ALLOWED_PRIVATE_HOSTS.
 * (Implementation: TODO in progress.)
 */
export interface NetworkGuard {
  /** Throws FleetError UF_BLOCKED_ADDRESS when the URL's host is not allowed. Resolves DNS. */
  assertAllowed(url: string | URL): Promise<void>;
  /** A `dns.lookup`-compatible function that refuses blocked addresses; pass it to every connection. */
  readonly lookup: LookupFunction;
}
