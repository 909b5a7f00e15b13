/**
 * A setting: one environment variable with its type, default, unit, validation and the
 * message that says what to write. Every process reads a variable through the same
 * definition, so `UPLOAD_MAX_ATTEMPTS=200` means the same thing (or the same error) in the
 * API and in a worker, and the README's configuration table can be checked against code.
 *
 * The rules every setting follows:
 * - an empty value (or one of only spaces) counts as unset: the default applies, or the
 *   setting is reported missing when it is required;
 * - a value is never trimmed or coerced: ` 5 `, `1e1`, `10.5` and `abc` are refused for a
 *   whole number, with a message that names the variable and says what to write;
 * - messages never quote the value of a secret setting.
 */

/** The environment as a process receives it. */
export type Env = Readonly<Record<string, string | undefined>>;

export type SettingKind = 'integer' | 'duration' | 'port' | 'boolean' | 'enum' | 'url' | 'string' | 'list' | 'custom';

/** What reading one value gave: the value, or every problem with it (messages name the variable). */
export type Reading<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export interface Setting<T = unknown, N extends string = string> {
  readonly name: N;
  readonly kind: SettingKind;
  /** What the number counts, for messages and docs: "ms", "bytes", "attempts". */
  readonly unit: string | undefined;
  /** The default as one would write it in the environment; undefined when there is none. */
  readonly defaultText: string | undefined;
  /** Unset is an error; the message says what to set. */
  readonly required: boolean;
  /** Its value is never quoted in a message (keys, passwords, tokens). */
  readonly secret: boolean;
  /** Reads the raw variable (undefined when absent). */
  read(raw: string | undefined): Reading<T>;
}

// The type parameter is only produced (read's result), so `Setting<any>` is the widest setting.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySetting = Setting<any, string>;

/** The value type of a setting. */
export type ValueOf<S> = S extends Setting<infer T, string> ? T : never;

/** Options every builder takes. `default` is the parsed value, `required` the message for unset. */
export interface PresenceOptions<T> {
  default?: T;
  /** Unset is an error with this message ("ENCRYPTION_KEYS is required: ..."). */
  required?: string;
  secret?: boolean;
}

/** `T` when the setting always has a value (a default, or required), `T | undefined` otherwise. */
export type Presence<T, O> = O extends { default: unknown } ? T : O extends { required: string } ? T : T | undefined;

/** True for a value that counts as unset: absent, empty, or only spaces. */
export function isUnset(raw: string | undefined): raw is undefined | '' {
  return raw === undefined || raw.trim() === '';
}

export interface SettingSpec<T> {
  name: string;
  kind: SettingKind;
  unit?: string | undefined;
  default?: T | undefined;
  /** How the default is written in the environment; derived by `String()` when not given. */
  defaultText?: string | undefined;
  required?: string | undefined;
  secret?: boolean | undefined;
  /** Parses a value that is set (never empty); returns the value or the problems. */
  parse(text: string): Reading<T>;
}

/** The one place where "unset" is decided: every builder goes through it. */
export function defineSetting<T, N extends string, O>(spec: SettingSpec<T> & { name: N }): Setting<Presence<T, O>, N> {
  const { name, required, parse } = spec;
  const hasDefault = spec.default !== undefined;
  return {
    name,
    kind: spec.kind,
    unit: spec.unit,
    defaultText: hasDefault ? (spec.defaultText ?? String(spec.default)) : undefined,
    required: required !== undefined,
    secret: spec.secret ?? false,
    read(raw) {
      if (!isUnset(raw)) return parse(raw) as Reading<Presence<T, O>>;
      if (hasDefault) return { ok: true, value: spec.default as Presence<T, O> };
      if (required !== undefined) return { ok: false, problems: [required] };
      return { ok: true, value: undefined as Presence<T, O> };
    },
  };
}

export const accept = <T>(value: T): Reading<T> => ({ ok: true, value });
export const refuse = (...problems: string[]): Reading<never> => ({ ok: false, problems });
