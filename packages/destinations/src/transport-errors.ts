import {
  CONNECTION_ERROR_CODES,
  FleetError,
  TIMEOUT_ERROR_CODES,
  TLS_CERTIFICATE_ERROR_CODE,
  TLS_HANDSHAKE_ERROR_CODE,
  TLS_HANDSHAKE_ERROR_MESSAGE,
  fleetErrorIn,
} from '@upload-fleet/core';

export { fleetErrorIn };

/**
 * The one reading of a failure without an answer: an abort, a connection reset or refused,
 * a name that does not resolve, a timeout, a TLS failure. Every adapter classifies through
 * it and adds only its platform's codes and answers (the way uppy companion wraps every
 * provider call in one `withProviderErrorHandling` with per-provider predicates):
 *
 *   classifyFailure(error, { destination: 'http', where: `the HTTP destination ${host}`, signal,
 *     networkCodes: ['ERR_HTTP_CONTENT_LENGTH_MISMATCH'] })
 *
 * The order is fixed: the upload's own abort first (whatever broke after it is its doing),
 * then a FleetError raised underneath (the network guard, the source), then the platform's
 * own reading (`platform`: an answer with a status, an SDK error name), then the transport
 * codes, then UF_UNKNOWN (transient up to the attempt limit).
 *
 * TLS: a certificate that does not verify, or a handshake that fails, is
 * UF_DESTINATION_REJECTED (permanent) for every destination. The certificate belongs to the
 * host the upload talks to, and the fix is there (a certificate the worker's trust store
 * accepts) or in the setting that chose that host, which `tlsHint` names where an operator
 * setting chose it (YOUTUBE_API_BASE_URL, AZURE_BLOB_ENDPOINT, ...). UF_CONFIGURATION stays
 * for the fleet's own settings that fail every job alike (see docs/architecture.md).
 *
 * Messages name `where` and the error code only, never the client's own message: got's and
 * the SDKs' messages carry the full URL, query string and session URIs included.
 */
export interface FailureTaxonomy {
  /** Destination type, for the FleetError. */
  destination: string;
  /** The far end in messages, without credentials or query: "the HTTP destination example.com". */
  where: string;
  /** What the upload was doing, in messages: "while <activity>" ("trying to store /a.mp4"). */
  activity?: string;
  /** The upload's signal (or its `aborted` read when the call failed): once it fired, the failure is an abort. */
  signal?: Pick<AbortSignal, 'aborted'>;
  /** Appended to the abort message: "; it resumes from its last chunk". */
  abortNote?: string;
  /** The client library's codes for a failed connection, beside Node's (undici's UND_ERR_SOCKET, ...). */
  networkCodes?: readonly string[];
  /** The client library's codes for a timeout, beside Node's. */
  timeoutCodes?: readonly string[];
  /** What to check after a TLS failure, appended to its message: "check AZURE_BLOB_ENDPOINT". */
  tlsHint?: string;
  /** What UF_UNKNOWN names for an error without a code (default: its name), already free of secrets. */
  unknownDetail?: (error: unknown) => string;
  /** The platform's own reading, before the transport codes; undefined when it has none. */
  platform?: (error: unknown) => FleetError | undefined;
}

/** Turns anything an upload step threw into a FleetError; see FailureTaxonomy for the order. */
export function classifyFailure(error: unknown, taxonomy: FailureTaxonomy): FleetError {
  return (
    abortedError(error, taxonomy) ??
    fleetErrorIn(error) ??
    taxonomy.platform?.(error) ??
    transportFailure(error, taxonomy) ??
    unknownFailure(error, taxonomy)
  );
}

/** UF_ABORTED once the upload's signal fired, else undefined. */
export function abortedError(error: unknown, taxonomy: FailureTaxonomy): FleetError | undefined {
  if (!taxonomy.signal?.aborted) return undefined;
  return new FleetError('UF_ABORTED', `The upload to ${taxonomy.where} was aborted${during(taxonomy)}${taxonomy.abortNote ?? ''}`, {
    destination: taxonomy.destination,
    cause: error,
  });
}

