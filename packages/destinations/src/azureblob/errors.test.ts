import { RestError } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { FleetError, type ErrorCategory, type ErrorCode } from '@upload-fleet/core';
import { errorForAzure, type AzureTarget } from './errors.js';

/**
 * The SDK's error shapes, as @azure/storage-blob 12 throws them (checked against azurite):
 * an answer is a RestError with `statusCode`, `code` = the storage error code, `details`
 * holding `errorCode` and the response headers, and `response.headers` with
 * `x-ms-error-code` (and Retry-After when the service sends one). A failed connection is a
 * RestError whose `code` is Node's (ECONNRESET, ...) and no status. An aborted request is
 * an AbortError.
 */
function answer(statusCode: number, errorCode?: string, headers: Record<string, string> = {}): RestError {
  const all: Record<string, string> = { ...(errorCode ? { 'x-ms-error-code': errorCode } : {}), ...headers };
  const response = {
    status: statusCode,
    headers: { get: (name: string) => all[name.toLowerCase()], has: (name: string) => name.toLowerCase() in all, toJSON: () => all },
    request: {},
    bodyAsText: '<Error><Code>…</Code><AuthenticationErrorDetail>string to sign: SIGNED-SECRET</AuthenticationErrorDetail></Error>',
  };
  const error = new RestError('Server failed to authenticate the request. string to sign: SIGNED-SECRET', {
    ...(errorCode ? { code: errorCode } : {}),
    statusCode,
    response: response as unknown as NonNullable<ConstructorParameters<typeof RestError>[1]>['response'],
  });
  error.details = { errorCode, ...all, message: 'SIGNED-SECRET' };
  return error;
}

function connectionError(code: string): RestError {
  return new RestError(`connect ${code} 127.0.0.1:1`, { code });
}

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
}

const target: AzureTarget = { account: 'myaccount', container: 'videos', blob: 'renders/a.mp4', host: 'myaccount.blob.core.windows.net' };
const idle = () => new AbortController().signal;
const aborted = () => {
  const controller = new AbortController();
  controller.abort('shutdown');
  return controller.signal;
};

interface Row {
  name: string;
  error: unknown;
  code: ErrorCode;
  category: ErrorCategory;
  status?: number;
  retryAfterMs?: number;
  signal?: AbortSignal;
  timedOut?: boolean;
  says?: string;
}

