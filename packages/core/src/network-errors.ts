/**
 * Node's codes for a connection that failed without an answer (reset, refused, no route,
 * name lookup failed, stream cut short): a later attempt may not meet them, so they are
 * transient. The shared transport classifier (`destinations/src/transport-errors.ts`) reads
 * these lists; each adapter adds the codes of its own client library.
 */
export const CONNECTION_ERROR_CODES: readonly string[] = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
];

/** Node's codes for a connection or TLS handshake that took too long (transient). */
export const TIMEOUT_ERROR_CODES: readonly string[] = ['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ERR_TLS_HANDSHAKE_TIMEOUT'];

/** Certificate problems: the destination's TLS setup is wrong, and retrying will not fix it. */
export const TLS_CERTIFICATE_ERROR_CODE = /^(CERT_|ERR_TLS_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_|HOSTNAME_MISMATCH)/;

/**
 * A TLS handshake that failed for another reason than the certificate (no common protocol
 * version or cipher, a plain-text server on a TLS port): OpenSSL's codes, and its messages
 * for errors that carry no code. Permanent like a certificate problem.
 */
export const TLS_HANDSHAKE_ERROR_CODE = /^(ERR_SSL_|ERR_TLS_)/;
export const TLS_HANDSHAKE_ERROR_MESSAGE = /\bSSL routines\b/;
