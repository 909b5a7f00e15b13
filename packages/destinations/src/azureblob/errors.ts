import { ERROR_CATALOG, FleetError, parseRetryAfter, type ErrorCode } from '@upload-fleet/core';
import { classifyFailure } from '../transport-errors.js';

/**
 * Azure Blob Storage failures in the shared taxonomy. Every SDK call of the adapter goes
 * through `errorForAzure` once; nothing else classifies.
 *
 * The SDK throws `RestError`: `statusCode` and the storage error code (the body's <Code>,
 * also in `details.errorCode` and the `x-ms-error-code` header) for answers, a Node error
 * `code` (ECONNRESET, ...) for failed connections, and `AbortError` when a request's
 * signal fired. Error codes: https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes
 *
 * Messages name the account, the container and the status: never the key, nor the
 * service's own message text (for AuthenticationFailed it echoes the string-to-sign).
 */

export interface AzureTarget {
  account: string;
  container: string;
  blob: string;
  /** Host of the blob service, for network errors. */
  host: string;
}

export interface FailureCircumstances {
  /** The upload's own signal: shutdown, lost lock, job timeout. */
  signal: AbortSignal;
  /** True when the adapter's own per-request deadline aborted the request. */
  timedOut?: boolean;
}

interface AzureAnswer {
  status: number;
  code: string | undefined;
  retryAfter: string | undefined;
}

const destination = 'azureblob';

/** Credentials are wrong: fix the key or the account name. */
const CREDENTIAL_CODES = new Set(['AuthenticationFailed', 'InvalidAuthenticationInfo', 'AuthorizationFailure']);

/** The key is fine, but the account refuses this kind of access; each says what to change. */
const PERMISSION_CODES: Record<string, string> = {
  AuthorizationSourceIPMismatch: "the storage account's firewall does not allow the worker's address",
  AuthorizationProtocolMismatch: 'the storage account accepts HTTPS only; AZURE_BLOB_ENDPOINT must be https',
  AuthorizationPermissionMismatch: 'the credential may not write blobs',
  AuthorizationResourceTypeMismatch: 'the credential may not write blobs',
  AuthorizationServiceMismatch: 'the credential is not valid for the blob service',
  KeyBasedAuthenticationNotPermitted: 'the storage account has shared key access disabled; enable it to upload with an account key',
  AccountIsDisabled: 'the storage account is disabled',
  InsufficientAccountPermissions: 'the credential may not write blobs',
};

/** Azure asks the caller to slow down (with 503 or 429). */
const THROTTLING_CODES = new Set(['ServerBusy', 'IngressOverAccountLimit', 'EgressOverAccountLimit', 'TpsOverAccountLimit', 'OperationsExceeded']);

const FILE_TOO_LARGE_CODES = new Set(['RequestBodyTooLarge', 'BlockCountExceedsLimit', 'BlockListTooLong', 'BlobTooLarge']);

/** The SDK's code for a request that could not be sent, and undici's connect timeout. */
const NETWORK_CODES = ['REQUEST_SEND_ERROR'];
const TIMEOUT_CODES = ['UND_ERR_CONNECT_TIMEOUT'];

export function errorForAzure(error: unknown, target: AzureTarget, circumstances: FailureCircumstances): FleetError {
  const where = `Azure Blob Storage account "${target.account}"`;
  const classified = classifyFailure(error, {
    destination,
    where: `${where} (${target.host})`,
    signal: circumstances.signal,
    networkCodes: NETWORK_CODES,
    timeoutCodes: TIMEOUT_CODES,
    tlsHint: 'check AZURE_BLOB_ENDPOINT and any proxy in between',
    platform: (raw) => azureFailure(raw, target, circumstances),
  });
  return refineFleetError(classified, target);
}

/** What the service answered, the adapter's own deadline, and a storage account that does not resolve. */
function azureFailure(error: unknown, target: AzureTarget, circumstances: FailureCircumstances): FleetError | undefined {
  const answer = answerOf(error);
  if (answer) return errorForAnswer(answer, target, error);

  const name = (error as { name?: unknown } | undefined)?.name;
  const code = String((error as { code?: unknown } | undefined)?.code ?? '');
  const options = { destination, cause: error };
  if (name === 'AbortError' && circumstances.timedOut) {
    return new FleetError('UF_TIMEOUT', `Azure Blob Storage account "${target.account}" (${target.host}) did not answer in time`, options);
  }
  // The network guard refusing an address at connect time arrives as the SDK's RestError
  // carrying the guard's code and message (the FleetError itself is not kept as the cause).
  if (Object.hasOwn(ERROR_CATALOG, code)) {
    return new FleetError(code as ErrorCode, (error as Error).message, options);
  }
  if (code === 'ENOTFOUND') return accountNotFound(target, error);
  return undefined;
}

