import { describe, expect, it } from 'vitest';
import {
  ERROR_CATALOG,
  FleetError,
  errorForHttpStatus,
  isFleetError,
  parseRetryAfter,
  toFleetError,
  type ErrorCategory,
  type ErrorCode,
} from './errors.js';

const CATEGORIES: ErrorCategory[] = ['permanent', 'transient', 'rate_limited', 'auth'];
const CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

describe('ERROR_CATALOG', () => {
  it.each(CODES)('%s has a stable code, a category and a hint that ends its messages', (code) => {
    const entry = ERROR_CATALOG[code];
    expect(code).toMatch(/^UF_[A-Z][A-Z_]*[A-Z]$/);
    expect(CATEGORIES).toContain(entry.category);
    expect(entry.hint.length).toBeGreaterThan(15);
    expect(entry.hint).toMatch(/^[A-Z].*\.$/);

    const error = new FleetError(code, 'Bucket "my-videos" answered 403');
    expect(error.code).toBe(code);
    expect(error.category).toBe(entry.category);
    expect(error.message.startsWith('Bucket "my-videos" answered 403.')).toBe(true);
    expect(error.message.endsWith(entry.hint)).toBe(true);
  });

  it('keeps the codes and categories the rest of the fleet relies on', () => {
    expect(ERROR_CATALOG).toMatchObject({
      UF_INVALID_REQUEST: { category: 'permanent' },
      UF_SOURCE_NOT_FOUND: { category: 'permanent' },
      UF_SOURCE_FORBIDDEN: { category: 'permanent' },
      UF_BLOCKED_ADDRESS: { category: 'permanent' },
      UF_DESTINATION_REJECTED: { category: 'permanent' },
      UF_DESTINATION_NOT_FOUND: { category: 'permanent' },
      UF_PERMISSION_DENIED: { category: 'permanent' },
      UF_CREDENTIALS_INVALID: { category: 'permanent' },
      UF_RECONNECT_REQUIRED: { category: 'auth' },
      UF_FILE_TOO_LARGE: { category: 'permanent' },
      UF_DESTINATION_UNAVAILABLE: { category: 'transient' },
      UF_NETWORK: { category: 'transient' },
      UF_TIMEOUT: { category: 'transient' },
      UF_RATE_LIMITED: { category: 'rate_limited' },
      UF_ABORTED: { category: 'transient' },
      UF_UNKNOWN: { category: 'transient' },
    });
  });

  it.each(CATEGORIES)('has at least one %s code', (category) => {
    expect(CODES.some((code) => ERROR_CATALOG[code].category === category)).toBe(true);
  });

  it('gives every code its own hint', () => {
    const hints = CODES.map((code) => ERROR_CATALOG[code].hint);
    expect(new Set(hints).size).toBe(hints.length);
  });
});

