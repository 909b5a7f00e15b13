import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SecretBox } from '@upload-fleet/core';

/**
 * Settings the all-in-one fleet makes up for itself when the environment leaves them out,
 * kept in the local data folder so they survive restarts (jobs encrypted with a key must
 * be decryptable after a restart). Production sets them in the environment instead.
 */
export interface GeneratedSetting {
  name: string;
  value: string;
  file: string;
  created: boolean;
}

export function settingFromFileOrNew(dataDir: string, name: string, fileName: string, make: () => string): GeneratedSetting {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, fileName);
  if (existsSync(file)) return { name, value: readFileSync(file, 'utf8').trim(), file, created: false };
  const value = make();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return { name, value, file, created: true };
}

export const makeEncryptionKeys = () => `local-${new Date().toISOString().slice(0, 10)}:${SecretBox.generateKey()}`;
export const makeRandomSecret = () => randomBytes(24).toString('base64url');
