import { z } from 'zod';
import type { AnySetting, Env, Setting, ValueOf } from './setting.js';

/**
 * A process's configuration: the shared settings it reads plus its own, checked across
 * settings, turned into the typed object its code takes. Only an entrypoint calls `load`
 * with `process.env`; everything else receives the built object. Every problem is
 * reported at once, each under the variable it is about.
 */

/** Settings by variable name. */
export type SettingGroup = Readonly<Record<string, AnySetting>>;

/** The values of a group, by variable name. */
export type ValuesOf<G extends SettingGroup> = { -readonly [K in keyof G]: ValueOf<G[K]> };

export interface ConfigProblem {
  /** The variable the problem is about. */
  setting: string;
  /** Names the variable and says what to write; never quotes a secret. */
  message: string;
}

/** A group keyed by each setting's name. */
export function settingGroup<const S extends readonly AnySetting[]>(...settings: S): { readonly [K in S[number] as K['name']]: K } {
  const group: Record<string, AnySetting> = {};
  for (const setting of settings) {
    if (group[setting.name]) throw new Error(`${setting.name} is defined twice in one settings group`);
    group[setting.name] = setting;
  }
  return group as { readonly [K in S[number] as K['name']]: K };
}

/**
 * Reads every setting of a group. `values` holds what could be read (a setting with a
 * problem is absent), so checks across settings can still run and add their problems.
 */
export function readSettings<G extends SettingGroup>(group: G, env: Env): { values: Partial<ValuesOf<G>>; problems: ConfigProblem[] } {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const setting of Object.values(group)) {
    const reading = setting.read(env[setting.name]);
    if (reading.ok) values[setting.name] = reading.value;
    else problems.push(...reading.problems.map((message) => ({ setting: setting.name, message })));
  }
  return { values: values as Partial<ValuesOf<G>>, problems };
}

/** Thrown by `load`: every problem of one process's configuration. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(label: string, problems: ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.setting}: ${p.message}`);
    super(`Invalid ${label} configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type LoadResult<C> = { ok: true; config: C } | { ok: false; problems: ConfigProblem[] };

export interface ConfigDefinition<G extends SettingGroup, C> {
  /** For the error's first line: "Invalid API configuration". */
  readonly label: string;
  readonly settings: G;
  /** Builds the config, or lists every problem. */
  safeLoad(env: Env): LoadResult<C>;
  /** Builds the config; throws a ConfigError listing every problem. */
  load(env: Env): C;
  /** The same as a zod schema (issues carry the variable as their path). */
  readonly schema: z.ZodType<C, Env>;
}

export interface ConfigSpec<G extends SettingGroup, C> {
  label: string;
  settings: G;
  /** Problems across settings (one of two required together, ...); runs even when some settings failed. */
  check?: (values: Partial<ValuesOf<G>>, env: Env) => ConfigProblem[];
  /** The config from values that all passed. */
  build: (values: ValuesOf<G>, env: Env) => C;
}

export function defineConfig<G extends SettingGroup, C>(spec: ConfigSpec<G, C>): ConfigDefinition<G, C> {
  const safeLoad = (env: Env): LoadResult<C> => {
    const { values, problems } = readSettings(spec.settings, env);
    problems.push(...(spec.check?.(values, env) ?? []));
    if (problems.length > 0) return { ok: false, problems };
    return { ok: true, config: spec.build(values as ValuesOf<G>, env) };
  };
  const schema = z
    .custom<Env>((value) => typeof value === 'object' && value !== null, { error: 'the environment must be an object of strings' })
    .transform((env, ctx) => {
      const result = safeLoad(env);
      if (result.ok) return result.config;
      for (const problem of result.problems) ctx.addIssue({ code: 'custom', path: [problem.setting], message: problem.message });
      return z.NEVER;
    });
  return {
    label: spec.label,
    settings: spec.settings,
    safeLoad,
    load(env) {
      const result = safeLoad(env);
      if (!result.ok) throw new ConfigError(spec.label, result.problems);
      return result.config;
    },
    schema,
  };
}

/** One setting's value; throws a ConfigError with its problems. For tests and tools that check one variable. */
export function settingValue<T>(setting: Setting<T>, raw: string | undefined): T {
  const reading = setting.read(raw);
  if (!reading.ok) throw new ConfigError(setting.name, reading.problems.map((message) => ({ setting: setting.name, message })));
  return reading.value;
}