describe('FleetError', () => {
  it('is an Error named FleetError carrying code, category, destination, status and retry delay', () => {
    const cause = new Error('socket hang up');
    const error = new FleetError('UF_NETWORK', 'Connection to ftp.example.com reset', { destination: 'ftp', status: 502, retryAfterMs: 1500, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('FleetError');
    expect(error).toMatchObject({ code: 'UF_NETWORK', category: 'transient', destination: 'ftp', status: 502, retryAfterMs: 1500 });
    expect(error.cause).toBe(cause);
  });

  it('leaves cause unset when none is given', () => {
    expect('cause' in new FleetError('UF_UNKNOWN', 'x')).toBe(false);
  });

  it.each([
    ['no final period', 'Upload failed', 'Upload failed. '],
    ['a final period', 'Upload failed.', 'Upload failed. '],
    ['surrounding blanks', '  Upload failed  ', 'Upload failed. '],
  ])('ends a message with %s as one sentence before the hint', (_label, message, start) => {
    const error = new FleetError('UF_TIMEOUT', message);
    expect(error.message).toBe(`${start}${ERROR_CATALOG.UF_TIMEOUT.hint}`);
  });

  it('does not repeat a hint the message already ends with', () => {
    const message = `Timed out. ${ERROR_CATALOG.UF_TIMEOUT.hint}`;
    expect(new FleetError('UF_TIMEOUT', message).message).toBe(message);
  });

  it.each(CODES)('%s is retryable exactly when it is transient or rate-limited', (code) => {
    const category = ERROR_CATALOG[code].category as ErrorCategory;
    expect(new FleetError(code, 'x').retryable).toBe(category === 'transient' || category === 'rate_limited');
  });

  it('serializes to the public shape, leaving out what is absent', () => {
    expect(new FleetError('UF_RATE_LIMITED', 'YouTube answered quotaExceeded', { destination: 'youtube', status: 403, retryAfterMs: 0 }).toJSON()).toEqual({
      code: 'UF_RATE_LIMITED',
      category: 'rate_limited',
      message: `YouTube answered quotaExceeded. ${ERROR_CATALOG.UF_RATE_LIMITED.hint}`,
      destination: 'youtube',
      status: 403,
      retry_after_ms: 0,
    });
    expect(new FleetError('UF_INVALID_REQUEST', 'bucket is required').toJSON()).toEqual({
      code: 'UF_INVALID_REQUEST',
      category: 'permanent',
      message: `bucket is required. ${ERROR_CATALOG.UF_INVALID_REQUEST.hint}`,
    });
  });

  it('does not put the cause into JSON (it may hold secrets)', () => {
    const error = new FleetError('UF_NETWORK', 'Connection reset', { cause: new Error('https://user:hunter22@example.com failed') });
    expect(JSON.stringify(error)).not.toContain('hunter22');
  });
});

describe('isFleetError and toFleetError', () => {
  it('recognizes FleetErrors only', () => {
    expect(isFleetError(new FleetError('UF_UNKNOWN', 'x'))).toBe(true);
    expect(isFleetError(new Error('x'))).toBe(false);
    expect(isFleetError({ code: 'UF_UNKNOWN', message: 'x' })).toBe(false);
  });

  it('passes a FleetError through unchanged', () => {
    const error = new FleetError('UF_FILE_TOO_LARGE', 'x');
    expect(toFleetError(error, 's3')).toBe(error);
  });

  it.each([
    ['an Error', new TypeError('boom'), 'boom'],
    ['a string', 'plain failure', 'plain failure'],
    ['a number', 42, '42'],
  ])('classifies %s as UF_UNKNOWN (transient), keeping it as the cause', (_label, thrown, text) => {
    const error = toFleetError(thrown, 'dropbox');
    expect(error).toMatchObject({ code: 'UF_UNKNOWN', category: 'transient', destination: 'dropbox', retryable: true });
    expect(error.message).toContain(`Unexpected error: ${text}`);
    expect(error.message.endsWith(ERROR_CATALOG.UF_UNKNOWN.hint)).toBe(true);
    expect(error.cause).toBe(thrown);
  });
});

describe('errorForHttpStatus', () => {
  const TABLE: [number, ErrorCode, ErrorCategory][] = [
    [400, 'UF_DESTINATION_REJECTED', 'permanent'],
    [401, 'UF_CREDENTIALS_INVALID', 'permanent'],
    [403, 'UF_PERMISSION_DENIED', 'permanent'],
    [404, 'UF_DESTINATION_NOT_FOUND', 'permanent'],
    [405, 'UF_DESTINATION_REJECTED', 'permanent'],
    [408, 'UF_TIMEOUT', 'transient'],
    [409, 'UF_DESTINATION_REJECTED', 'permanent'],
    [410, 'UF_DESTINATION_REJECTED', 'permanent'],
    [413, 'UF_FILE_TOO_LARGE', 'permanent'],
    [415, 'UF_DESTINATION_REJECTED', 'permanent'],
    [422, 'UF_DESTINATION_REJECTED', 'permanent'],
    [429, 'UF_RATE_LIMITED', 'rate_limited'],
    [500, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    [502, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    [503, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    [504, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
    [599, 'UF_DESTINATION_UNAVAILABLE', 'transient'],
  ];

  it.each(TABLE)('%i -> %s (%s)', (status, code, category) => {
    const error = errorForHttpStatus(status, 'The HTTP server your-server.com');
    expect(error).toMatchObject({ code, category, status });
    expect(error.message).toContain(`The HTTP server your-server.com answered ${status}`);
    expect(error.message.endsWith(ERROR_CATALOG[code].hint)).toBe(true);
  });

  it('keeps the destination and the retry delay it is given', () => {
    const error = errorForHttpStatus(429, 'Dropbox', { destination: 'dropbox', retryAfterMs: 30_000 });
    expect(error).toMatchObject({ destination: 'dropbox', retryAfterMs: 30_000, status: 429, retryable: true });
  });

  it('uses the status it is called with, not one from the options', () => {
    expect(errorForHttpStatus(404, 'S3', { status: 500 }).status).toBe(404);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2015-10-21T07:28:00Z');

  it.each([
    ['120', 120_000],
    ['0', 0],
    ['1', 1_000],
    [' 30 ', 30_000],
    ['86400', 86_400_000],
  ])('reads delay-seconds %j as %i ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it.each([
    ['an IMF-fixdate', 'Wed, 21 Oct 2015 07:29:00 GMT', 60_000],
    ['an RFC 850 date', 'Wednesday, 21-Oct-15 07:30:00 GMT', 120_000],
    ['the same instant', 'Wed, 21 Oct 2015 07:28:00 GMT', 0],
    ['a date in the past (no negative wait)', 'Wed, 21 Oct 2015 07:00:00 GMT', 0],
  ])('reads %s as the time until then', (_label, value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  it('measures dates from Date.now() by default', () => {
    const inOneHour = new Date(Date.now() + 3_600_000).toUTCString();
    const ms = parseRetryAfter(inOneHour);
    expect(ms).toBeGreaterThan(3_590_000);
    expect(ms).toBeLessThanOrEqual(3_600_000);
  });

  it.each([[undefined], [null], [''], ['   '], ['soon'], ['-5'], ['1e3'], ['0x10'], ['Infinity'], ['NaN'], ['12abc']])(
    'returns undefined for %j',
    (value) => {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    },
  );
});
