import { describe, expect, it } from 'vitest';
import { errorForAnswer, type DriveStep } from './errors.js';

/** Drive's error answers as handle-errors documents them, and what each must become. */
const body = (code: number, reason: string, message: string, domain = 'global') => JSON.stringify({ error: { code, message, errors: [{ domain, reason, message }] } });
const target = { folder_id: '1Folder', shared_drive: false };

describe.each<[string, number, string, DriveStep, string, string]>([
  ['storageQuotaExceeded', 403, body(403, 'storageQuotaExceeded', 'The user\'s Drive storage quota has been exceeded.', 'usageLimits'), 'start', 'UF_DESTINATION_REJECTED', 'permanent'],
  ['teamDriveFileLimitExceeded', 403, body(403, 'teamDriveFileLimitExceeded', 'The file limit for this shared drive has been exceeded.'), 'start', 'UF_DESTINATION_REJECTED', 'permanent'],
  ['userRateLimitExceeded', 403, body(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded', 'usageLimits'), 'chunk', 'UF_RATE_LIMITED', 'rate_limited'],
  ['rateLimitExceeded (403)', 403, body(403, 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits'), 'start', 'UF_RATE_LIMITED', 'rate_limited'],
  ['rateLimitExceeded (429)', 429, body(429, 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits'), 'status', 'UF_RATE_LIMITED', 'rate_limited'],
  ['429 without a body', 429, '', 'start', 'UF_RATE_LIMITED', 'rate_limited'],
  ['dailyLimitExceeded', 403, body(403, 'dailyLimitExceeded', 'Daily Limit Exceeded', 'usageLimits'), 'start', 'UF_RATE_LIMITED', 'rate_limited'],
  ['notFound (the folder)', 404, body(404, 'notFound', 'File not found: 1Folder.'), 'start', 'UF_DESTINATION_NOT_FOUND', 'permanent'],
  ['authError', 401, body(401, 'authError', 'Invalid Credentials'), 'start', 'UF_RECONNECT_REQUIRED', 'auth'],
  ['insufficientFilePermissions', 403, body(403, 'insufficientFilePermissions', 'The user does not have sufficient permissions for this file.'), 'start', 'UF_PERMISSION_DENIED', 'permanent'],
  ['appNotAuthorizedToFile', 403, body(403, 'appNotAuthorizedToFile', 'The user has not granted the app access to the file.'), 'start', 'UF_PERMISSION_DENIED', 'permanent'],
  ['insufficientPermissions (scope)', 403, body(403, 'insufficientPermissions', 'Insufficient Permission'), 'start', 'UF_PERMISSION_DENIED', 'permanent'],
  ['badRequest', 400, body(400, 'badRequest', 'Bad Request'), 'start', 'UF_DESTINATION_REJECTED', 'permanent'],
  ['408', 408, '', 'chunk', 'UF_TIMEOUT', 'transient'],
  ['500 internalError', 500, body(500, 'internalError', 'Internal Error'), 'chunk', 'UF_DESTINATION_UNAVAILABLE', 'transient'],
  ['503 backendError', 503, body(503, 'backendError', 'Backend Error'), 'start', 'UF_DESTINATION_UNAVAILABLE', 'transient'],
])('%s', (_name, status, text, step, code, category) => {
  it(`is ${code} (${category})`, () => {
    const error = errorForAnswer({ status, headers: {}, body: text }, step, target);
    expect({ code: error.code, category: error.category, status: error.status, destination: error.destination }).toEqual({ code, category, status, destination: 'googledrive' });
  });
});

describe('what the messages say', () => {
  it('storageQuotaExceeded says what to do and quotes Drive', () => {
    const error = errorForAnswer({ status: 403, headers: {}, body: body(403, 'storageQuotaExceeded', 'The user\'s Drive storage quota has been exceeded.') }, 'start', target);
    expect(error.message).toMatch(/storage is full: "The user's Drive storage quota has been exceeded" \(storageQuotaExceeded\)\. Free up space/);
  });

  it('notFound names folder_id, and suggests shared_drive only when it is off', () => {
    const notFound = { status: 404, headers: {}, body: body(404, 'notFound', 'File not found: 1Folder.') };
    expect(errorForAnswer(notFound, 'start', target).message).toMatch(/folder_id "1Folder" does not exist.*shared_drive: true/);
    expect(errorForAnswer(notFound, 'start', { ...target, shared_drive: true }).message).not.toContain('shared_drive: true');
  });

  it('Retry-After is kept on rate limits; dailyLimitExceeded pauses every Drive upload', () => {
    expect(errorForAnswer({ status: 429, headers: { 'retry-after': '7' }, body: '' }, 'start', target).retryAfterMs).toBe(7000);
    expect(errorForAnswer({ status: 403, headers: {}, body: body(403, 'dailyLimitExceeded', 'Daily Limit Exceeded') }, 'start', target).pauseScope).toBe('destination');
    expect(errorForAnswer({ status: 403, headers: {}, body: body(403, 'userRateLimitExceeded', 'User Rate Limit Exceeded') }, 'start', target).pauseScope).toBe('account');
  });
});
