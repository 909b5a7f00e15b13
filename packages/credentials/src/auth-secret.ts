import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The `auth_secret` a user gets at the end of a connect flow: `ufc_<id>.<secret>`.
 *
 * - `id` (16 random bytes, base64url) names the credential's Redis key. It is not secret
 *   on its own: operators see it in logs and use it to revoke.
 * - `secret` (32 random bytes, base64url) is shown once and never stored: Redis keeps only
 *   its SHA-256. A plain hash is enough because the secret is 256 random bits, not a
 *   password (nothing to brute-force); it is compared in constant time.
 *
 * The `ufc_` prefix lets secret scanners (and people) recognise a leaked one.
 */
export interface ParsedAuthSecret {
  id: string;
  secret: string;
}

const PREFIX = 'ufc_';
const FORMAT = /^ufc_([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const ID_FORMAT = /^[A-Za-z0-9_-]{22}$/;

export function newAuthSecret(): ParsedAuthSecret & { authSecret: string } {
  const id = randomBytes(16).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, authSecret: `${PREFIX}${id}.${secret}` };
}

/** The parts of a well-formed auth_secret; undefined for anything else. */
export function parseAuthSecret(value: unknown): ParsedAuthSecret | undefined {
  if (typeof value !== 'string') return undefined;
  const match = FORMAT.exec(value.trim());
  if (!match?.[1] || !match[2]) return undefined;
  return { id: match[1], secret: match[2] };
}

/** Whether a string can be a credential id (the first part of an auth_secret). */
export function isCredentialId(value: string): boolean {
  return ID_FORMAT.test(value);
}

/** What Redis stores instead of the secret: hex SHA-256. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with the stored hash. */
export function secretMatches(secret: string, storedHash: string | undefined): boolean {
  if (!storedHash || !/^[0-9a-f]{64}$/.test(storedHash)) return false;
  return timingSafeEqual(Buffer.from(hashSecret(secret), 'hex'), Buffer.from(storedHash, 'hex'));
}
