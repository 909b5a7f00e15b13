import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiConfigSchema, loadApiConfig, loadApiServiceConfig } from './config.js';

const KEY_A = 'a'.repeat(16);
const KEY_B = 'b-key-0123456789abc';

describe('loadApiConfig', () => {
  it('applies the defaults: port 8080, host 0.0.0.0, body limit 1 MiB', () => {
    expect(loadApiConfig({ API_KEYS: KEY_A })).toEqual({
      port: 8080,
      host: '0.0.0.0',
      apiKeys: [{ name: 'default', key: KEY_A }],
      bodyLimitBytes: 1024 * 1024,
    });
  });

  it('parses name:key and bare key entries, trims them, and reads PORT, HOST and BODY_LIMIT_BYTES', () => {
    const config = loadApiConfig({ API_KEYS: ` render:${KEY_A} , ${KEY_B}, render:${KEY_A}x `, PORT: '3000', HOST: '127.0.0.1', BODY_LIMIT_BYTES: '65536' });
    expect(config).toEqual({
      port: 3000,
      host: '127.0.0.1',
      apiKeys: [
        { name: 'render', key: KEY_A },
        { name: 'default', key: KEY_B },
        { name: 'render', key: `${KEY_A}x` },
      ],
      bodyLimitBytes: 65536,
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadApiConfig({ API_KEYS: KEY_A, PORT: '', HOST: '', BODY_LIMIT_BYTES: '' }).port).toBe(8080);
  });

  it('reports every problem at once, naming entries without repeating keys', () => {
    let message = '';
    try {
      loadApiConfig({ API_KEYS: `ci:short-secret,bad name:${KEY_A},,ci2:${KEY_A}`, PORT: 'eighty', BODY_LIMIT_BYTES: '12' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid API configuration \(6 problems\)/);
    expect(message).toContain('PORT: PORT must be a whole number');
    expect(message).toContain('BODY_LIMIT_BYTES: BODY_LIMIT_BYTES must be at least 1024');
    expect(message).toContain('API_KEYS: entry 1 (ci): the key must be at least 16 characters');
    expect(message).toContain('API_KEYS: entry 2: the name must be');
    expect(message).toContain('API_KEYS: entry 3 is empty');
    expect(message).toContain('API_KEYS: entry 4 (ci2): the same key is listed twice');
    expect(message).not.toContain('short-secret');
    expect(message).not.toContain(KEY_A);
  });

  it('requires API_KEYS', () => {
    expect(() => loadApiConfig({})).toThrow(/API_KEYS: API_KEYS is required/);
    expect(apiConfigSchema.safeParse({ API_KEYS: ' , ' }).success).toBe(false);
  });
});

describe('loadApiServiceConfig', () => {
  const ENCRYPTION_KEYS = `k1:${randomBytes(32).toString('base64')}`;

  it('adds REDIS_URL, REDIS_PREFIX (default "upload-fleet") and ENCRYPTION_KEYS', () => {
    expect(loadApiServiceConfig({ API_KEYS: KEY_A, REDIS_URL: 'redis://127.0.0.1:6379', ENCRYPTION_KEYS })).toMatchObject({
      port: 8080,
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'upload-fleet',
      encryptionKeys: ENCRYPTION_KEYS,
    });
  });

  it('reads the OAuth clients of the connect flow and requires PUBLIC_BASE_URL with them', () => {
    const base = { API_KEYS: KEY_A, REDIS_URL: 'redis://127.0.0.1:6379', ENCRYPTION_KEYS };
    expect(loadApiServiceConfig(base).oauth).toEqual({});
    const config = loadApiServiceConfig({ ...base, DROPBOX_OAUTH_CLIENT_ID: 'appkey', DROPBOX_OAUTH_CLIENT_SECRET: 'appsecret', PUBLIC_BASE_URL: 'https://uploads.example.com/' });
    expect(config.oauth).toMatchObject({ publicBaseUrl: 'https://uploads.example.com', dropbox: { clientId: 'appkey', tokenUrl: 'https://api.dropboxapi.com/oauth2/token' } });
    expect(config.oauth.google).toBeUndefined();
    expect(() => loadApiServiceConfig({ ...base, GOOGLE_OAUTH_CLIENT_ID: 'id', GOOGLE_OAUTH_CLIENT_SECRET: 'secret' })).toThrow(/PUBLIC_BASE_URL is required when an OAuth client is configured/);
    expect(() => loadApiServiceConfig({ ...base, GOOGLE_OAUTH_CLIENT_ID: 'id', PUBLIC_BASE_URL: 'https://x.example' })).toThrow(/GOOGLE_OAUTH_CLIENT_SECRET is required/);
  });

  it('reports the API\'s and the shared settings\' problems together', () => {
    let message = '';
    try {
      loadApiServiceConfig({ REDIS_URL: 'localhost:6379', ENCRYPTION_KEYS: `k1:${randomBytes(16).toString('base64')}` });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('API_KEYS: API_KEYS is required');
    expect(message).toContain('REDIS_URL: REDIS_URL must be a redis:// or rediss:// URL');
    expect(message).toContain('ENCRYPTION_KEYS: Encryption key "k1" must be 32 bytes');
  });
});
