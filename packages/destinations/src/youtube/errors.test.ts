import { describe, expect, it } from 'vitest';
import { FleetError, type ErrorCategory, type ErrorCode } from '@upload-fleet/core';
import { errorForAnswer, errorForFailure, isTokenRejection, QUOTA_RESET_MARGIN_MS, UPLOAD_LIMIT_RETRY_MS, type YouTubeStep } from './errors.js';
import { msUntilPacificMidnight } from './pacific-midnight.js';

/** A Google error body as the API sends it. */
const google = (code: number, reason: string, message: string, domain = 'youtube.video') =>
  JSON.stringify({ error: { code, message, errors: [{ message, domain, reason }] } });

const NOW = new Date('2025-03-09T09:00:00.000Z'); // 01:00 PST, the night the clocks spring forward
const HOUR = 3_600_000;

interface Row {
  name: string;
  status: number;
  body: string;
  step?: YouTubeStep;
  headers?: Record<string, string>;
  code: ErrorCode;
  category: ErrorCategory;
  retryAfterMs?: number;
  /** Parts the message must contain. */
  says?: string[];
}

const rows: Row[] = [
  {
    name: 'thumbnails.set forbidden: the channel may not set custom thumbnails, verify it',
    status: 403,
    step: 'thumbnail',
    body: google(403, 'forbidden', 'The authenticated user doesn\'t have permissions to upload and set custom video thumbnails.', 'youtube.thumbnail'),
    code: 'UF_PERMISSION_DENIED',
    category: 'permanent',
    says: ['custom thumbnails', 'youtube.com/verify', '(forbidden)'],
  },
  {
    name: 'thumbnails.set invalidImage: YouTube\'s words',
    status: 400,
    step: 'thumbnail',
    body: google(400, 'invalidImage', 'The provided image content is invalid.', 'youtube.thumbnail'),
    code: 'UF_DESTINATION_REJECTED',
    category: 'permanent',
    says: ['to set the thumbnail', '"The provided image content is invalid" (invalidImage)'],
  },
  {
    name: 'captions.insert without youtube.force-ssl: names that scope',
    status: 403,
    step: 'caption',
    body: google(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.', 'global'),
    code: 'UF_PERMISSION_DENIED',
    category: 'permanent',
    says: ['youtube.force-ssl'],
  },
  {
    name: 'captions.insert captionExists (409)',
    status: 409,
    step: 'caption',
    body: google(409, 'captionExists', 'The specified video already has a caption track with the given snippet.language and snippet.name.', 'youtube.caption'),
    code: 'UF_DESTINATION_REJECTED',
    category: 'permanent',
    says: ['already has a caption track', '(captionExists)'],
  },
  {
    name: 'quotaExceeded: until midnight Pacific (22 h on this night) plus a minute',
    status: 403,
    body: google(403, 'quotaExceeded', 'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.', 'youtube.quota'),
    code: 'UF_RATE_LIMITED',
    category: 'rate_limited',
    retryAfterMs: 22 * HOUR + QUOTA_RESET_MARGIN_MS,
    says: ['quota', 'midnight Pacific', '"The request cannot be completed because you have exceeded your quota" (quotaExceeded)'],
  },
  {
    name: 'dailyLimitExceeded (older name of the same limit)',
    status: 403,
    body: google(403, 'dailyLimitExceeded', 'Daily Limit Exceeded', 'usageLimits'),
    code: 'UF_RATE_LIMITED',
    category: 'rate_limited',
    retryAfterMs: msUntilPacificMidnight(NOW) + QUOTA_RESET_MARGIN_MS,
  },
  {
    name: 'uploadLimitExceeded (400): the channel\'s limit, an hour',
    status: 400,
    body: google(400, 'uploadLimitExceeded', 'The user has exceeded the number of videos they may upload.'),
    code: 'UF_RATE_LIMITED',
    category: 'rate_limited',
    retryAfterMs: UPLOAD_LIMIT_RETRY_MS,
    says: ['channel', 'in an hour', '(uploadLimitExceeded)'],
  },
  {
    name: 'rateLimitExceeded with Retry-After',
    status: 403,
    body: google(403, 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits'),
    headers: { 'retry-after': '30' },
    code: 'UF_RATE_LIMITED',
    category: 'rate_limited',
    retryAfterMs: 30_000,
  },
  {
    name: '429 without a body: rate limited, delay left to the runtime',
    status: 429,
    body: '',
    code: 'UF_RATE_LIMITED',
    category: 'rate_limited',
    retryAfterMs: undefined,
  },
  {
    name: '401 authError',
    status: 401,
    body: google(401, 'authError', 'Invalid Credentials', 'global'),
    code: 'UF_RECONNECT_REQUIRED',
    category: 'auth',
    says: ['expired or was revoked'],
  },
  {
    name: '403 forbidden',
    status: 403,
    body: google(403, 'forbidden', 'Access forbidden. The request may not be properly authorized.'),
    code: 'UF_PERMISSION_DENIED',
    category: 'permanent',
    says: ['Access forbidden'],
  },
  {
    name: '403 insufficientPermissions: the upload scope is missing',
    status: 403,
    body: google(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.', 'global'),
    code: 'UF_PERMISSION_DENIED',
    category: 'permanent',
    says: ['youtube.upload scope'],
  },
  {
    name: '401 youtubeSignupRequired: no channel, which no token fixes',
    status: 401,
    body: google(401, 'youtubeSignupRequired', 'The user has an unlinked Google Account.'),
    code: 'UF_PERMISSION_DENIED',
    category: 'permanent',
    says: ['no YouTube channel'],
  },
  ...(['invalidTitle', 'invalidDescription', 'invalidTags', 'invalidCategoryId', 'invalidVideoMetadata'] as const).map(
    (reason): Row => ({
      name: `400 ${reason}: the platform's message`,
      status: 400,
      body: google(400, reason, `The platform says <code>${reason}</code> is wrong.`),
      code: 'UF_DESTINATION_REJECTED',
      category: 'permanent',
      says: [`"The platform says ${reason} is wrong" (${reason})`],
    }),
  ),
  {
    name: '404 playlistNotFound',
    status: 404,
    step: 'playlist',
    body: google(404, 'playlistNotFound', 'The playlist identified with the request\'s <code>playlistId</code> parameter cannot be found.', 'youtube.playlistItem'),
    code: 'UF_DESTINATION_NOT_FOUND',
    category: 'permanent',
    says: ['playlist', 'playlistId parameter cannot be found'],
  },
  {
    name: '500 internalError',
    status: 500,
    body: google(500, 'internalError', 'Internal error encountered.', 'global'),
    code: 'UF_DESTINATION_UNAVAILABLE',
    category: 'transient',
  },
  {
    name: '503 backendError with Retry-After',
    status: 503,
    body: google(503, 'backendError', 'The service is currently unavailable.', 'global'),
    headers: { 'retry-after': '5' },
    code: 'UF_DESTINATION_UNAVAILABLE',
    category: 'transient',
    retryAfterMs: 5000,
  },
  {
    name: '502 with an HTML body (a proxy in front of Google)',
    status: 502,
    body: '<html><body>Bad Gateway</body></html>',
    code: 'UF_DESTINATION_UNAVAILABLE',
    category: 'transient',
  },
  { name: '408', status: 408, body: '', code: 'UF_TIMEOUT', category: 'transient' },
  { name: '413', status: 413, body: '', code: 'UF_FILE_TOO_LARGE', category: 'permanent' },
];

describe('errorForAnswer', () => {
  it.each(rows)('$name', (row) => {
    const error = errorForAnswer({ status: row.status, headers: row.headers ?? {}, body: row.body }, row.step ?? 'start', NOW);
    expect(error).toBeInstanceOf(FleetError);
    expect({ code: error.code, category: error.category, status: error.status, destination: error.destination }).toEqual({
      code: row.code,
      category: row.category,
      status: row.status,
      destination: 'youtube',
    });
    if ('retryAfterMs' in row) expect(error.retryAfterMs).toBe(row.retryAfterMs);
    for (const part of row.says ?? []) expect(error.message).toContain(part);
    // Google's HTML never reaches users.
    expect(error.message).not.toMatch(/<\/?(a|code|html|body)\b/);
  });

  it('quota waits until midnight Pacific, also in summer', () => {
    const summer = new Date('2025-07-04T15:30:00.000Z'); // 08:30 PDT
    const error = errorForAnswer({ status: 403, headers: {}, body: google(403, 'quotaExceeded', 'quota', 'youtube.quota') }, 'start', summer);
    expect(error.retryAfterMs).toBe(15.5 * HOUR + QUOTA_RESET_MARGIN_MS);
  });

  it('pauses all of YouTube for the project quota, but only the channel for its upload limit', () => {
    const quota = errorForAnswer({ status: 403, headers: {}, body: google(403, 'quotaExceeded', 'quota', 'youtube.quota') }, 'start');
    const channel = errorForAnswer({ status: 400, headers: {}, body: google(400, 'uploadLimitExceeded', 'limit', 'youtube.video') }, 'start');
    expect(quota.pauseScope).toBe('destination');
    expect(channel.pauseScope).toBe('account');
  });
});

describe('isTokenRejection', () => {
  it.each([
    ['401 authError', 401, google(401, 'authError', 'Invalid Credentials', 'global'), true],
    ['401 without a body', 401, '', true],
    ['401 youtubeSignupRequired', 401, google(401, 'youtubeSignupRequired', 'unlinked'), false],
    ['403 forbidden', 403, google(403, 'forbidden', 'no'), false],
  ] as const)('%s: %s', (_name, status, body, expected) => {
    expect(isTokenRejection({ status, headers: {}, body })).toBe(expected);
  });
});

describe('errorForFailure', () => {
  const live = new AbortController().signal;
  const withCode = (code: string, name = 'RequestError') => Object.assign(new Error(`connect ${code} https://www.googleapis.com/upload?upload_id=SECRET`), { code, name });

  it.each([
    ['connection reset', withCode('ECONNRESET'), 'UF_NETWORK', 'transient'],
    ['connection refused', withCode('ECONNREFUSED'), 'UF_NETWORK', 'transient'],
    ['DNS failure', withCode('ENOTFOUND'), 'UF_NETWORK', 'transient'],
    ['premature close', withCode('ERR_STREAM_PREMATURE_CLOSE'), 'UF_NETWORK', 'transient'],
    ['timeout', Object.assign(withCode('ETIMEDOUT', 'TimeoutError'), { event: 'response' }), 'UF_TIMEOUT', 'transient'],
    ['bad certificate', withCode('CERT_HAS_EXPIRED'), 'UF_DESTINATION_REJECTED', 'permanent'],
    ['anything else', withCode('EWHATEVER'), 'UF_UNKNOWN', 'transient'],
  ] as const)('%s', (_name, error, code, category) => {
    const fleetError = errorForFailure(error, 'chunk', live);
    expect({ code: fleetError.code, category: fleetError.category }).toEqual({ code, category });
    // got's messages hold the session URI, which is a credential: never reused.
    expect(fleetError.message).not.toContain('SECRET');
  });

  it('an aborted signal wins over the error it caused', () => {
    const controller = new AbortController();
    controller.abort('shutdown');
    expect(errorForFailure(withCode('ECONNRESET'), 'chunk', controller.signal).code).toBe('UF_ABORTED');
  });

  it('passes on a FleetError raised underneath (the network guard, a source)', () => {
    const blocked = new FleetError('UF_BLOCKED_ADDRESS', 'refused 10.0.0.1');
    const wrapped = Object.assign(new Error('wrapped'), { cause: blocked });
    expect(errorForFailure(wrapped, 'start', live)).toBe(blocked);
  });
});
