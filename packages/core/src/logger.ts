import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { scrubText } from './secrets.js';

export type { Logger } from 'pino';

/**
 * Field names whose values are always hidden, wherever they appear in a log record, beside
 * the secret fields of every destination schema (which `registerSecretFieldNames` adds when
 * a destination is defined). The logger does this itself, so no caller has to remember it.
 */
const ALWAYS_REDACTED = ['headers', 'authorization', 'secrets', 'refresh_token', 'access_token', 'client_secret'];

const REDACTED = '[REDACTED]';
const redactedNames = new Set(ALWAYS_REDACTED);

/** Hides these field names (in any case) in every log record from now on. */
export function registerSecretFieldNames(names: Iterable<string>): void {
  for (const name of names) redactedNames.add(name.toLowerCase());
}

/** The field names the logger hides (lower case), for checks and the dashboard's redaction. */
export function redactedFieldNames(): string[] {
  return [...redactedNames];
}

/**
 * A pino logger that hides the values of REDACTED_FIELD_NAMES (in any case) at any depth
 * of a record and of a child's bindings, including inside logged errors. pino's own
 * `redact` paths have a fixed depth; a logged request body or an SDK error with its request
 * config nests deeper. `destination` defaults to stdout; tests pass one to read the output.
 */
export function createLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const { formatters = {}, ...rest } = options;
  const { log: callerLog, bindings: callerBindings } = formatters;
  const loggerOptions: LoggerOptions = {
    // Entrypoints pass LOG_LEVEL from their config (settings/shared.ts); libraries never read the environment.
    level: 'info',
    ...rest,
    formatters: {
      ...formatters,
      log: (object) => redactRecord(callerLog ? callerLog(object) : object),
      bindings: (bindings) => redactRecord(callerBindings ? callerBindings(bindings) : bindings),
    },
  };
  const logger = destination ? pino(loggerOptions, destination) : pino(loggerOptions);
  // pino applies formatters.bindings to the root only; a child's bindings are redacted here.
  // Children are Object.create(parent), so every generation inherits this method.
  const child = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return child.call(this, redactRecord(bindings), childOptions);
  } as typeof child;
  // The same for bindings added to a logger in place (cheaper than a child: the API binds each request's key name so).
  const setBindings = logger.setBindings;
  logger.setBindings = function (this: Logger, bindings) {
    setBindings.call(this, redactRecord(bindings));
  } as typeof setBindings;
  return logger;
}

/**
 * A child of any pino logger (one this module did not make, like a caller's own) that hides
 * the REDACTED field names in every record and in its bindings, at any depth and in any case,
 * as `createLogger`'s loggers do; then the parent's own `log` formatter, if it has one.
 * Children of the child keep it (pino passes the `log` formatter down). Cheaper than
 * pino `redact` paths with wildcards, which run a redactor over every bound value.
 *
 * `serializers` are applied here, before the redaction: pino runs formatters before
 * serializers, so a serializer that reads getters (a request's `method` and `url`) would
 * otherwise receive the redaction's plain copy without them. pino gets a pass-through
 * serializer for each of their keys, so that none it or a framework adds (Fastify's `req`)
 * runs again on their output.
 */
export function redactingChild(logger: Logger, bindings: Bindings, options: ChildLoggerOptions = {}): Logger {
  const { serializers = {}, ...childOptions } = options;
  const parentLog = (logger as unknown as Record<symbol, { log?: (object: object) => object } | undefined>)[pino.symbols.formattersSym]?.log;
  const serialize = (object: object): object => {
    let out: Record<string, unknown> | undefined;
    for (const [name, serializer] of Object.entries(serializers)) {
      if (!Object.hasOwn(object, name)) continue;
      out ??= { ...object };
      out[name] = serializer(out[name]);
    }
    return out ?? object;
  };
  return logger.child(bindings, {
    ...childOptions,
    serializers: Object.fromEntries(Object.keys(serializers).map((name) => [name, (value: unknown) => value])),
    formatters: {
      ...childOptions.formatters,
      log: (object) => {
        const serialized = serialize(object);
        return redactRecord(parentLog ? parentLog(serialized) : serialized);
      },
      bindings: (childBindings) => redactRecord(childBindings),
    },
  });
}

/** A copy of a record's (or bindings') fields with secret fields replaced at any depth. */
function redactRecord(record: object): Record<string, unknown> {
  const ancestors = new WeakSet<object>([record]);
  return Object.fromEntries(Object.entries(record).map(([name, v]) => [name, redact(name, v, ancestors)]));
}

function redact(name: PropertyKey, value: unknown, ancestors: WeakSet<object>): unknown {
  return typeof name === 'string' && redactedNames.has(name.toLowerCase()) ? REDACTED : redactSecretFields(value, ancestors);
}

/** A copy of `value` with secret fields replaced; the caller's objects are left as they are. */
function redactSecretFields(value: unknown, ancestors: WeakSet<object>): unknown {
  if (!value || typeof value !== 'object') return value;
  if (ancestors.has(value)) return '[Circular]';
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redactSecretFields(v, ancestors));
    if (value instanceof Error) {
      // Keep an Error (same prototype) so pino's err serializer still gives type, stack and cause.
      const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<PropertyKey, unknown>;
      for (const name of Reflect.ownKeys(value)) {
        const { enumerable } = Object.getOwnPropertyDescriptor(value, name)!;
        // Read through the original: V8's `stack` is an accessor bound to the real error.
        const v = (value as unknown as Record<PropertyKey, unknown>)[name];
        Object.defineProperty(copy, name, { value: redact(name, v, ancestors), enumerable, writable: true, configurable: true });
      }
      return copy;
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return redactSecretFields(toJSON.call(value), ancestors);
    return Object.fromEntries(Object.entries(value).map(([name, v]) => [name, redact(name, v, ancestors)]));
  } finally {
    ancestors.delete(value);
  }
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
    // A line that is not written is not scrubbed (the HTTP adapter's debug lines, per upload).
    if (!base.isLevelEnabled(level)) return;
    // Nothing to scrub: the fields go as they are (pino's redaction of secret names still
    // applies), unless one is an error, which is written in the same short form as always.
    if (secrets.length === 0 && !Object.values(fields).some((value) => value instanceof Error)) {
      return message === undefined ? base[level](fields) : base[level](fields, message);
    }
    const cleanFields = scrubValue(fields, secrets) as object;
    if (message === undefined) base[level](cleanFields);
    else base[level](cleanFields, scrubText(message, secrets));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

function scrubValue(value: unknown, secrets: readonly string[], ancestors = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value, secrets);
  if (!value || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { type: value.name, message: scrubText(value.message, secrets), code: (value as { code?: unknown }).code };
  }
  if (ancestors.has(value)) return '[Circular]';
  // URL, Date, Buffer ...: scrub what JSON would print, instead of their (empty) own fields.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return scrubValue(toJSON.call(value), secrets, ancestors);
  ancestors.add(value);
  const out = Array.isArray(value)
    ? value.map((v) => scrubValue(v, secrets, ancestors))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, secrets, ancestors)]));
  ancestors.delete(value);
  return out;
}
