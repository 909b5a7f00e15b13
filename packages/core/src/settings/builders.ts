import { accept, defineSetting, refuse, type PresenceOptions, type Reading, type Setting, type Presence } from './setting.js';

/**
 * Builders for every kind of setting the fleet has. Each takes the variable's name first,
 * so every message can name it, and returns a `Setting` (see setting.ts for the rules they
 * all follow: empty is unset, nothing is trimmed or coerced, secrets are never quoted).
 */

const surroundingSpaces = (name: string) => `${name} must not start or end with spaces: remove them`;
const hasSurroundingSpaces = (text: string) => text !== text.trim();

export interface IntegerOptions extends PresenceOptions<number> {
  min: number;
  /** Unbounded above when not given. */
  max?: number;
  /** What the number counts ("attempts", "bytes", "ms"), for messages and docs. */
  unit?: string;
  /** A value to show in the message; the default when not given. */
  example?: number;
}

function rangeText(min: number, max: number | undefined): string {
  return max === undefined ? `at least ${min}` : `from ${min} to ${max}`;
}

function integerSpec<N extends string>(name: N, kind: 'integer' | 'duration' | 'port', options: IntegerOptions) {
  const { min, max, unit } = options;
  const ofUnit = unit ? ` of ${unit}` : '';
  const inUnit = unit ? ` ${unit}` : '';
  const example = options.example ?? options.default ?? min;
  return {
    name,
    kind,
    unit,
    default: options.default,
    required: options.required,
    secret: options.secret,
    parse(text: string): Reading<number> {
      // Digits only: Number() would accept " 5 ", "1e1", "0x10" and "10.5" (then floor it elsewhere).
      if (!/^\d+$/.test(text)) return refuse(`${name} must be a whole number${ofUnit}, ${rangeText(min, max)}, written with digits only (like ${example})`);
      const value = Number(text);
      const got = options.secret ? '' : `; got ${text}`;
      if (value < min) return refuse(`${name} must be at least ${min}${inUnit} (allowed: ${rangeText(min, max)}${got})`);
      if (max !== undefined && value > max) return refuse(`${name} must be at most ${max}${inUnit} (allowed: ${rangeText(min, max)}${got})`);
      return accept(value);
    },
  };
}

/** A whole number in [min, max], written with digits only. */
export function integerSetting<const N extends string, const O extends IntegerOptions>(name: N, options: O): Setting<Presence<number, O>, N> {
  return defineSetting<number, N, O>(integerSpec(name, 'integer', options));
}

export type DurationOptions = Omit<IntegerOptions, 'unit' | 'min'> & { min?: number };

/** A duration in milliseconds (the name says so: `UPLOAD_TIMEOUT_MS`); at least 1 unless `min` says otherwise. */
export function durationMsSetting<const N extends string, const O extends DurationOptions>(name: N, options: O): Setting<Presence<number, O>, N> {
  if (!name.endsWith('_MS')) throw new Error(`${name}: a duration setting's name ends in _MS, so its unit is in its name`);
  return defineSetting<number, N, O>(integerSpec(name, 'duration', { ...options, min: options.min ?? 1, unit: 'ms' }));
}

export type PortOptions = PresenceOptions<number> & { min?: number; example?: number };

/** A TCP port, 0 to 65535 (0: any free port) unless `min` says otherwise. */
export function portSetting<const N extends string, const O extends PortOptions>(name: N, options: O): Setting<Presence<number, O>, N> {
  return defineSetting<number, N, O>(integerSpec(name, 'port', { ...options, min: options.min ?? 0, max: 65535 }));
}

const TRUE_WORDS = ['true', '1'];
const FALSE_WORDS = ['false', '0'];

/** `true`/`1` or `false`/`0`. */
export function booleanSetting<const N extends string, const O extends PresenceOptions<boolean>>(name: N, options: O): Setting<Presence<boolean, O>, N> {
  return defineSetting<boolean, N, O>({
    name,
    kind: 'boolean',
    default: options.default,
    required: options.required,
    parse: (text) => (TRUE_WORDS.includes(text) ? accept(true) : FALSE_WORDS.includes(text) ? accept(false) : refuse(`${name} must be true or false`)),
  });
}

