import { createHash } from 'node:crypto';

/**
 * Building blocks of limit keys (`definition.limits.key`). A key names the account that
 * uploads count against and never contains a secret: where the account is only known
 * through a token, the key is a short hash of it.
 */

/** `credential:<hash>`: the account behind a token, when nothing better names it. */
export function credentialKey(secret: string | undefined): string {
  return `${CREDENTIAL_KEY_PREFIX}${createHash('sha256').update(secret ?? '').digest('hex').slice(0, 16)}`;
}

const CREDENTIAL_KEY_PREFIX = 'credential:';

/** Whether a key is a credential's hash (the runtime then asks the adapter for the real account). */
export function isCredentialKey(key: string): boolean {
  return key.startsWith(CREDENTIAL_KEY_PREFIX);
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
