import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from './config.js';

/**
 * Finds the API key a bearer token belongs to. Every configured key is compared, always
 * all of them and in constant time each (timingSafeEqual over SHA-256 digests, so keys of
 * different lengths compare in the same time too), so the answer time says nothing about
 * how close a guess was or which key it resembled.
 */
export class ApiKeyMatcher {
  private readonly digests: { name: string; digest: Buffer }[];

  constructor(keys: readonly ApiKey[]) {
    if (keys.length === 0) throw new Error('buildApi needs at least one API key.');
    this.digests = keys.map((k) => ({ name: k.name, digest: sha256(k.key) }));
  }

  /** The key's name (the owner of its deliveries), or undefined when no key matches. */
  match(candidate: string): string | undefined {
    const digest = sha256(candidate);
    let owner: string | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(entry.digest, digest) && owner === undefined) owner = entry.name;
    }
    return owner;
  }
}

/** The token of an `Authorization: Bearer <token>` header; undefined when missing or malformed. */
export function bearerTokenOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer +([\x21-\x7E]+) *$/i.exec(header);
  return match?.[1];
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
