import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMIT_RULES, parseLimitRules, parseWindow, rulesFor } from './rules.js';

describe('limit rules', () => {
  it('parse windows like 50/1h', () => {
    expect(parseWindow('50/1h')).toEqual({ limit: 50, windowMs: 3_600_000 });
    expect(parseWindow('5/2s')).toEqual({ limit: 5, windowMs: 2000 });
    expect(parseWindow('400/24h')).toEqual({ limit: 400, windowMs: 86_400_000 });
    expect(parseWindow('10/m')).toEqual({ limit: 10, windowMs: 60_000 });
    expect(() => parseWindow('50 per hour')).toThrow(/like "50\/1h"/);
  });

  it('default to YouTube\'s 50 per hour and 400 per day per channel', () => {
    expect(rulesFor(DEFAULT_LIMIT_RULES, 'youtube', 'any-channel')?.windows).toEqual([
      { limit: 50, windowMs: 3_600_000 },
      { limit: 400, windowMs: 86_400_000 },
    ]);
    expect(rulesFor(DEFAULT_LIMIT_RULES, 'dropbox', 'acct')?.concurrency).toBe(1);
    expect(rulesFor(DEFAULT_LIMIT_RULES, 's3', 'bucket')).toBeUndefined();
  });

  it('let RATE_LIMITS change a type and override single keys, keeping other defaults', () => {
    const rules = parseLimitRules(JSON.stringify({ http: { windows: ['100/1m'], keys: { 'a.example': { windows: [] }, 'b.example': { concurrency: 2 } } }, ftp: { concurrency: null } }));
    expect(rulesFor(rules, 'http', 'other.example')?.windows).toEqual([{ limit: 100, windowMs: 60_000 }]);
    expect(rulesFor(rules, 'http', 'a.example')).toBeUndefined();
    expect(rulesFor(rules, 'http', 'b.example')).toEqual({ windows: [{ limit: 100, windowMs: 60_000 }], concurrency: 2 });
    expect(rulesFor(rules, 'ftp', 'host')).toBeUndefined();
    expect(rulesFor(rules, 'youtube', 'c')?.windows).toHaveLength(2);
  });

  it('refuse unknown types and fields', () => {
    expect(() => parseLimitRules('{"myspace":{}}')).toThrow();
    expect(() => parseLimitRules('{"http":{"window":["1/1s"]}}')).toThrow();
  });
});
