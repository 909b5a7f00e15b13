import { createHash, timingSafeEqual } from 'node:crypto';
import type { DashboardUser } from './config.js';

/** The challenge a browser answers with its login dialog. */
export const BASIC_CHALLENGE = 'Basic realm="upload-fleet dashboard", charset="UTF-8"';

/**
 * Checks HTTP Basic credentials against the configured logins. Every login is compared,
 * always all of them, name and password each with timingSafeEqual over SHA-256 digests (so
 * values of different lengths compare in the same time too): the answer time says nothing
 * about how close a guess was or which login it resembled.
 */
export class BasicAuthMatcher {
  private readonly users: { name: string; nameDigest: Buffer; passwordDigest: Buffer }[];

  constructor(users: readonly DashboardUser[]) {
    if (users.length === 0) throw new Error('Basic auth needs at least one login (DASHBOARD_USERS).');
    this.users = users.map((u) => ({ name: u.name, nameDigest: sha256(u.name), passwordDigest: sha256(u.password) }));
  }

  /** The login's name, or undefined when the header is missing, malformed or wrong. */
  match(authorization: string | string[] | undefined): string | undefined {
    const credentials = basicCredentialsOf(authorization);
    // A missing header costs the same comparisons as a wrong one.
    const nameDigest = sha256(credentials?.name ?? '');
    const passwordDigest = sha256(credentials?.password ?? '');
    let matched: string | undefined;
    for (const user of this.users) {
      // `&`, not `&&`: both comparisons run whatever the first one answers.
      const ok = Number(timingSafeEqual(user.nameDigest, nameDigest)) & Number(timingSafeEqual(user.passwordDigest, passwordDigest));
      if (ok === 1 && matched === undefined) matched = user.name;
    }
    return credentials ? matched : undefined;
  }
}

/** The name and password of an `Authorization: Basic <base64(name:password)>` header. */
export function basicCredentialsOf(header: string | string[] | undefined): { name: string; password: string } | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
