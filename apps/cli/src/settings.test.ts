import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyFromApiKeysValue, resolveSettings } from './settings.js';
import { requestFromFlags } from './submit-request.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'upload-fleet-cli-settings-'));
  dirs.push(dir);
  return dir;
}

describe('resolveSettings', () => {
  it('flags win over the environment, which wins over .data/api-key; the URL defaults to localhost:8080', () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, '.data'));
    writeFileSync(join(cwd, '.data', 'api-key'), 'from-file-key-123456\n');
    expect(resolveSettings({ flags: {}, env: {}, cwd })).toEqual({ apiUrl: 'http://localhost:8080', apiKey: 'from-file-key-123456', apiKeySource: join(cwd, '.data', 'api-key') });
    expect(resolveSettings({ flags: {}, env: { UPLOAD_FLEET_API_KEY: 'env-key', UPLOAD_FLEET_API_URL: 'http://api:1' }, cwd })).toMatchObject({ apiUrl: 'http://api:1', apiKey: 'env-key' });
    expect(resolveSettings({ flags: { apiKey: 'flag-key', apiUrl: 'http://flag:2' }, env: { UPLOAD_FLEET_API_KEY: 'env-key' }, cwd })).toMatchObject({ apiUrl: 'http://flag:2', apiKey: 'flag-key', apiKeySource: '--api-key' });
  });

  it('follows FLEET_DATA_DIR, and goes without a key when there is none', () => {
    const cwd = tempDir();
    expect(resolveSettings({ flags: {}, env: {}, cwd }).apiKey).toBeUndefined();
    mkdirSync(join(cwd, 'state'));
    writeFileSync(join(cwd, 'state', 'api-key'), 'ops:named-key-1234567,other:second-key-123456');
    expect(resolveSettings({ flags: {}, env: { FLEET_DATA_DIR: 'state' }, cwd }).apiKey).toBe('named-key-1234567');
  });

  it('reads the first key of an API_KEYS value', () => {
    expect(keyFromApiKeysValue('bare-key\n')).toBe('bare-key');
    expect(keyFromApiKeysValue('a:k1,b:k2')).toBe('k1');
    expect(keyFromApiKeysValue('  ')).toBeUndefined();
  });
});

describe('requestFromFlags', () => {
  it('one destination is "upload", several are "uploads"; unset flags are left out for the API to judge', () => {
    expect(requestFromFlags({ sourcePath: 'a.mp4', destinations: ['{"type":"ftp"}'], extension: 'mp4' }, '/')).toEqual({
      source: { path: 'a.mp4' },
      upload: { extension: 'mp4', destination: { type: 'ftp' } },
    });
    expect(requestFromFlags({ sourceUrl: 'https://x/a.mp4', destinations: ['{"type":"ftp"}', '{"type":"s3"}'], callbackUrl: 'https://cb', idempotencyKey: 'k' }, '/')).toEqual({
      source: { url: 'https://x/a.mp4' },
      uploads: [{ destination: { type: 'ftp' } }, { destination: { type: 's3' } }],
      callback_url: 'https://cb',
      idempotency_key: 'k',
    });
    expect(requestFromFlags({ destinations: [] }, '/')).toEqual({});
  });

  it('reads @file destinations and names the one that is not JSON', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'd.json'), '{"type":"http"}');
    expect(requestFromFlags({ destinations: ['@d.json'] }, dir)).toEqual({ upload: { destination: { type: 'http' } } });
    expect(() => requestFromFlags({ destinations: ['@missing.json'] }, dir)).toThrow('missing.json: no such file.');
    expect(() => requestFromFlags({ destinations: ['{"type":"http"}', '{'] }, dir)).toThrow(/^--destination #2 is not valid JSON/);
  });
});
