import { describe, expect, it } from 'vitest';
import { errorForAnswer, rateLimitWaitMs, type VimeoAnswer } from './errors.js';

const now = Date.parse('2026-12-03T12:00:00Z');
const answer = (status: number, body: object | string, headers: Record<string, string> = {}): VimeoAnswer => ({
  status,
  headers,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const vimeo = (error_code: number, developer_message = 'details') => ({ error: 'Something went wrong', link: null, developer_message, error_code });

describe('errorForAnswer', () => {
  it.each([
    ['401 invalid token (8003)', answer(401, vimeo(8003)), 'UF_RECONNECT_REQUIRED', 'auth'],
    ['429 rate limit', answer(429, { error: 'Too many API requests' }, { 'x-ratelimit-reset': '2026-12-03T12:00:30+00:00' }), 'UF_RATE_LIMITED', 'rate_limited'],
    ['403 upload quota (4003)', answer(403, vimeo(4003)), 'UF_FILE_TOO_LARGE', 'permanent'],
    ['403 storage (3428)', answer(403, vimeo(3428)), 'UF_FILE_TOO_LARGE', 'permanent'],
    ['400 invalid parameters (2204)', answer(400, vimeo(2204)), 'UF_DESTINATION_REJECTED', 'permanent'],
    ['400 invalid body (2205)', answer(400, vimeo(2205)), 'UF_DESTINATION_REJECTED', 'permanent'],
    ['403 without a known code', answer(403, { error: 'no' }), 'UF_PERMISSION_DENIED', 'permanent'],
    ['404', answer(404, { error: 'not found' }), 'UF_DESTINATION_NOT_FOUND', 'permanent'],
    ['500', answer(500, 'oops'), 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    ['503 with an HTML body', answer(503, '<html>down</html>'), 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    ['408', answer(408, ''), 'UF_TIMEOUT', 'transient'],
  ])('%s is %s', (_name, given, code, category) => {
    expect(errorForAnswer(given, 'create', now)).toMatchObject({ code, category, destination: 'vimeo' });
  });

  it('names the invalid fields and quotes developer_message', () => {
    const error = errorForAnswer(answer(400, { ...vimeo(2204, 'The folder does not exist.'), invalid_parameters: [{ field: 'folder_uri' }] }), 'create', now);
    expect(error.message).toContain('(folder_uri)');
    expect(error.message).toContain('"The folder does not exist" (error_code 2204)');
  });

  it('waits a minute after a 429 without reset headers (Vimeo blocks for up to a minute)', () => {
    expect(errorForAnswer(answer(429, {}), 'create', now).retryAfterMs).toBe(60_000);
  });
});

describe('rateLimitWaitMs', () => {
  it.each([
    ['an ISO date', { 'x-ratelimit-reset': '2026-12-03T12:00:30+00:00' }, 30_000],
    ['Unix seconds', { 'x-ratelimit-reset': String(now / 1000 + 45) }, 45_000],
    ['a reset in the past', { 'x-ratelimit-reset': '2026-12-03T11:59:00+00:00' }, 0],
    ['only Retry-After', { 'retry-after': '12' }, 12_000],
  ])('reads %s', (_name, headers, ms) => {
    expect(rateLimitWaitMs(headers, now)).toBe(ms);
  });

  it('is undefined without either header', () => {
    expect(rateLimitWaitMs({}, now)).toBeUndefined();
  });
});
