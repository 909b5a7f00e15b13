import { SecretBox } from '../secrets.js';
import { parseAllowedEntry } from '../network-guard.js';
import { customSetting, enumSetting, integerSetting, stringSetting } from './builders.js';
import { accept, refuse } from './setting.js';

/**
 * Settings read by more than one process that belong to no other package. The Redis
 * settings live in @upload-fleet/redis, the OAuth ones in @upload-fleet/credentials.
 */

/** AES-256-GCM keys of job secrets (API encrypts, workers decrypt): validated here, parsed by SecretBox. */
export const ENCRYPTION_KEYS = customSetting('ENCRYPTION_KEYS', {
  required: 'ENCRYPTION_KEYS is required: comma-separated "id:base64key" entries, newest first (generate a key with `openssl rand -base64 32`)',
  secret: true,
  parse(text: string) {
    try {
      SecretBox.fromConfig(text);
      return accept(text);
    } catch (error) {
      // SecretBox's messages name the entry and the length, never the key.
      return refuse((error as Error).message);
    }
  },
});

/** Attempts per upload, the first included: the API sets it on each job, workers read it for their messages and retries. */
export const UPLOAD_MAX_ATTEMPTS = integerSetting('UPLOAD_MAX_ATTEMPTS', { default: 5, min: 1, max: 100, unit: 'attempts' });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** pino's level for every process. */
export const LOG_LEVEL = enumSetting('LOG_LEVEL', { values: LOG_LEVELS, default: 'info' });

/** Where `pnpm start` keeps generated keys and its embedded Redis; the CLI reads the API key from it. */
export const FLEET_DATA_DIR = stringSetting('FLEET_DATA_DIR', { default: '.data' });

/**
 * Hosts exempt from the network guard: `host`, `host:port` or `[v6]:port` entries, comma
 * separated. Workers connect only where it allows; the API refuses other blocked literals
 * at submit time. A wrong entry is reported at start, naming it.
 */
export const ALLOWED_PRIVATE_HOSTS = customSetting('ALLOWED_PRIVATE_HOSTS', {
  default: [] as string[],
  defaultText: '',
  parse(text: string) {
    const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
    const problems: string[] = [];
    for (const entry of entries) {
      try {
        parseAllowedEntry(entry);
      } catch (error) {
        problems.push(`ALLOWED_PRIVATE_HOSTS: ${(error as Error).message}`);
      }
    }
    return problems.length > 0 ? refuse(...problems) : accept(entries);
  },
});

export type LogLevel = (typeof LOG_LEVELS)[number];
