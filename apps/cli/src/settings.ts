import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, FLEET_DATA_DIR, settingGroup, stringSetting, urlSetting } from '@upload-fleet/core/settings';

export const DEFAULT_API_URL = 'http://localhost:8080';

/** The CLI's settings: where the API is, its key, and FLEET_DATA_DIR (shared with `pnpm start`, which writes the key there). */
export const cliSettings = settingGroup(
  urlSetting('UPLOAD_FLEET_API_URL', { protocols: ['http', 'https'], default: DEFAULT_API_URL, example: DEFAULT_API_URL }),
  stringSetting('UPLOAD_FLEET_API_KEY', { secret: true }),
  FLEET_DATA_DIR,
);

/** The environment part of the CLI's settings; `load` throws a ConfigError listing every problem. */
export const cliConfig = defineConfig({ label: 'CLI', settings: cliSettings, build: (values) => values });

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
  const fromEnv = cliConfig.load(env);
  const apiUrl = flags.apiUrl || fromEnv.UPLOAD_FLEET_API_URL;
  if (flags.apiKey) return { apiUrl, apiKey: flags.apiKey, apiKeySource: '--api-key' };
  if (fromEnv.UPLOAD_FLEET_API_KEY) return { apiUrl, apiKey: fromEnv.UPLOAD_FLEET_API_KEY, apiKeySource: 'UPLOAD_FLEET_API_KEY' };
  const file = resolve(cwd, fromEnv.FLEET_DATA_DIR, 'api-key');
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
