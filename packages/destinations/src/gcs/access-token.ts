import { createHash, createSign } from 'node:crypto';
import got from 'got';
import { FleetError, parseRetryAfter, type NetworkGuard } from '@upload-fleet/core';
import { errorForFailure } from './errors.js';
import type { ServiceAccountKey } from './service-account-key.js';

/**
 * Access tokens of a service account: the OAuth 2.0 JWT bearer grant
 * (https://developers.google.com/identity/protocols/oauth2/service-account#httprest):
 * a JWT signed with the key's private key (RS256), naming the account (`iss`), the scope
 * and the token endpoint (`aud`), is exchanged at the key's `token_uri` for an access
 * token that lasts an hour.
 *
 * Why node:crypto and not google-auth-library: the grant is one signature and one form
 * POST, and doing it here puts the token request through the same HTTP stack as the
 * upload: the network guard's lookup (a key's token_uri is user input, so it must not
 * reach a private address unless the operator allowed it), the abort signal, the
 * timeouts, and one classification of failures. google-auth-library's JWT client does
 * honour a key's token_uri, but its HTTP layer (gaxios) has its own retries and no lookup
 * hook, and it would add a dependency tree for 40 lines.
 *
 * Tokens are cached per key in this process until five minutes before they expire; after
 * a 401 from Cloud Storage the rejected token is dropped and a new one signed, once.
 */

/** Read and write objects: https://cloud.google.com/storage/docs/oauth-scopes. */
export const GCS_SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';
/** Google accepts JWT assertions valid for at most an hour. */
const ASSERTION_LIFETIME_S = 3600;
/** A cached token is renewed this long before it expires, so an upload never starts on one about to lapse. */
const EXPIRY_MARGIN_MS = 5 * 60_000;
const TOKEN_TIMEOUT_MS = 30_000;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** One entry per key (by a hash of it, never the key itself), shared by every upload of the process. */
const cache = new Map<string, CachedToken>();
/** Requests in flight per key, so concurrent uploads of one key sign and fetch once. */
const pending = new Map<string, Promise<CachedToken>>();

export interface ServiceAccountTokens {
  current(): Promise<string>;
  /** A new token after Cloud Storage rejected `rejected` (401). */
  renew(rejected: string): Promise<string>;
}

export function serviceAccountTokens(key: ServiceAccountKey, network: NetworkGuard, signal: AbortSignal, now: () => number = Date.now): ServiceAccountTokens {
  // The token endpoint is part of the identity: a token from one endpoint is never sent on behalf of another.
  const id = createHash('sha256').update(key.client_email).update('\0').update(key.token_uri).update('\0').update(key.private_key).digest('hex');
  // The request is shared by every upload of the key that waits for it, so it runs without
  // any one upload's signal (its timeout bounds it); each upload stops waiting on its own abort.
  const fetchOnce = (): Promise<CachedToken> => {
    let request = pending.get(id);
    if (!request) {
      request = requestToken(key, network, now).finally(() => pending.delete(id));
      pending.set(id, request);
    }
    return untilAborted(request, signal);
  };
  return {
    async current() {
      const cached = cache.get(id);
      if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > now()) return cached.token;
      const fresh = await fetchOnce();
      cache.set(id, fresh);
      return fresh.token;
    },
    async renew(rejected) {
      if (cache.get(id)?.token === rejected) cache.delete(id);
      const cached = cache.get(id);
      if (cached) return cached.token; // another upload already renewed it
      const fresh = await fetchOnce();
      cache.set(id, fresh);
      return fresh.token;
    },
  };
}

/** Forgets every cached token (tests). */
export function clearTokenCache(): void {
  cache.clear();
}

/** The signed assertion: header.claims.signature, each base64url. */
export function signedAssertion(key: ServiceAccountKey, nowMs: number): string {
  const issuedAt = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = { iss: key.client_email, scope: GCS_SCOPE, aud: key.token_uri, iat: issuedAt, exp: issuedAt + ASSERTION_LIFETIME_S };
  const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  let signature: string;
  try {
    signature = createSign('RSA-SHA256').update(unsigned).sign(key.private_key, 'base64url');
  } catch {
    // Never the crypto error's text: it may quote the key.
    throw new FleetError('UF_CREDENTIALS_INVALID', 'credentials.private_key could not sign: it is not a usable RSA private key. Send the service account key file as Google issued it', {
      destination: 'gcs',
    });
  }
  return `${unsigned}.${signature}`;
}

async function requestToken(key: ServiceAccountKey, network: NetworkGuard, now: () => number): Promise<CachedToken> {
  const url = new URL(key.token_uri);
  await network.assertAllowed(url);
  const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: signedAssertion(key, now()) });
  let response;
  try {
    response = await got(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      responseType: 'text',
      dnsLookup: network.lookup,
      followRedirect: false,
      throwHttpErrors: false,
      retry: { limit: 0 },
      timeout: { request: TOKEN_TIMEOUT_MS },
    });
  } catch (error) {
    throw errorForFailure(error, 'token', NOT_ABORTED);
  }
  const body = parseJson(response.body);
  if (response.statusCode === 200 && typeof body?.access_token === 'string') {
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    return { token: body.access_token, expiresAt: now() + expiresIn * 1000 };
  }
  throw tokenError(response.statusCode, body, response.headers['retry-after']);
}

/** The token endpoint's OAuth errors (`{"error": "invalid_grant", "error_description": ...}`). */
function tokenError(status: number, body: Record<string, unknown> | undefined, retryAfter: string | string[] | undefined): FleetError {
  const error = typeof body?.error === 'string' ? body.error : undefined;
  const description = typeof body?.error_description === 'string' ? body.error_description.slice(0, 200) : undefined;
  const said = error ? `: ${error}${description ? ` ("${description}")` : ''}` : ` (${status})`;
  const options = { destination: 'gcs', status };
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    return new FleetError('UF_RATE_LIMITED', `Google's token endpoint refused to issue more tokens for now${said}`, { ...options, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
  if (status >= 500) return new FleetError('UF_DESTINATION_UNAVAILABLE', `Google's token endpoint answered ${status}${said}`, options);
  // invalid_grant ("Invalid JWT Signature.", "account not found"), invalid_client, unauthorized_client:
  // the key was deleted or disabled, or the account is gone. A new key fixes it, a retry does not.
  return new FleetError(
    'UF_CREDENTIALS_INVALID',
    `Google refused the service account key in credentials${said}. The key may have been deleted or disabled, or its service account removed: create a new key and send its JSON`,
    options,
  );
}

const NOT_ABORTED = new AbortController().signal;

/** The request's outcome, or UF_ABORTED as soon as this upload's signal fires. */
function untilAborted<T>(request: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedWhileWaiting());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedWhileWaiting());
    signal.addEventListener('abort', onAbort, { once: true });
    request.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function abortedWhileWaiting(): FleetError {
  return new FleetError('UF_ABORTED', 'The upload to Cloud Storage was aborted while it waited for an access token', { destination: 'gcs' });
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
