import { describe, expect, it } from 'vitest';
import { errorForAnswer, errorForFailure, LOCKED_RETRY_FLOOR_MS, type WebdavStep } from './errors.js';

const upload: WebdavStep = { kind: 'upload', path: 'renders/a.mp4' };
const host = 'dav.example.com';

describe('webdav answers in the taxonomy', () => {
  it.each([
    [401, upload, 'UF_CREDENTIALS_INVALID', 'permanent'],
    [403, upload, 'UF_PERMISSION_DENIED', 'permanent'],
    [404, { kind: 'open', path: '/dav/' } as WebdavStep, 'UF_DESTINATION_NOT_FOUND', 'permanent'],
    [405, { kind: 'move', path: 'renders/a.mp4', overwrite: true } as WebdavStep, 'UF_DESTINATION_REJECTED', 'permanent'],
    [409, upload, 'UF_DESTINATION_NOT_FOUND', 'permanent'],
    [412, { kind: 'move', path: 'renders/a.mp4', overwrite: false } as WebdavStep, 'UF_DESTINATION_REJECTED', 'permanent'],
    [413, upload, 'UF_FILE_TOO_LARGE', 'permanent'],
    [423, upload, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    [429, upload, 'UF_RATE_LIMITED', 'rate_limited'],
    [500, upload, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    [502, upload, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    [503, upload, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    [507, upload, 'UF_FILE_TOO_LARGE', 'permanent'],
    [301, upload, 'UF_DESTINATION_REJECTED', 'permanent'],
    [400, upload, 'UF_DESTINATION_REJECTED', 'permanent'],
  ] as const)('%i while %o is %s (%s)', (status, step, code, category) => {
    const error = errorForAnswer(status, {}, step, host, true);
    expect({ code: error.code, category: error.category, status: error.status }).toEqual({ code, category, status });
    expect(error.message).toContain(host);
  });

  it('says the file exists when MOVE with Overwrite: F answers 412', () => {
    expect(errorForAnswer(412, {}, { kind: 'move', path: 'renders/a.mp4', overwrite: false }, host, true).message).toContain('renders/a.mp4 exists already and overwrite is false');
  });

  it('tells a 401 without credentials from a refused password', () => {
    expect(errorForAnswer(401, {}, upload, host, false).message).toContain('give user and password');
    expect(errorForAnswer(401, {}, upload, host, true).message).toContain('not accepted');
  });

  it('honours Retry-After on 429 and 503, and waits at least the lock floor on 423', () => {
    expect(errorForAnswer(429, { 'retry-after': '7' }, upload, host, true).retryAfterMs).toBe(7000);
    expect(errorForAnswer(503, { 'retry-after': '12' }, upload, host, true).retryAfterMs).toBe(12_000);
    expect(errorForAnswer(423, {}, upload, host, true).retryAfterMs).toBe(LOCKED_RETRY_FLOOR_MS);
    expect(errorForAnswer(423, { 'retry-after': '120' }, upload, host, true).retryAfterMs).toBe(120_000);
  });

  it('reads failures without an answer through the shared classifier', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(errorForFailure(reset, upload, host, new AbortController().signal).code).toBe('UF_NETWORK');
    const aborted = new AbortController();
    aborted.abort();
    expect(errorForFailure(reset, upload, host, aborted.signal).code).toBe('UF_ABORTED');
  });
});
