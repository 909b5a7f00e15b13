import { describe, expect, it } from 'vitest';
import { DropboxResponseError } from 'dropbox';
import { FleetError } from '@upload-fleet/core';
import { classifyDropboxFailure, reconnectError, type DropboxEndpoint, type DropboxFailure } from './errors.js';

/** Dropbox's answers in their real shapes (HTTP docs, "Errors"; data ingress guide for 429). */
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new DropboxResponseError(status, new Headers({ 'content-type': 'application/json', ...headers }), body);
const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new DropboxResponseError(status, new Headers({ 'content-type': 'text/plain; charset=utf-8', ...headers }), body);
const endpointError = (summary: string, error: unknown, extra: Record<string, unknown> = {}) => json(409, { error_summary: summary, error, ...extra });
const transport = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error('socket trouble'), { code }) });

type Expected =
  | { kind: 'incorrect_offset'; correctOffset: number }
  | { kind: 'session_gone' }
  | { kind: 'token_rejected'; reason: string }
  | { code: string; category: string; retryAfterMs?: number; message?: RegExp; notInMessage?: string };

interface Case {
  name: string;
  endpoint?: DropboxEndpoint;
  error: unknown;
  aborted?: boolean;
  expected: Expected;
}

const cases: Case[] = [
  // 401: the token itself (refreshable once for auth_secret), or something a new token won't fix.
  { name: '401 expired_access_token', error: json(401, { error_summary: 'expired_access_token/..', error: { '.tag': 'expired_access_token' } }), expected: { kind: 'token_rejected', reason: 'expired_access_token' } },
  { name: '401 invalid_access_token', error: json(401, { error_summary: 'invalid_access_token/...', error: { '.tag': 'invalid_access_token' } }), expected: { kind: 'token_rejected', reason: 'invalid_access_token' } },
  { name: '401 as plain text', error: text(401, 'Unauthorized'), expected: { kind: 'token_rejected', reason: 'unauthorized' } },
  {
    name: '401 missing_scope',
    error: json(401, { error_summary: 'missing_scope/.', error: { '.tag': 'missing_scope', required_scope: 'files.content.write' } }),
    expected: { code: 'UF_PERMISSION_DENIED', category: 'permanent', message: /files\.content\.write/ },
  },
  { name: '401 user_suspended', error: json(401, { error_summary: 'user_suspended/..', error: { '.tag': 'user_suspended' } }), expected: { code: 'UF_PERMISSION_DENIED', category: 'permanent' } },

  // 409 from files/upload: `path` is UploadWriteFailed, the WriteError sits in `reason`.
  {
    name: 'files/upload path/insufficient_space',
    error: endpointError('path/insufficient_space/...', { '.tag': 'path', reason: { '.tag': 'insufficient_space' }, upload_session_id: 'AAAA1' }),
    expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: /free space/ },
  },
  {
    name: 'files/upload path/malformed_path',
    error: endpointError('path/malformed_path/.', { '.tag': 'path', reason: { '.tag': 'malformed_path', malformed_path: 'bad' }, upload_session_id: 'AAAA1' }),
    expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: /path \/renders\/x\.mp4/ },
  },
  {
    name: 'files/upload path/disallowed_name',
    error: endpointError('path/disallowed_name/..', { '.tag': 'path', reason: { '.tag': 'disallowed_name' }, upload_session_id: 'AAAA1' }),
    expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: /file name/ },
  },
  {
    name: 'files/upload path/conflict/folder',
    error: endpointError('path/conflict/folder/..', { '.tag': 'path', reason: { '.tag': 'conflict', conflict: { '.tag': 'folder' } }, upload_session_id: 'AAAA1' }),
    expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: /a folder is at/ },
  },
  {
    name: 'files/upload path/no_write_permission',
    error: endpointError('path/no_write_permission/..', { '.tag': 'path', reason: { '.tag': 'no_write_permission' }, upload_session_id: 'AAAA1' }),
    expected: { code: 'UF_PERMISSION_DENIED', category: 'permanent' },
  },
  {
    name: 'files/upload path/too_many_write_operations (lock contention)',
    error: endpointError('path/too_many_write_operations/...', { '.tag': 'path', reason: { '.tag': 'too_many_write_operations' }, upload_session_id: 'AAAA1' }),
    expected: { code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: 1000 },
  },
  {
    name: 'files/upload content_hash_mismatch',
    error: endpointError('content_hash_mismatch/..', { '.tag': 'content_hash_mismatch' }),
    expected: { code: 'UF_NETWORK', category: 'transient' },
  },
  {
    name: 'a user_message is passed on',
    error: endpointError('path/team_folder/.', { '.tag': 'path', reason: { '.tag': 'team_folder' }, upload_session_id: 'A' }, { user_message: { locale: 'en', text: 'Team folders cannot be changed here.' } }),
    expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: /Team folders cannot be changed here/ },
  },
  {
    name: 'an unknown endpoint error is permanent and names its tags',
    error: endpointError('path/something_new/..', { '.tag': 'path', reason: { '.tag': 'something_new' }, upload_session_id: 'A' }),
    expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: /path\/something_new/ },
  },

  // 409 from the session endpoints.
  {
    name: 'finish path/insufficient_space (WriteError under `path`)',
    endpoint: 'files/upload_session/finish',
    error: endpointError('path/insufficient_space/..', { '.tag': 'path', path: { '.tag': 'insufficient_space' } }),
    expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: /free space/ },
  },
  {
    name: 'finish path/malformed_path',
    endpoint: 'files/upload_session/finish',
    error: endpointError('path/malformed_path/...', { '.tag': 'path', path: { '.tag': 'malformed_path' } }),
    expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  },
  {
    name: 'finish too_many_write_operations',
    endpoint: 'files/upload_session/finish',
    error: endpointError('too_many_write_operations/..', { '.tag': 'too_many_write_operations' }),
    expected: { code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: 1000 },
  },
  {
    name: 'append_v2 incorrect_offset',
    endpoint: 'files/upload_session/append_v2',
    error: endpointError('incorrect_offset/..', { '.tag': 'incorrect_offset', correct_offset: 8388608 }),
    expected: { kind: 'incorrect_offset', correctOffset: 8388608 },
  },
  {
    name: 'finish lookup_failed/incorrect_offset',
    endpoint: 'files/upload_session/finish',
    error: endpointError('lookup_failed/incorrect_offset/...', { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'incorrect_offset', correct_offset: 16777216 } }),
    expected: { kind: 'incorrect_offset', correctOffset: 16777216 },
  },
  {
    name: 'incorrect_offset without a correct_offset',
    endpoint: 'files/upload_session/append_v2',
    error: endpointError('incorrect_offset/..', { '.tag': 'incorrect_offset' }),
    expected: { code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' },
  },
  { name: 'append_v2 not_found (expired session)', endpoint: 'files/upload_session/append_v2', error: endpointError('not_found/..', { '.tag': 'not_found' }), expected: { kind: 'session_gone' } },
  { name: 'append_v2 closed', endpoint: 'files/upload_session/append_v2', error: endpointError('closed/.', { '.tag': 'closed' }), expected: { kind: 'session_gone' } },
  {
    name: 'finish lookup_failed/not_found (already finished)',
    endpoint: 'files/upload_session/finish',
    error: endpointError('lookup_failed/not_found/..', { '.tag': 'lookup_failed', lookup_failed: { '.tag': 'not_found' } }),
    expected: { kind: 'session_gone' },
  },
  {
    name: 'append_v2 too_large (350 GB)',
    endpoint: 'files/upload_session/append_v2',
    error: endpointError('too_large/..', { '.tag': 'too_large' }),
    expected: { code: 'UF_FILE_TOO_LARGE', category: 'permanent' },
  },

  // 429: JSON RateLimitError or plain text, Retry-After first.
  {
    name: '429 too_many_write_operations with Retry-After',
    error: json(429, { error_summary: 'too_many_write_operations/...', error: { reason: { '.tag': 'too_many_write_operations' }, retry_after: 1 } }, { 'retry-after': '7' }),
    expected: { code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: 7000, message: /too_many_write_operations/ },
  },
  {
    name: '429 too_many_requests, retry_after in the body only',
    error: json(429, { error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' }, retry_after: 300 } }),
    expected: { code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: 300_000, message: /too_many_requests/ },
  },
  { name: '429 as plain text', error: text(429, 'Too many requests', { 'retry-after': '30' }), expected: { code: 'UF_RATE_LIMITED', category: 'rate_limited', retryAfterMs: 30_000, message: /too_many_requests/ } },

  // Other statuses.
  { name: '500', error: text(500, 'Internal Server Error'), expected: { code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient' } },
  { name: '503 with Retry-After', error: text(503, 'Service Unavailable', { 'retry-after': '5' }), expected: { code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient', retryAfterMs: 5000 } },
  {
    name: '400 (plain text) never repeats a token',
    error: text(400, 'Error in call to API function "files/upload": Invalid authorization value in HTTP header "Authorization": "Bearer sl.secret-token-value"'),
    expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: /malformed \(400\)/, notInMessage: 'sl.secret-token-value' },
  },
  { name: '403', error: json(403, { error_summary: 'invalid_account_type/..', error: { '.tag': 'invalid_account_type' } }), expected: { code: 'UF_PERMISSION_DENIED', category: 'permanent' } },

  // No answer at all.
  { name: 'connection reset', error: transport('ECONNRESET'), expected: { code: 'UF_NETWORK', category: 'transient' } },
  { name: 'socket closed by the other side (undici)', error: transport('UND_ERR_SOCKET'), expected: { code: 'UF_NETWORK', category: 'transient' } },
  { name: 'no answer headers in time', error: transport('UND_ERR_HEADERS_TIMEOUT'), expected: { code: 'UF_TIMEOUT', category: 'transient' } },
  { name: 'connect timeout', error: transport('UND_ERR_CONNECT_TIMEOUT'), expected: { code: 'UF_TIMEOUT', category: 'transient' } },
  { name: 'bad TLS certificate', error: transport('CERT_HAS_EXPIRED'), expected: { code: 'UF_DESTINATION_REJECTED', category: 'permanent' } },
  { name: 'something else', error: new Error('boom'), expected: { code: 'UF_UNKNOWN', category: 'transient' } },
  {
    name: 'a FleetError underneath (network guard) passes through',
    error: new TypeError('fetch failed', { cause: new FleetError('UF_BLOCKED_ADDRESS', 'refused 169.254.169.254') }),
    expected: { code: 'UF_BLOCKED_ADDRESS', category: 'permanent' },
  },
  { name: 'aborted, whatever the error', aborted: true, error: transport('ECONNRESET'), expected: { code: 'UF_ABORTED', category: 'transient' } },
  { name: 'aborted beats an answer', aborted: true, error: text(500, 'x'), expected: { code: 'UF_ABORTED', category: 'transient' } },
];

describe('classifyDropboxFailure', () => {
  it.each(cases)('$name', ({ error, endpoint, aborted, expected }) => {
    const failure: DropboxFailure = classifyDropboxFailure(error, { endpoint: endpoint ?? 'files/upload', path: '/renders/x.mp4', size: 1234, aborted: aborted ?? false });
    if ('kind' in expected) {
      expect(failure.kind).toBe(expected.kind);
      if (expected.kind === 'incorrect_offset') expect(failure).toEqual(expected);
      if (expected.kind === 'token_rejected') expect(failure).toEqual(expected);
      return;
    }
    expect(failure.kind).toBe('error');
    const fleetError = (failure as { error: FleetError }).error;
    expect({ code: fleetError.code, category: fleetError.category }).toEqual({ code: expected.code, category: expected.category });
    if (expected.retryAfterMs !== undefined) expect(fleetError.retryAfterMs).toBe(expected.retryAfterMs);
    if (expected.message) expect(fleetError.message).toMatch(expected.message);
    if (expected.notInMessage) expect(fleetError.message).not.toContain(expected.notInMessage);
    if (fleetError.code !== 'UF_BLOCKED_ADDRESS') expect(fleetError.destination).toBe('dropbox');
  });

  it('reads the error object, not the summary, whose padding varies', () => {
    for (const dots of ['.', '..', '....']) {
      const failure = classifyDropboxFailure(endpointError(`path/insufficient_space/${dots}`, { '.tag': 'path', path: { '.tag': 'insufficient_space' } }), {
        endpoint: 'files/upload_session/finish',
        path: '/a.mp4',
        size: 1,
        aborted: false,
      });
      expect(failure.kind === 'error' && failure.error.code).toBe('UF_DESTINATION_REJECTED');
    }
  });
});

describe('reconnectError', () => {
  it('is UF_RECONNECT_REQUIRED (category auth) and says which credential', () => {
    const inline = reconnectError('expired_access_token', 'oauth_token');
    expect({ code: inline.code, category: inline.category }).toEqual({ code: 'UF_RECONNECT_REQUIRED', category: 'auth' });
    expect(inline.message).toMatch(/oauth_token/);
    expect(reconnectError('invalid_access_token', 'auth_secret').message).toMatch(/auth_secret.*after a refresh/);
  });
});