/** UF_TIMEOUT, UF_NETWORK or the TLS verdict for a failure without an answer; undefined for anything else. */
export function transportFailure(error: unknown, taxonomy: FailureTaxonomy): FleetError | undefined {
  const codes = errorCodesIn(error);
  const options = { destination: taxonomy.destination, cause: error };
  const { where } = taxonomy;

  const timeoutCodes = new Set([...TIMEOUT_ERROR_CODES, ...(taxonomy.timeoutCodes ?? [])]);
  const timeout = codes.find((code) => timeoutCodes.has(code));
  if (timeout !== undefined || nameOf(error) === 'TimeoutError') {
    // got names the phase that ran out (lookup, connect, response, ...): the most useful detail.
    const phase = typeof error === 'object' && error !== null ? (error as { event?: unknown }).event : undefined;
    const detail = typeof phase === 'string' ? `${phase} timeout` : timeout;
    return new FleetError('UF_TIMEOUT', `${capitalize(where)} did not answer in time${during(taxonomy)}${detail ? ` (${detail})` : ''}`, options);
  }

  const networkCodes = new Set([...CONNECTION_ERROR_CODES, ...(taxonomy.networkCodes ?? [])]);
  const network = codes.find((code) => networkCodes.has(code));
  if (network !== undefined) {
    return new FleetError('UF_NETWORK', `The connection to ${where} failed${during(taxonomy)} (${network})`, options);
  }

  const hint = taxonomy.tlsHint ? `; ${taxonomy.tlsHint}` : '';
  const certificate = codes.find((code) => TLS_CERTIFICATE_ERROR_CODE.test(code));
  if (certificate !== undefined) {
    return new FleetError('UF_DESTINATION_REJECTED', `The TLS certificate of ${where} is not valid (${certificate})${during(taxonomy)}${hint}`, options);
  }
  const handshake = codes.find((code) => TLS_HANDSHAKE_ERROR_CODE.test(code));
  if (handshake !== undefined || TLS_HANDSHAKE_ERROR_MESSAGE.test(messageOf(error))) {
    return new FleetError('UF_DESTINATION_REJECTED', `The TLS handshake with ${where} failed (${handshake ?? 'TLS error'})${during(taxonomy)}${hint}`, options);
  }
  return undefined;
}

/** The last word: UF_UNKNOWN naming the first error code (or the error's name). */
export function unknownFailure(error: unknown, taxonomy: FailureTaxonomy): FleetError {
  const name = nameOf(error);
  const what = errorCodesIn(error)[0] ?? taxonomy.unknownDetail?.(error) ?? (name && name !== 'Error' ? name : 'no error code');
  return new FleetError('UF_UNKNOWN', `The upload to ${taxonomy.where} failed${during(taxonomy)} (${what})`, { destination: taxonomy.destination, cause: error });
}

/**
 * Every string `code` in the error, outermost first: clients wrap Node's error in their own
 * (got's RequestError, fetch's TypeError("fetch failed") with the reason in `cause`, the
 * SDKs' errors), and happy eyeballs rejects with an AggregateError of one error per address.
 */
export function errorCodesIn(error: unknown): string[] {
  const codes: string[] = [];
  const pending: unknown[] = [error];
  for (let seen = 0; pending.length > 0 && seen < 12; seen += 1) {
    const e = pending.shift();
    if (!e || typeof e !== 'object') continue;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code && !codes.includes(code)) codes.push(code);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) pending.push(...errors.slice(0, 4));
    pending.push((e as { cause?: unknown }).cause);
  }
  return codes;
}

function during(taxonomy: FailureTaxonomy): string {
  return taxonomy.activity ? ` while ${taxonomy.activity}` : '';
}

function nameOf(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : '';
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
