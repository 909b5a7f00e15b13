import { describe, expect, it } from 'vitest';
import { errorForAnswer } from './errors.js';

const body = (code: number, reason: string, message: string) => JSON.stringify({ error: { code, message, errors: [{ message, domain: 'global', reason }] } });
const answer = (status: number, text: string, headers: Record<string, string> = {}) => ({ status, headers, body: text });

describe('errorForAnswer (https://cloud.google.com/storage/docs/json_api/v1/status-codes)', () => {
  it.each([
    [400, 'invalid', 'Invalid argument.', 'start', 'UF_DESTINATION_REJECTED', 'permanent'],
    [400, 'invalid', 'Provided CRC32C "AAAAAA==" doesn\'t match calculated CRC32C "yZRlqg==".', 'chunk', 'UF_SOURCE_CHANGED', 'transient'],
    [400, 'invalid', 'Provided MD5 hash "x" doesn\'t match calculated MD5 hash "y".', 'chunk', 'UF_SOURCE_CHANGED', 'transient'],
    [401, 'authError', 'Invalid Credentials', 'start', 'UF_CREDENTIALS_INVALID', 'permanent'],
    [403, 'forbidden', 'a@b does not have storage.objects.create access', 'start', 'UF_PERMISSION_DENIED', 'permanent'],
    [403, 'rateLimitExceeded', 'Rate Limit Exceeded', 'start', 'UF_RATE_LIMITED', 'rate_limited'],
    [403, 'userRateLimitExceeded', 'User Rate Limit Exceeded', 'chunk', 'UF_RATE_LIMITED', 'rate_limited'],
    [404, 'notFound', 'The specified bucket does not exist.', 'start', 'UF_DESTINATION_NOT_FOUND', 'permanent'],
    [408, 'requestTimeout', 'Request Timeout', 'chunk', 'UF_TIMEOUT', 'transient'],
    [412, 'conditionNotMet', 'Precondition Failed', 'start', 'UF_DESTINATION_REJECTED', 'permanent'],
    [413, 'uploadTooLarge', 'Upload too large', 'start', 'UF_FILE_TOO_LARGE', 'permanent'],
    [429, 'rateLimitExceeded', 'The object exceeded the rate limit for object mutation operations', 'start', 'UF_RATE_LIMITED', 'rate_limited'],
    [500, 'backendError', 'Backend Error', 'chunk', 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    [503, 'backendError', 'Service Unavailable', 'start', 'UF_DESTINATION_UNAVAILABLE', 'transient'],
  ] as const)('%i %s -> %s', (status, reason, message, step, code, category) => {
    const error = errorForAnswer(answer(status, body(status, reason, message)), step, 'my-videos');
    expect({ code: error.code, category: error.category, status: error.status }).toEqual({ code, category, status });
    expect(error.message).toContain(`(${reason})`);
  });

  it('keeps Retry-After of a 429 and a 503', () => {
    expect(errorForAnswer(answer(429, body(429, 'rateLimitExceeded', 'x'), { 'retry-after': '12' }), 'start', 'b').retryAfterMs).toBe(12_000);
    expect(errorForAnswer(answer(503, '', { 'retry-after': '3' }), 'chunk', 'b').retryAfterMs).toBe(3000);
  });

  it('reads an answer without a JSON body by its status alone', () => {
    expect(errorForAnswer(answer(502, '<html>Bad Gateway</html>'), 'chunk', 'b')).toMatchObject({ code: 'UF_DESTINATION_UNAVAILABLE' });
    expect(errorForAnswer(answer(404, 'Not Found'), 'start', 'b').message).toMatch(/bucket "b" does not exist/);
  });
});
