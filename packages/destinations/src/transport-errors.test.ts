import { describe, expect, it } from 'vitest';
import { FleetError, type ErrorCategory, type ErrorCode } from '@upload-fleet/core';
import { classifyFailure, errorCodesIn, transportFailure, type FailureTaxonomy } from './transport-errors.js';

/**
 * The shared classifier against errors shaped as Node, got, fetch (undici) and the SDKs
 * throw them. Every message quotes a URL with a credential, as got's do: the classifier
 * must never repeat it.
 */

const SECRET_URL = 'https://example.com/upload?sig=s3cr3t';
const taxonomy: FailureTaxonomy = { destination: 'test', where: 'the test destination example.com' };

const nodeError = (code: string) => Object.assign(new Error(`connect ${code} ${SECRET_URL}`), { code });
/** got copies the code of the error it wraps and keeps that error as the cause. */
const gotError = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${code} ${SECRET_URL}`), { name: 'RequestError', code, cause: nodeError(code), ...extra });
/** fetch rejects with TypeError("fetch failed"), the reason in `cause`. */
const fetchError = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error(`socket ${SECRET_URL}`), { code }) });

interface Row {
  name: string;
  error: unknown;
  code: ErrorCode;
  category: ErrorCategory;
  with?: Partial<FailureTaxonomy>;
  /** Words the message must hold. */
  says?: string[];
}

const rows: Row[] = [
  { name: 'ECONNRESET', error: nodeError('ECONNRESET'), code: 'UF_NETWORK', category: 'transient', says: ['example.com', 'ECONNRESET'] },
  { name: 'ECONNREFUSED', error: nodeError('ECONNREFUSED'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'EPIPE', error: nodeError('EPIPE'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'a stream cut short', error: nodeError('ERR_STREAM_PREMATURE_CLOSE'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'DNS: ENOTFOUND', error: nodeError('ENOTFOUND'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'DNS: EAI_AGAIN', error: nodeError('EAI_AGAIN'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'got wrapping a reset', error: gotError('ECONNRESET'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'fetch failed, reset in the cause', error: fetchError('ECONNRESET'), code: 'UF_NETWORK', category: 'transient' },
  { name: 'every address refused (happy eyeballs)', error: new AggregateError([nodeError('ECONNREFUSED'), nodeError('ECONNREFUSED')]), code: 'UF_NETWORK', category: 'transient' },
  { name: "a library's code, added by the adapter", error: fetchError('UND_ERR_SOCKET'), with: { networkCodes: ['UND_ERR_SOCKET'] }, code: 'UF_NETWORK', category: 'transient' },
  { name: "a library's code the adapter did not add", error: fetchError('UND_ERR_SOCKET'), code: 'UF_UNKNOWN', category: 'transient', says: ['UND_ERR_SOCKET'] },
  { name: 'ETIMEDOUT', error: nodeError('ETIMEDOUT'), code: 'UF_TIMEOUT', category: 'transient', says: ['did not answer in time', 'ETIMEDOUT'] },
  { name: 'ESOCKETTIMEDOUT', error: nodeError('ESOCKETTIMEDOUT'), code: 'UF_TIMEOUT', category: 'transient' },
  { name: "got's timeout names its phase", error: gotError('ETIMEDOUT', { name: 'TimeoutError', event: 'connect' }), code: 'UF_TIMEOUT', category: 'transient', says: ['connect timeout'] },
  { name: 'a TimeoutError without a code', error: Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }), code: 'UF_TIMEOUT', category: 'transient' },
  { name: 'a TLS handshake that timed out', error: nodeError('ERR_TLS_HANDSHAKE_TIMEOUT'), code: 'UF_TIMEOUT', category: 'transient' },
  { name: "a library's timeout code, added by the adapter", error: fetchError('UND_ERR_HEADERS_TIMEOUT'), with: { timeoutCodes: ['UND_ERR_HEADERS_TIMEOUT'] }, code: 'UF_TIMEOUT', category: 'transient' },
  { name: 'TLS: expired certificate', error: nodeError('CERT_HAS_EXPIRED'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['TLS certificate', 'CERT_HAS_EXPIRED'] },
  { name: 'TLS: self-signed certificate', error: nodeError('DEPTH_ZERO_SELF_SIGNED_CERT'), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  { name: 'TLS: self-signed in chain', error: nodeError('SELF_SIGNED_CERT_IN_CHAIN'), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  { name: 'TLS: unknown issuer', error: nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  { name: 'TLS: certificate for another name', error: nodeError('ERR_TLS_CERT_ALTNAME_INVALID'), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  { name: 'TLS: certificate in the cause of fetch', error: fetchError('CERT_HAS_EXPIRED'), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  { name: 'TLS: the adapter names its setting', error: nodeError('CERT_HAS_EXPIRED'), with: { tlsHint: 'check EXAMPLE_BASE_URL' }, code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['check EXAMPLE_BASE_URL'] },
  { name: 'TLS: handshake, wrong version', error: nodeError('ERR_SSL_WRONG_VERSION_NUMBER'), code: 'UF_DESTINATION_REJECTED', category: 'permanent', says: ['TLS handshake'] },
  { name: "TLS: OpenSSL's message without a code", error: new Error('140:error:0A00010B:SSL routines::wrong version number'), code: 'UF_DESTINATION_REJECTED', category: 'permanent' },
  { name: 'anything else', error: new Error(`odd ${SECRET_URL}`), code: 'UF_UNKNOWN', category: 'transient', says: ['no error code'] },
  { name: 'not even an Error', error: 'a string', code: 'UF_UNKNOWN', category: 'transient' },
  { name: 'undefined', error: undefined, code: 'UF_UNKNOWN', category: 'transient' },
  { name: 'the activity is named', error: nodeError('ECONNRESET'), with: { activity: 'storing /a.mp4' }, code: 'UF_NETWORK', category: 'transient', says: ['while storing /a.mp4'] },
];

describe('classifyFailure', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const error = classifyFailure(row.error, { ...taxonomy, ...row.with });
    expect({ code: error.code, category: error.category }).toEqual({ code: row.code, category: row.category });
    for (const words of row.says ?? []) expect(error.message).toContain(words);
    expect(error.message).not.toContain('s3cr3t');
    expect(error.destination).toBe('test');
    expect(error.cause).toBe(row.error);
  });

  it('passes a FleetError from underneath on as it is', () => {
    const blocked = new FleetError('UF_BLOCKED_ADDRESS', 'Refused to connect to 10.0.0.1');
    expect(classifyFailure(gotError('ECONNRESET', { cause: blocked }), taxonomy)).toBe(blocked);
    expect(classifyFailure(blocked, taxonomy)).toBe(blocked);
  });

  it('says UF_ABORTED once the signal fired, whatever broke', () => {
    const controller = new AbortController();
    controller.abort();
    const blocked = new FleetError('UF_BLOCKED_ADDRESS', 'refused');
    for (const error of [nodeError('ECONNRESET'), nodeError('CERT_HAS_EXPIRED'), blocked]) {
      const classified = classifyFailure(error, { ...taxonomy, signal: controller.signal, abortNote: '; it resumes' });
      expect(classified.code).toBe('UF_ABORTED');
      expect(classified.message).toContain('; it resumes');
    }
  });

  it("asks the platform after the abort and the FleetError from underneath, before the transport codes", () => {
    const platformSays = new FleetError('UF_RATE_LIMITED', 'the platform said slow down');
    const platform = (error: unknown) => ((error as { status?: number }).status === 429 ? platformSays : undefined);
    const answered = Object.assign(nodeError('ECONNRESET'), { status: 429 });
    expect(classifyFailure(answered, { ...taxonomy, platform })).toBe(platformSays);
    expect(classifyFailure(nodeError('ECONNRESET'), { ...taxonomy, platform }).code).toBe('UF_NETWORK');
    const blocked = new FleetError('UF_BLOCKED_ADDRESS', 'refused');
    expect(classifyFailure(Object.assign(new Error('x'), { status: 429, cause: blocked }), { ...taxonomy, platform })).toBe(blocked);
  });

  it('names an error without a code as the adapter describes it', () => {
    const error = classifyFailure(new Error('Server said no'), { ...taxonomy, unknownDetail: (e) => (e as Error).message });
    expect(error.message).toContain('(Server said no)');
  });
});

describe('transportFailure', () => {
  it('leaves what is no transport failure to the adapter', () => {
    expect(transportFailure(Object.assign(new Error('x'), { code: 'ERR_INVALID_CHAR' }), taxonomy)).toBeUndefined();
  });
});

describe('errorCodesIn', () => {
  it('reads the cause chain and the errors of an AggregateError, outermost first, once each', () => {
    const inner = Object.assign(new AggregateError([nodeError('ECONNREFUSED'), nodeError('EHOSTUNREACH')]), { code: 'ECONNREFUSED' });
    expect(errorCodesIn(Object.assign(new Error('outer', { cause: inner }), { code: 'ERR_OUTER' }))).toEqual(['ERR_OUTER', 'ECONNREFUSED', 'EHOSTUNREACH']);
  });

  it('stops on a cause cycle', () => {
    const a = Object.assign(new Error('a'), { code: 'EA' }) as Error & { cause?: unknown };
    const b = Object.assign(new Error('b', { cause: a }), { code: 'EB' });
    a.cause = b;
    expect(errorCodesIn(a)).toEqual(['EA', 'EB']);
  });
});