/** `"a", "b" (the default) or "c"`: the choices, for messages. */
function choicesText(values: readonly string[], fallback: string | undefined): string {
  const quoted = values.map((v) => `"${v}"${v === fallback ? ' (the default)' : ''}`);
  return quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/** One of a fixed list of words. */
export function enumSetting<const N extends string, const V extends readonly string[], const O extends PresenceOptions<V[number]>>(
  name: N,
  options: O & { values: V },
): Setting<Presence<V[number], O>, N> {
  const { values } = options;
  return defineSetting<V[number], N, O>({
    name,
    kind: 'enum',
    default: options.default,
    required: options.required,
    parse: (text) => ((values as readonly string[]).includes(text) ? accept(text as V[number]) : refuse(`${name} must be ${choicesText(values, options.default)}`)),
  });
}

export interface UrlOptions extends PresenceOptions<string> {
  /** Schemes allowed, like ['http', 'https'] or ['redis', 'rediss']. */
  protocols: readonly string[];
  /** A URL to show in the message. */
  example?: string;
  /** Refuse a query string or fragment (a base URL that paths are appended to). */
  baseOnly?: boolean;
  /** Drop trailing slashes, so paths can be appended with one. */
  stripTrailingSlash?: boolean;
}

function protocolsText(protocols: readonly string[]): string {
  if (protocols.length === 2 && protocols[0] === 'http' && protocols[1] === 'https') return 'an http(s)';
  return `a ${protocols.map((p) => `${p}://`).join(' or ')}`;
}

/**
 * A URL of one of `protocols`, with a host. Checked by its shape, not by `new URL`: endpoint
 * templates like `https://{account}.blob.core.windows.net` are URLs only after expansion.
 */
export function urlSetting<const N extends string, const O extends UrlOptions>(name: N, options: O): Setting<Presence<string, O>, N> {
  const scheme = `(?:${options.protocols.join('|')})://`;
  const shape = options.baseOnly ? new RegExp(`^${scheme}[^\\s/?#]+(/[^\\s?#]*)?$`) : new RegExp(`^${scheme}[^\\s/?#]+([/?#]\\S*)?$`);
  const without = options.baseOnly ? ' without query or fragment' : '';
  const like = options.example ? `, like ${options.example}` : '';
  return defineSetting<string, N, O>({
    name,
    kind: 'url',
    default: options.default,
    required: options.required,
    secret: options.secret,
    parse(text) {
      if (!shape.test(text)) return refuse(`${name} must be ${protocolsText(options.protocols)} URL${without}${like}`);
      return accept(options.stripTrailingSlash ? text.replace(/\/+$/, '') : text);
    },
  });
}

export interface StringOptions extends PresenceOptions<string> {
  /** The shape a value must have, and what the message says a value must do ("look like \"v21.0\""). */
  pattern?: { regex: RegExp; must: string };
  minLength?: number;
  /** Why, appended to length messages: "(it signs callback_url webhooks)". */
  why?: string;
}

/** Free text, optionally of a shape or a least length; never with spaces around it. */
export function stringSetting<const N extends string, const O extends StringOptions>(name: N, options: O): Setting<Presence<string, O>, N> {
  const why = options.why ? ` ${options.why}` : '';
  return defineSetting<string, N, O>({
    name,
    kind: 'string',
    default: options.default,
    required: options.required,
    secret: options.secret,
    parse(text) {
      if (hasSurroundingSpaces(text)) return refuse(surroundingSpaces(name));
      if (options.minLength !== undefined && text.length < options.minLength) return refuse(`${name} must be at least ${options.minLength} characters${why}`);
      if (options.pattern && !options.pattern.regex.test(text)) return refuse(`${name} must ${options.pattern.must}`);
      return accept(text);
    },
  });
}

export interface ListOptions extends PresenceOptions<string[]> {
  /** `comma` (the default): `a,b`; `comma-or-space`: `a b` or `a, b`. */
  separator?: 'comma' | 'comma-or-space';
  /** A problem with one entry (the message names the entry), or undefined. */
  checkEntry?: (entry: string) => string | undefined;
}

/** A list of entries; spaces around entries and empty entries are dropped. */
export function listSetting<const N extends string, const O extends ListOptions>(name: N, options: O): Setting<Presence<string[], O>, N> {
  const separator = options.separator === 'comma-or-space' ? /[\s,]+/ : /,/;
  return defineSetting<string[], N, O>({
    name,
    kind: 'list',
    default: options.default,
    defaultText: options.default?.join(options.separator === 'comma-or-space' ? ' ' : ','),
    required: options.required,
    secret: options.secret,
    parse(text) {
      const entries = text.split(separator).map((entry) => entry.trim()).filter(Boolean);
      const problems = options.checkEntry ? entries.map(options.checkEntry).filter((p): p is string => p !== undefined) : [];
      return problems.length > 0 ? refuse(...problems) : accept(entries);
    },
  });
}

export interface CustomOptions<T> extends PresenceOptions<T> {
  /** How the default is written in the environment. */
  defaultText?: string;
  /** Parses a set value; problems name the variable or its entries, never a secret. */
  parse(text: string): Reading<T>;
}

/** A setting with a format of its own (API_KEYS, ENCRYPTION_KEYS, RATE_LIMITS). */
export function customSetting<T, const N extends string, const O extends CustomOptions<T>>(name: N, options: O & CustomOptions<T>): Setting<Presence<T, O>, N> {
  return defineSetting<T, N, O>({ name, kind: 'custom', ...options });
}
