import { createHash, randomBytes } from 'node:crypto';

/**
 * HTTP authentication as a WebDAV client does it: the first request goes without
 * credentials, the server's `WWW-Authenticate` challenge says which scheme it wants, and
 * every later request answers it. Digest (RFC 7616) is preferred when offered, since the
 * password then never crosses the wire; Basic (RFC 7617) sends user:password UTF-8 encoded.
 *
 * Digest is written here rather than taken from npm: the helpers there (digest-header,
 * the axios ones) split "user:password" at its first colon, which breaks passwords with a
 * colon, know MD5 only, and cut challenges at every comma (a quoted realm with a comma).
 */

export interface Challenge {
  /** Lower case: "basic", "digest". */
  scheme: string;
  params: Record<string, string>;
}

/** Parses one or more challenges (RFC 9110 section 11.6.1; several headers joined by commas). */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : ((header as string | undefined) ?? '');
  const challenges: Challenge[] = [];
  let index = 0;
  const skip = (pattern: RegExp) => {
    while (index < text.length && pattern.test(text[index]!)) index += 1;
  };
  const token = () => {
    const match = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(text.slice(index));
    if (!match) return undefined;
    index += match[0].length;
    return match[0];
  };
  while (index < text.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(/\s/);
      const start = index;
      const name = token();
      skip(/\s/);
      if (!name || text[index] !== '=') {
        index = start; // the next challenge's scheme (or a token68, which no scheme here uses)
        break;
      }
      index += 1;
      skip(/\s/);
      challenge.params[name.toLowerCase()] = text[index] === '"' ? quoted() : (token() ?? '');
      skip(/\s/);
      if (text[index] !== ',') break;
      index += 1;
    }
  }
  return challenges;

  function quoted(): string {
    let value = '';
    for (index += 1; index < text.length && text[index] !== '"'; index += 1) {
      if (text[index] === '\\') index += 1;
      value += text[index] ?? '';
    }
    index += 1;
    return value;
  }
}

type Algorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';
const ALGORITHMS: readonly Algorithm[] = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'];

/** Answers challenges with one user's credentials; one per upload (it counts the nonce uses). */
export class Authenticator {
  private scheme: { kind: 'basic' } | { kind: 'digest'; challenge: Challenge; algorithm: Algorithm; nonceCount: number } | undefined;

  constructor(
    private readonly user: string,
    private readonly password: string,
  ) {}

  /** True once a challenge was accepted: requests then carry an Authorization header. */
  get ready(): boolean {
    return this.scheme !== undefined;
  }

  /**
   * Takes the challenges of a 401. Returns false when sending the request again cannot
   * help: no scheme this client speaks, or the same credentials were already refused
   * (a Digest challenge with `stale=true` only says the nonce expired: worth one more try).
   */
  accept(challenges: readonly Challenge[]): boolean {
    const digest = challenges.find((c) => c.scheme === 'digest' && c.params.nonce && ALGORITHMS.includes(algorithmOf(c)) && qopOf(c) !== 'unsupported');
    const wasRefused = this.scheme !== undefined;
    if (digest) {
      const stale = digest.params.stale?.toLowerCase() === 'true';
      if (wasRefused && !stale) return false;
      this.scheme = { kind: 'digest', challenge: digest, algorithm: algorithmOf(digest), nonceCount: 0 };
      return true;
    }
    if (challenges.some((c) => c.scheme === 'basic') && !wasRefused) {
      this.scheme = { kind: 'basic' };
      return true;
    }
    return false;
  }

  /** The Authorization header for a request, or undefined before a challenge came. */
  header(method: string, target: URL, cnonce = randomBytes(16).toString('hex')): string | undefined {
    const scheme = this.scheme;
    if (!scheme) return undefined;
    if (scheme.kind === 'basic') return `Basic ${Buffer.from(`${this.user}:${this.password}`, 'utf8').toString('base64')}`;
    scheme.nonceCount += 1;
    return digestAuthorization({
      challenge: scheme.challenge,
      algorithm: scheme.algorithm,
      user: this.user,
      password: this.password,
      method,
      uri: `${target.pathname}${target.search}`,
      nonceCount: scheme.nonceCount,
      cnonce,
    });
  }
}

export interface DigestInput {
  challenge: Challenge;
  algorithm: Algorithm;
  user: string;
  password: string;
  method: string;
  /** The request-target as sent: path and query. */
  uri: string;
  nonceCount: number;
  cnonce: string;
}

/** The Digest response of RFC 7616 section 3.4 (qop "auth", or none for RFC 2069 servers). */
export function digestAuthorization(input: DigestInput): string {
  const { challenge, algorithm, user, password, method, uri, nonceCount, cnonce } = input;
  const { realm = '', nonce = '', opaque } = challenge.params;
  const hash = (text: string) => createHash(algorithm.startsWith('SHA-256') ? 'sha256' : 'md5').update(text, 'utf8').digest('hex');
  const qop = qopOf(challenge);
  const nc = nonceCount.toString(16).padStart(8, '0');
  let ha1 = hash(`${user}:${realm}:${password}`);
  if (algorithm.endsWith('-sess')) ha1 = hash(`${ha1}:${nonce}:${cnonce}`);
  const ha2 = hash(`${method}:${uri}`);
  const response = qop === 'auth' ? hash(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) : hash(`${ha1}:${nonce}:${ha2}`);
  const fields = [
    `username=${quote(user)}`,
    `realm=${quote(realm)}`,
    `nonce=${quote(nonce)}`,
    `uri=${quote(uri)}`,
    `algorithm=${algorithm}`,
    `response="${response}"`,
    ...(opaque !== undefined ? [`opaque=${quote(opaque)}`] : []),
    ...(qop === 'auth' ? [`qop=auth`, `nc=${nc}`, `cnonce="${cnonce}"`] : []),
  ];
  return `Digest ${fields.join(', ')}`;
}

function algorithmOf(challenge: Challenge): Algorithm {
  const named = challenge.params.algorithm?.toUpperCase() ?? 'MD5';
  return ALGORITHMS.find((a) => a.toUpperCase() === named) ?? ('unknown' as Algorithm);
}

/** "auth" when offered, none for a challenge without qop; auth-int alone needs the body hashed: not for a streamed upload. */
function qopOf(challenge: Challenge): 'auth' | 'none' | 'unsupported' {
  const qop = challenge.params.qop;
  if (qop === undefined) return 'none';
  return qop.split(',').some((q) => q.trim().toLowerCase() === 'auth') ? 'auth' : 'unsupported';
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
