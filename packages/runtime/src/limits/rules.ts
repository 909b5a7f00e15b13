import { z } from 'zod';
import { DEFAULT_LIMITS, DESTINATION_TYPES, type DestinationType } from '@upload-fleet/destinations/definitions';

/**
 * Fleet-wide limits per destination account ("key"): rolling windows ("at most 50 starts
 * per hour") and a concurrency cap ("at most 1 upload at a time"). Rules are set per
 * destination type and apply to every key of that type; `keys` overrides them for one key.
 */
export interface WindowRule {
  limit: number;
  windowMs: number;
}

export interface KeyRules {
  windows: WindowRule[];
  /** Uploads of one key at once across the fleet; undefined: no cap. */
  concurrency: number | undefined;
}

export interface TypeRules extends KeyRules {
  keys: Record<string, KeyRules>;
}

export type LimitRules = Partial<Record<DestinationType, TypeRules>>;

const HOUR = 3_600_000;

/**
 * The defaults: each destination's published limits, from its definition (YouTube: 50
 * uploads an hour and 400 a day per channel; Dropbox: one upload at a time per account;
 * FTP: 4 connections per host). Types without limits are left out.
 */
export const DEFAULT_LIMIT_RULES: LimitRules = Object.fromEntries(
  Object.entries(DEFAULT_LIMITS)
    .filter(([, limits]) => limits.windows.length > 0 || limits.concurrency !== undefined)
    .map(([type, limits]) => [type, { windows: [...limits.windows], concurrency: limits.concurrency, keys: {} }]),
);

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR, d: 24 * HOUR };

/** Parses "50/1h" (50 per rolling hour); units ms, s, m, h, d. */
export function parseWindow(text: string): WindowRule {
  const match = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a window: write it like "50/1h" (50 per rolling hour; units ms, s, m, h, d)`);
  const limit = Number(match[1]);
  const windowMs = Number(match[2] ?? 1) * UNIT_MS[match[3]!]!;
  if (limit < 1 || windowMs < 1) throw new Error(`"${text}": the count and the window must be positive`);
  return { limit, windowMs };
}

const keyRulesInput = z.strictObject({
  windows: z.array(z.string()).optional(),
  concurrency: z.number().int().positive().nullable().optional(),
});
const typeRulesInput = keyRulesInput.extend({ keys: z.record(z.string(), keyRulesInput).optional() });
const rulesInput = z.partialRecord(z.enum(DESTINATION_TYPES as [DestinationType, ...DestinationType[]]), typeRulesInput);

function toKeyRules(input: z.infer<typeof keyRulesInput>, base: KeyRules | undefined): KeyRules {
  return {
    windows: input.windows ? input.windows.map(parseWindow) : (base?.windows ?? []),
    concurrency: input.concurrency === null ? undefined : (input.concurrency ?? base?.concurrency),
  };
}

/**
 * Reads RATE_LIMITS: JSON that changes the defaults per type, for example
 * `{"youtube":{"windows":["50/1h","400/24h"]},"http":{"windows":["100/1m"],"keys":{"videos.example.com":{"windows":[]}}},"ftp":{"concurrency":2}}`.
 * A type left out keeps its defaults; `"concurrency": null` removes a cap.
 */
export function parseLimitRules(json: string | undefined, defaults: LimitRules = DEFAULT_LIMIT_RULES): LimitRules {
  if (!json?.trim()) return defaults;
  const parsed = rulesInput.parse(JSON.parse(json));
  const rules: LimitRules = { ...defaults };
  for (const [type, input] of Object.entries(parsed) as [DestinationType, z.infer<typeof typeRulesInput>][]) {
    const base = toKeyRules(input, defaults[type]);
    const keys: Record<string, KeyRules> = {};
    for (const [key, override] of Object.entries(input.keys ?? {})) keys[key] = toKeyRules(override, base);
    rules[type] = { ...base, keys };
  }
  return rules;
}

/** The rules for one key: its override, else its type's, else none. */
export function rulesFor(rules: LimitRules, type: DestinationType, key: string): KeyRules | undefined {
  const typeRules = rules[type];
  if (!typeRules) return undefined;
  const keyRules = typeRules.keys[key] ?? typeRules;
  return keyRules.windows.length > 0 || keyRules.concurrency !== undefined ? keyRules : undefined;
}
