import pino, { type Logger, type LoggerOptions } from 'pino';
import { scrubText } from './secrets.js';

export type { Logger } from 'pino';

/**
 * Field names whose values are always hidden, wherever they appear in a log record. The
 * logger does this itself, so no caller has to remember it.
 */
export const REDACTED_FIELD_NAMES = [
  'aws_secret_access_key',
  'key',
  'oauth_access_token',
  'oauth_token',
  'auth_secret',
  'password',
  'headers',
  'authorization',
  'Authorization',
  'secrets',
  'refresh_token',
  'access_token',
];

export function createLogger(options: LoggerOptions = {}): Logger {
  const paths = REDACTED_FIELD_NAMES.flatMap((name) => [name, `*.${name}`, `*.*.${name}`]);
  return pino({
    level: process.env.LOG_LEVEL ?? 'info',
    redact: { paths, censor: '[REDACTED]' },
    ...options,
  });
}

/** The logger adapters get: structured, scoped to a job, unable to print its secrets. */
export interface ScopedLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** Wraps a pino logger so the given secret values are replaced in every field and message. */
export function createScrubbingLogger(base: Logger, secrets: readonly string[]): ScopedLogger {
  const emit = (level: 'debug' | 'info' | 'warn' | 'error') => (fields: object, message?: string) => {
    const cleanFields = scrubValue(fields, secrets) as object;
    if (message === undefined) base[level](cleanFields);
    else base[level](cleanFields, scrubText(message, secrets));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

function scrubValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return scrubText(value, secrets);
  if (value instanceof Error) {
    return { type: value.name, message: scrubText(value.message, secrets), code: (value as { code?: unknown }).code };
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, secrets)]));
  }
  return value;
}
