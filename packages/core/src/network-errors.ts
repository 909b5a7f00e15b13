/**
 * Node's codes for a connection that failed without an answer (reset, refused, no route,
 * name lookup failed, stream cut short): a later attempt may not meet them, so adapters
 * classify them as transient. Each adapter adds the codes of its own client library.
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

/** Certificate problems: the destination's TLS setup is wrong, and retrying will not fix it. */
export const TLS_CERTIFICATE_ERROR_CODE = /^(CERT_|ERR_TLS_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_)/;