function errorForAnswer(answer: AzureAnswer, target: AzureTarget, cause: unknown): FleetError {
  const { status, code } = answer;
  const what = code ? `${status} ${code}` : String(status);
  const where = `Azure Blob Storage account "${target.account}"`;
  const retryAfterMs = parseRetryAfter(answer.retryAfter);
  const options = { destination, status, cause, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };

  if (code === 'ContainerNotFound') {
    const container = target.container === '$root' ? 'the root container "$root" (used when no container is given)' : `container "${target.container}"`;
    return new FleetError('UF_DESTINATION_NOT_FOUND', `${where} has no ${container} (${what}): create it, or name an existing container`, options);
  }
  if (code === 'ContainerBeingDeleted') {
    return new FleetError('UF_DESTINATION_NOT_FOUND', `Container "${target.container}" of ${where} is being deleted (${what})`, options);
  }
  if (code !== undefined && Object.hasOwn(PERMISSION_CODES, code)) {
    return new FleetError('UF_PERMISSION_DENIED', `${where} refused the upload (${what}): ${PERMISSION_CODES[code]}`, options);
  }
  if (status === 401 || status === 403 || (code !== undefined && CREDENTIAL_CODES.has(code))) {
    return new FleetError('UF_CREDENTIALS_INVALID', `${where} refused the credentials (${what}): check account and key`, options);
  }
  if (status === 429 || (code !== undefined && THROTTLING_CODES.has(code))) {
    return new FleetError('UF_RATE_LIMITED', `${where} is throttling requests (${what})`, options);
  }
  if (code === 'OperationTimedOut' || status === 408) {
    return new FleetError('UF_TIMEOUT', `${where} timed out on the request (${what})`, options);
  }
  if (status >= 500) return new FleetError('UF_DESTINATION_UNAVAILABLE', `${where} answered ${what}`, options);
  if (code === 'Md5Mismatch' || code === 'Crc64Mismatch') {
    return new FleetError('UF_NETWORK', `A block reached ${where} altered: its bytes do not match the Content-MD5 sent (${what}: checksum mismatch)`, options);
  }
  if (code === 'InvalidBlockList') {
    // Our resume only commits blocks the service listed a moment before; they vanish when
    // someone else commits or deletes the blob in between. The next attempt asks again.
    return new FleetError('UF_UNKNOWN', `${where} no longer holds the staged blocks of blob "${target.blob}" (${what}); was it written by someone else meanwhile?`, options);
  }
  if (code !== undefined && FILE_TOO_LARGE_CODES.has(code)) {
    return new FleetError('UF_FILE_TOO_LARGE', `${where} refused the size of blob "${target.blob}" (${what})`, options);
  }
  if (code === 'InvalidBlobOrBlock') {
    return new FleetError(
      'UF_DESTINATION_REJECTED',
      `${where} refused a block of blob "${target.blob}" (${what}); another program may have left uncommitted blocks with ids of another length there (they expire after 7 days, or delete the blob)`,
      options,
    );
  }
  if (code === 'LeaseIdMissing' || code === 'LeaseIdMismatchWithBlobOperation' || code === 'LeaseLost') {
    return new FleetError('UF_DESTINATION_REJECTED', `Blob "${target.blob}" has an active lease (${what}); break the lease or choose another name`, options);
  }
  if (status === 404) return new FleetError('UF_DESTINATION_NOT_FOUND', `${where} answered ${what}: check the account and container`, options);
  if (status >= 300 && status < 400) {
    return new FleetError('UF_CONFIGURATION', `The blob service ${target.host} answered with a redirect (${what}); AZURE_BLOB_ENDPOINT must name the service itself`, options);
  }
  return new FleetError('UF_DESTINATION_REJECTED', `${where} refused the upload of blob "${target.blob}" (${what})`, options);
}

/** The guard's "name does not resolve" means, for Azure, a storage account that does not exist. */
function refineFleetError(error: FleetError, target: AzureTarget): FleetError {
  const causeCode = (error.cause as { code?: unknown } | undefined)?.code;
  if (error.code === 'UF_NETWORK' && causeCode === 'ENOTFOUND') return accountNotFound(target, error);
  return error;
}

function accountNotFound(target: AzureTarget, cause: unknown): FleetError {
  return new FleetError(
    'UF_DESTINATION_NOT_FOUND',
    `The host ${target.host} of Azure storage account "${target.account}" does not resolve: check the account name`,
    { destination, cause },
  );
}

/** Status, storage error code and Retry-After of an error that carries an answer of the service. */
function answerOf(error: unknown): AzureAnswer | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { statusCode?: unknown; code?: unknown; details?: { errorCode?: unknown }; response?: { headers?: { get?(name: string): string | undefined } } };
  if (typeof e.statusCode !== 'number') return undefined;
  const header = (name: string) => e.response?.headers?.get?.(name) ?? undefined;
  const code = [e.details?.errorCode, header('x-ms-error-code'), e.code].find((c): c is string => typeof c === 'string' && c.length > 0);
  return { status: e.statusCode, code, retryAfter: header('retry-after') };
}
