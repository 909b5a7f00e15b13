import { describe, expect, it } from 'vitest';
import type { ErrorCategory, ErrorCode } from '@upload-fleet/core';
import { classifyGraphAnswer, DEFAULT_THROTTLE_DELAY_MS, graphErrorRules, offsetsIn, throttleDelayMs, type GraphAnswer, type GraphError } from './errors.js';

const TOKEN = 'EAAGm0PX4ZCpsBAKZBz0tOkEnSecret';
const graph = (error: GraphError, status = 400, headers: GraphAnswer['headers'] = {}): GraphAnswer => ({ status, headers, json: { error: { fbtrace_id: 'AbCdEf123', ...error } } });

describe('classifyGraphAnswer: Graph errors in the taxonomy', () => {
  const cases: { name: string; answer: GraphAnswer; code: ErrorCode; category: ErrorCategory }[] = [
    { name: '190 invalid token', answer: graph({ code: 190, type: 'OAuthException', message: 'Invalid OAuth access token' }), code: 'UF_RECONNECT_REQUIRED', category: 'auth' },
    { name: '190/463 expired token', answer: graph({ code: 190, error_subcode: 463, type: 'OAuthException', message: 'Session has expired' }), code: 'UF_RECONNECT_REQUIRED', category: 'auth' },
    { name: '102 session key', answer: graph({ code: 102, message: 'Session key invalid' }), code: 'UF_RECONNECT_REQUIRED', category: 'auth' },
    { name: '2500 no active token', answer: graph({ code: 2500, message: 'An active access token must be used' }), code: 'UF_RECONNECT_REQUIRED', category: 'auth' },
    { name: 'subcode 460 password changed', answer: graph({ code: 200, error_subcode: 460, message: 'password changed' }), code: 'UF_RECONNECT_REQUIRED', category: 'auth' },
    { name: '4 app throttled (is_transient)', answer: graph({ code: 4, is_transient: true, message: '(#4) Application request limit reached' }), code: 'UF_RATE_LIMITED', category: 'rate_limited' },
    { name: '17 user throttled', answer: graph({ code: 17, message: '(#17) User request limit reached' }), code: 'UF_RATE_LIMITED', category: 'rate_limited' },
    { name: '32 page throttled', answer: graph({ code: 32, message: '(#32) Page request limit reached' }), code: 'UF_RATE_LIMITED', category: 'rate_limited' },
    { name: '613 custom rate limit', answer: graph({ code: 613, message: 'Calls to this api have exceeded the rate limit.' }), code: 'UF_RATE_LIMITED', category: 'rate_limited' },
    { name: '80001 Pages BUC limit', answer: graph({ code: 80001, message: 'There have been too many calls to this Page account.' }), code: 'UF_RATE_LIMITED', category: 'rate_limited' },
    { name: 'is_transient on an unknown code', answer: graph({ code: 9999, is_transient: true, message: 'try later' }), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
    { name: '1 unknown error', answer: graph({ code: 1, message: 'An unknown error occurred' }, 500), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
    { name: '2 service unavailable', answer: graph({ code: 2, message: 'Service temporarily unavailable' }, 500), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
    { name: '6001 upload problem', answer: graph({ code: 6001, message: 'There was a problem uploading your video. Please try again.' }), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
    { name: '6000 without subcode (Facebook: retry)', answer: graph({ code: 6000, message: 'There was a problem uploading your video file.' }), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
    { name: '1363033 partial chunk', answer: graph({ code: 6001, error_subcode: 1363033, message: 'problem' }), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
    { name: '1363037 without error_data', answer: graph({ code: 6001, error_subcode: 1363037, message: 'problem' }), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
    { name: '1363022 too small', answer: graph({ code: 6000, error_subcode: 1363022, message: 'problem' }), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
    { name: '1363031 not a video', answer: graph({ code: 6000, error_subcode: 1363031, message: 'No Video Detected' }), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
    { name: '1363023 too large', answer: graph({ code: 6000, error_subcode: 1363023, message: 'too large' }), code: 'UF_FILE_TOO_LARGE', category: 'permanent' },
    { name: '352 format not supported', answer: graph({ code: 352, message: 'format not supported' }), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
    { name: '6100 not processable', answer: graph({ code: 6100, message: 'could not be processed' }), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
    { name: '1363042 no upload permission', answer: graph({ code: 6000, error_subcode: 1363042, message: 'No Permission to Upload Video' }), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
    { name: '10 permission', answer: graph({ code: 10, message: '(#10) Application does not have permission for this action' }), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
    { name: '200 permissions error', answer: graph({ code: 200, message: '(#200) Permissions error' }, 403), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
    { name: '299 end of the permission range', answer: graph({ code: 299, message: 'permission' }), code: 'UF_PERMISSION_DENIED', category: 'permanent' },
    { name: '100 invalid parameter', answer: graph({ code: 100, type: 'OAuthException', message: '(#100) Invalid parameter' }), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
    { name: '100/33 object does not exist', answer: graph({ code: 100, error_subcode: 33, message: 'Unsupported post request' }), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent' },
    { name: '368 blocked for policy', answer: graph({ code: 368, message: 'temporarily blocked' }), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
    { name: 'unknown Graph code with 400', answer: graph({ code: 12345, message: 'something new' }), code: 'UF_UNKNOWN', category: 'transient' },
    { name: 'unknown Graph code with 503', answer: graph({ code: 12345, message: 'something new' }, 503), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
    { name: 'not Graph: 502 page of a proxy', answer: { status: 502, headers: {}, json: undefined }, code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
    { name: 'not Graph: 429', answer: { status: 429, headers: { 'retry-after': '30' }, json: undefined }, code: 'UF_RATE_LIMITED', category: 'rate_limited' },
    { name: 'not Graph: 404', answer: { status: 404, headers: {}, json: { message: 'nope' } }, code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent' },
    { name: 'not Graph: 301 redirect', answer: { status: 301, headers: { location: 'https://elsewhere' }, json: undefined }, code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  ];

  it.each(cases)('$name -> $code ($category)', ({ answer, code, category }) => {
    const outcome = classifyGraphAnswer(answer, 'transfer', TOKEN);
    expect(outcome.kind).toBe('error');
    if (outcome.kind !== 'error') return;
    expect({ code: outcome.error.code, category: outcome.error.category, destination: outcome.error.destination }).toEqual({ code, category, destination: 'facebook' });
  });

  it('every rule of the table is exercised by a case above', () => {
    const covered = new Set(cases.map((c) => c.code));
    for (const rule of graphErrorRules) expect(covered, rule.name).toContain(rule.code);
  });
});

describe('classifyGraphAnswer: protocol answers', () => {
  it('1363037 names the range Graph expects (error_data as an object or as JSON text, offsets as numbers or strings)', () => {
    for (const errorData of [{ start_offset: 40, end_offset: 50 }, '{"start_offset":"40","end_offset":"50"}']) {
      const outcome = classifyGraphAnswer(graph({ code: 6001, error_subcode: 1363037, error_data: errorData }), 'transfer', TOKEN);
      expect(outcome).toEqual({ kind: 'offsets', startOffset: 40, endOffset: 50 });
    }
  });

  it('1363030 (Video Upload Time Out) means the session is gone', () => {
    const outcome = classifyGraphAnswer(graph({ code: 390, error_subcode: 1363030, is_transient: true, message: 'Video Upload Time Out' }), 'transfer', TOKEN);
    expect(outcome.kind).toBe('session-expired');
    if (outcome.kind === 'session-expired') expect(outcome.error.category).toBe('transient');
  });
});

describe('messages', () => {
  it('name the phase, the Graph code, type, message and fbtrace_id, and say what to do', () => {
    const outcome = classifyGraphAnswer(graph({ code: 190, error_subcode: 463, type: 'OAuthException', message: 'Session has expired' }), 'start', TOKEN);
    if (outcome.kind !== 'error') throw new Error('expected an error');
    expect(outcome.error.message).toContain('starting the upload session');
    expect(outcome.error.message).toContain('Graph error 190/463 (OAuthException): "Session has expired"');
    expect(outcome.error.message).toContain('fbtrace_id AbCdEf123');
    expect(outcome.error.message).toMatch(/reconnect/i);
  });

  it('never contain the token, however Graph echoes it', () => {
    const echoes = [TOKEN, encodeURIComponent(`${TOKEN}/+=`), `access_token=${TOKEN}&x=1`];
    for (const echo of echoes) {
      const token = echo.includes('%') ? `${TOKEN}/+=` : TOKEN;
      const outcome = classifyGraphAnswer(graph({ code: 100, message: `(#100) Invalid parameter ${echo}`, error_user_msg: `value ${echo}` }), 'finish', token);
      if (outcome.kind !== 'error') throw new Error('expected an error');
      expect(outcome.error.message).not.toContain(TOKEN);
      expect(outcome.error.message).toContain('Invalid parameter');
    }
  });

  it('keep long Graph messages short', () => {
    const outcome = classifyGraphAnswer(graph({ code: 100, message: 'x'.repeat(5000) }), 'finish', TOKEN);
    if (outcome.kind !== 'error') throw new Error('expected an error');
    expect(outcome.error.message.length).toBeLessThan(700);
  });
});

describe('throttling delays', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('use estimated_time_to_regain_access (minutes) of X-Business-Use-Case-Usage, the longest of its entries', () => {
    const headers = {
      'x-business-use-case-usage': JSON.stringify({
        '104727284962521': [
          { type: 'pages', call_count: 100, total_cputime: 3, total_time: 9, estimated_time_to_regain_access: 12 },
          { type: 'pages', call_count: 40, estimated_time_to_regain_access: 0 },
        ],
        '222': [{ type: 'ads_management', estimated_time_to_regain_access: 3 }],
      }),
    };
    expect(throttleDelayMs(headers, now)).toBe(12 * 60_000);
    const outcome = classifyGraphAnswer(graph({ code: 32, message: 'Page request limit reached' }, 400, headers), 'transfer', TOKEN, now);
    if (outcome.kind !== 'error') throw new Error('expected an error');
    expect(outcome.error.retryAfterMs).toBe(12 * 60_000);
    expect(outcome.error.message).toContain('12 min');
  });

  it('take Retry-After when Graph sends one', () => {
    expect(throttleDelayMs({ 'retry-after': '90' }, now)).toBe(90_000);
  });

  it('fall back to the documented default when the headers name no time (X-App-Usage has only percentages)', () => {
    const headers = { 'x-app-usage': JSON.stringify({ call_count: 100, total_cputime: 20, total_time: 30 }) };
    expect(throttleDelayMs(headers, now)).toBeUndefined();
    const outcome = classifyGraphAnswer(graph({ code: 4, message: 'Application request limit reached' }, 400, headers), 'start', TOKEN, now);
    if (outcome.kind !== 'error') throw new Error('expected an error');
    expect(outcome.error.retryAfterMs).toBe(DEFAULT_THROTTLE_DELAY_MS);
  });

  it('ignore headers that are not JSON and zero estimates', () => {
    expect(throttleDelayMs({ 'x-business-use-case-usage': 'garbage', 'x-app-usage': '{"estimated_time_to_regain_access":0}' }, now)).toBeUndefined();
  });
});

describe('offsetsIn', () => {
  it.each([
    [{ start_offset: 0, end_offset: 392695 }, { startOffset: 0, endOffset: 392695 }],
    ['{"start_offset":"5","end_offset":"5"}', { startOffset: 5, endOffset: 5 }],
    [{ start_offset: 10, end_offset: 5 }, undefined],
    [{ start_offset: -1, end_offset: 5 }, undefined],
    [{ start_offset: '1e3', end_offset: '2000' }, undefined],
    ['not json', undefined],
    [undefined, undefined],
  ])('%j -> %j', (input, expected) => {
    expect(offsetsIn(input)).toEqual(expected);
  });
});
