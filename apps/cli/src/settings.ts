import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DEFAULT_API_URL = 'http://localhost:8080';

export interface CliSettings {
  apiUrl: string;
  apiKey: string | undefined;
  /** Where the key came from, for the hint on a 401 (never the key itself). */
  apiKeySource: string;
}

export interface SettingsInput {
  /** --api-url and --api-key, when given. */
  flags: { apiUrl?: string | undefined; apiKey?: string | undefined };
  env: Record<string, string | undefined>;
  /** The folder `pnpm start` ran in: `.data/api-key` (or FLEET_DATA_DIR/api-key) is read from it. */
  cwd: string;
}

/**
 * The API's address and key: flags first, then UPLOAD_FLEET_API_URL / UPLOAD_FLEET_API_KEY,
 * then (for the key) the file `pnpm start` writes when API_KEYS is unset.
 */
export function resolveSettings({ flags, env, cwd }: SettingsInput): CliSettings {
  const apiUrl = flags.apiUrl || env.UPLOAD_FLEET_API_URL || DEFAULT_API_URL;
  if (flags.apiKey) return { apiUrl, apiKey: flags.apiKey, apiKeySource: '--api-key' };
  if (env.UPLOAD_FLEET_API_KEY) return { apiUrl, apiKey: env.UPLOAD_FLEET_API_KEY, apiKeySource: 'UPLOAD_FLEET_API_KEY' };
  const file = resolve(cwd, env.FLEET_DATA_DIR || '.data', 'api-key');
  if (existsSync(file)) {
    const key = keyFromApiKeysValue(readFileSync(file, 'utf8'));
    if (key) return { apiUrl, apiKey: key, apiKeySource: file };
  }
  return { apiUrl, apiKey: undefined, apiKeySource: 'none (set UPLOAD_FLEET_API_KEY or --api-key)' };
}

/** The first key of an API_KEYS value (`name:key,...` or a bare key), as `pnpm start` keeps it. */
export function keyFromApiKeysValue(value: string): string | undefined {
  const first = value.trim().split(',')[0]?.trim() ?? '';
  const colon = first.indexOf(':');
  const key = colon === -1 ? first : first.slice(colon + 1);
  return key === '' ? undefined : key;
}