const rows: Row[] = [
  // Credentials and permissions.
  { name: '403 AuthenticationFailed (a wrong key on Azure)', error: answer(403, 'AuthenticationFailed'), code: 'UF_CREDENTIALS_INVALID', category: 'permanent', status: 403, says: 'check account and key' },
  { name: '403 AuthorizationFailure (a wrong key on azurite)', error: answer(403, 'AuthorizationFailure'), code: 'UF_CREDENTIALS_INVALID', category: 'permanent', status: 403 },
  { name: '403 without an error code', error: answer(403), code: 'UF_CREDENTIALS_INVALID', category: 'permanent', status: 403 },
  { name: '400 InvalidAuthenticationInfo', error: answer(400, 'InvalidAuthenticationInfo'), code: 'UF_CREDENTIALS_INVALID', category: 'permanent' },
  { name: '403 AuthorizationSourceIPMismatch', error: answer(403, 'AuthorizationSourceIPMismatch'), code: 'UF_PERMISSION_DENIED', category: 'permanent', says: 'firewall' },
  { name: '403 KeyBasedAuthenticationNotPermitted', error: answer(403, 'KeyBasedAuthenticationNotPermitted'), code: 'UF_PERMISSION_DENIED', category: 'permanent', says: 'shared key' },
  { name: '403 AuthorizationProtocolMismatch', error: answer(403, 'AuthorizationProtocolMismatch'), code: 'UF_PERMISSION_DENIED', category: 'permanent', says: 'HTTPS' },
  // Where the blob goes.
  { name: '404 ContainerNotFound', error: answer(404, 'ContainerNotFound'), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent', status: 404, says: 'container "videos"' },
  { name: '404 BlobNotFound', error: answer(404, 'BlobNotFound'), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent' },
  { name: '409 ContainerBeingDeleted', error: answer(409, 'ContainerBeingDeleted'), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent' },
  { name: '412 LeaseIdMissing', error: answer(412, 'LeaseIdMissing'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: 'lease' },
  { name: '400 InvalidHeaderValue (other 4xx)', error: answer(400, 'InvalidHeaderValue'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', status: 400, says: 'InvalidHeaderValue' },
  { name: '400 InvalidBlobOrBlock', error: answer(400, 'InvalidBlobOrBlock'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: 'uncommitted blocks' },
  { name: '413 RequestBodyTooLarge', error: answer(413, 'RequestBodyTooLarge'), code: 'UF_FILE_TOO_LARGE', category: 'permanent' },
  { name: '409 BlockCountExceedsLimit', error: answer(409, 'BlockCountExceedsLimit'), code: 'UF_FILE_TOO_LARGE', category: 'permanent' },
  // Worth another attempt.
  { name: '400 Md5Mismatch (a block altered in transit)', error: answer(400, 'Md5Mismatch'), code: 'UF_NETWORK', category: 'transient' },
  { name: '400 InvalidBlockList (blocks gone at commit)', error: answer(400, 'InvalidBlockList'), code: 'UF_UNKNOWN', category: 'transient' },
  { name: '429 with Retry-After', error: answer(429, undefined, { 'retry-after': '7' }), code: 'UF_RATE_LIMITED', category: 'rate_limited', status: 429, retryAfterMs: 7000 },
  { name: '503 ServerBusy with Retry-After', error: answer(503, 'ServerBusy', { 'retry-after': '30' }), code: 'UF_RATE_LIMITED', category: 'rate_limited', status: 503, retryAfterMs: 30_000 },
  { name: '503 IngressOverAccountLimit', error: answer(503, 'IngressOverAccountLimit'), code: 'UF_RATE_LIMITED', category: 'rate_limited' },
  { name: '500 InternalError', error: answer(500, 'InternalError'), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient', status: 500 },
  { name: '503 without a code, Retry-After kept', error: answer(503, undefined, { 'retry-after': '5' }), code: 'UF_DESTINATION_UNAVAILABLE', category: 'transient', retryAfterMs: 5000 },
  { name: '500 OperationTimedOut', error: answer(500, 'OperationTimedOut'), code: 'UF_TIMEOUT', category: 'transient', status: 500 },
  { name: '408', error: answer(408), code: 'UF_TIMEOUT', category: 'transient' },
  { name: '307 redirect (not followed)', error: answer(307), code: 'UF_CONFIGURATION', category: 'permanent', says: 'AZURE_BLOB_ENDPOINT' },
  // Connections.
  { name: 'ECONNRESET', error: connectionError('ECONNRESET'), code: 'UF_NETWORK', category: 'transient', says: 'myaccount.blob.core.windows.net' },
  { name: 'ECONNREFUSED (closed port)', error: connectionError('ECONNREFUSED'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'REQUEST_SEND_ERROR', error: connectionError('REQUEST_SEND_ERROR'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'ETIMEDOUT', error: connectionError('ETIMEDOUT'), code: 'UF_TIMEOUT', category: 'transient' },
  { name: 'ENOTFOUND (no such account)', error: connectionError('ENOTFOUND'), code: 'UF_DESTINATION_NOT_FOUND', category: 'permanent', says: 'check the account name' },
  { name: 'an expired certificate', error: connectionError('CERT_HAS_EXPIRED'), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  { name: 'the network guard refusing at connect time', error: new RestError('Refused to connect to host "x": private address.', { code: 'UF_BLOCKED_ADDRESS' }), code: 'UF_BLOCKED_ADDRESS', category: 'permanent' },
  // Aborts and deadlines.
  { name: 'our own deadline', error: abortError(), timedOut: true, code: 'UF_TIMEOUT', category: 'transient', says: 'did not answer in time' },
  { name: 'shutdown or lost lock (AbortError)', error: abortError(), signal: aborted(), code: 'UF_ABORTED', category: 'transient' },
  { name: 'shutdown wins over whatever the SDK said', error: answer(500, 'InternalError'), signal: aborted(), code: 'UF_ABORTED', category: 'transient' },
  // Already classified, and the rest.
  { name: 'a FleetError from the source', error: new FleetError('UF_SOURCE_CHANGED', 'changed'), code: 'UF_SOURCE_CHANGED', category: 'transient' },
  { name: 'a FleetError as a cause', error: new Error('wrapped', { cause: new FleetError('UF_SOURCE_NOT_FOUND', 'gone') }), code: 'UF_SOURCE_NOT_FOUND', category: 'permanent' },
  {
    name: 'the guard failing to resolve the account host',
    error: new FleetError('UF_NETWORK', 'Could not resolve host', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) }),
    code: 'UF_DESTINATION_NOT_FOUND',
    category: 'permanent',
  },
  { name: 'an error code that is a property of every object', error: connectionError('toString'), code: 'UF_UNKNOWN', category: 'transient' },
  { name: 'anything else', error: new TypeError('boom'), code: 'UF_UNKNOWN', category: 'transient' },
];

describe('errorForAzure', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const error = errorForAzure(row.error, target, { signal: row.signal ?? idle(), ...(row.timedOut ? { timedOut: true } : {}) });
    expect(error).toBeInstanceOf(FleetError);
    expect({ code: error.code, category: error.category }).toEqual({ code: row.code, category: row.category });
    if (row.status !== undefined) expect(error.status).toBe(row.status);
    if (row.retryAfterMs !== undefined) expect(error.retryAfterMs).toBe(row.retryAfterMs);
    if (row.says !== undefined) expect(error.message).toContain(row.says);
    // The service's own text can echo the string-to-sign: never passed on.
    expect(error.message).not.toContain('SIGNED-SECRET');
  });

  it('names the root container when the blob was meant for $root', () => {
    const error = errorForAzure(answer(404, 'ContainerNotFound'), { ...target, container: '$root' }, { signal: idle() });
    expect(error.message).toContain('root container "$root"');
  });

  it('takes the error code from the x-ms-error-code header when the body had none (HEAD requests)', () => {
    const error = new RestError('', { statusCode: 403, response: answer(403, 'AuthorizationSourceIPMismatch').response! });
    expect(errorForAzure(error, target, { signal: idle() }).code).toBe('UF_PERMISSION_DENIED');
  });
});
