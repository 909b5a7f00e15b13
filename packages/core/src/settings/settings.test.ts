import { describe, expect, it } from 'vitest';
import {
  booleanSetting,
  ConfigError,
  defineConfig,
  durationMsSetting,
  enumSetting,
  integerSetting,
  listSetting,
  portSetting,
  settingGroup,
  stringSetting,
  urlSetting,
  type AnySetting,
} from './index.js';

const problemsOf = (setting: AnySetting, raw: string | undefined) => {
  const reading = setting.read(raw);
  return reading.ok ? [] : reading.problems;
};
const valueOf = (setting: AnySetting, raw: string | undefined) => {
  const reading = setting.read(raw);
  if (!reading.ok) throw new Error(reading.problems.join('; '));
  return reading.value;
};

describe('integer settings', () => {
  const attempts = integerSetting('ATTEMPTS', { default: 5, min: 1, max: 100, unit: 'attempts' });

  it('take the default when unset, empty or blank, and read digits', () => {
    expect([undefined, '', '   '].map((raw) => valueOf(attempts, raw))).toEqual([5, 5, 5]);
    expect(valueOf(attempts, '100')).toBe(100);
    expect(attempts.defaultText).toBe('5');
  });

  it('refuse what Number() would accept, saying what to write', () => {
    for (const raw of ['1e1', 'abc', '10.5', ' 5 ', '0x10', '-3', '+4']) {
      expect(problemsOf(attempts, raw)).toEqual(['ATTEMPTS must be a whole number of attempts, from 1 to 100, written with digits only (like 5)']);
    }
  });

  it('name the allowed range when out of it', () => {
    expect(problemsOf(attempts, '200')).toEqual(['ATTEMPTS must be at most 100 attempts (allowed: from 1 to 100; got 200)']);
    expect(problemsOf(attempts, '0')).toEqual(['ATTEMPTS must be at least 1 attempts (allowed: from 1 to 100; got 0)']);
  });

  it('never quote a secret number', () => {
    const pin = integerSetting('PIN', { min: 1000, max: 9999, secret: true });
    expect(problemsOf(pin, '12')).toEqual(['PIN must be at least 1000 (allowed: from 1000 to 9999)']);
  });

  it('durations are in ms and at least 1; ports are 0 to 65535', () => {
    const timeout = durationMsSetting('TIMEOUT_MS', { default: 30_000 });
    expect(timeout.unit).toBe('ms');
    expect(problemsOf(timeout, '0')[0]).toMatch(/^TIMEOUT_MS must be at least 1 ms/);
    expect(() => durationMsSetting('TIMEOUT', { default: 1 })).toThrow(/ends in _MS/);
    const port = portSetting('SOME_PORT', { default: 8080 });
    expect(valueOf(port, '0')).toBe(0);
    expect(problemsOf(port, '65536')[0]).toMatch(/^SOME_PORT must be at most 65535/);
  });

  it('without a default are undefined when unset, or reported when required', () => {
    expect(valueOf(integerSetting('N', { min: 1 }), '')).toBeUndefined();
    expect(problemsOf(integerSetting('N', { min: 1, required: 'N is required: set it to the number of things' }), '')).toEqual(['N is required: set it to the number of things']);
  });
});

describe('the other builders', () => {
  it('booleans are true/1 or false/0', () => {
    const flag = booleanSetting('FLAG', { default: true });
    expect(['true', '1', 'false', '0', ''].map((raw) => valueOf(flag, raw))).toEqual([true, true, false, false, true]);
    expect(problemsOf(flag, 'yes')).toEqual(['FLAG must be true or false']);
  });

  it('enums list their choices and mark the default', () => {
    const mode = enumSetting('MODE', { values: ['basic', 'none', 'token'], default: 'basic' });
    expect(valueOf(mode, '')).toBe('basic');
    expect(problemsOf(mode, 'Basic')).toEqual(['MODE must be "basic" (the default), "none" or "token"']);
  });

  it('URLs need one of their schemes and a host', () => {
    const redis = urlSetting('SOME_URL', { protocols: ['redis', 'rediss'] });
    expect(valueOf(redis, 'rediss://u:p@h:6380/2')).toBe('rediss://u:p@h:6380/2');
    expect(problemsOf(redis, 'localhost:6379')).toEqual(['SOME_URL must be a redis:// or rediss:// URL']);
    const base = urlSetting('BASE_URL', { protocols: ['http', 'https'], baseOnly: true, stripTrailingSlash: true, example: 'https://x.example' });
    expect(valueOf(base, 'https://x.example/a/')).toBe('https://x.example/a');
    expect(problemsOf(base, 'https://x.example/?q=1')).toEqual(['BASE_URL must be an http(s) URL without query or fragment, like https://x.example']);
    expect(problemsOf(base, ' https://x.example')).toHaveLength(1);
  });

  it('strings refuse spaces around them, short values and the wrong shape', () => {
    const token = stringSetting('TOKEN', { minLength: 16, secret: true, why: '(it signs webhooks)' });
    expect(problemsOf(token, 'short')).toEqual(['TOKEN must be at least 16 characters (it signs webhooks)']);
    expect(problemsOf(token, ' a-long-enough-token ')).toEqual(['TOKEN must not start or end with spaces: remove them']);
    const version = stringSetting('VERSION', { default: 'v21.0', pattern: { regex: /^v\d+\.\d+$/, must: 'look like "v21.0"' } });
    expect(problemsOf(version, '21')).toEqual(['VERSION must look like "v21.0"']);
  });

  it('lists drop blanks and check each entry', () => {
    const hosts = listSetting('HOSTS', { default: [], checkEntry: (entry) => (entry.includes(' ') ? `"${entry}" has a space` : undefined) });
    expect(valueOf(hosts, ' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(valueOf(hosts, '')).toEqual([]);
    expect(listSetting('SCOPES', { separator: 'comma-or-space', default: ['a', 'b'] }).defaultText).toBe('a b');
  });
});

describe('defineConfig', () => {
  const definition = defineConfig({
    label: 'test',
    settings: settingGroup(integerSetting('A', { min: 1, default: 1 }), stringSetting('B', {}), stringSetting('C', {})),
    check: (values) => (values.B && !values.C ? [{ setting: 'C', message: 'C is required when B is set' }] : []),
    build: (values) => ({ a: values.A, b: values.B }),
  });

  it('builds the config from valid values', () => {
    expect(definition.load({ A: '3' })).toEqual({ a: 3, b: undefined });
  });

  it('reports every problem at once, checks across settings included, in the error and in the zod schema', () => {
    const result = definition.safeLoad({ A: 'x', B: 'b' });
    expect(result.ok).toBe(false);
    expect(() => definition.load({ A: 'x', B: 'b' })).toThrow(ConfigError);
    expect(() => definition.load({ A: 'x', B: 'b' })).toThrow(/^Invalid test configuration \(2 problems\):\n {2}- A: A must be a whole number[^\n]*\n {2}- C: C is required when B is set$/);
    const parsed = definition.schema.safeParse({ A: 'x', B: 'b' });
    expect(parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'))).toEqual(['A', 'C']);
  });

  it('refuses a group with a name twice', () => {
    expect(() => settingGroup(stringSetting('A', {}), stringSetting('A', {}))).toThrow(/A is defined twice/);
  });
});
