import { describe, expect, it } from 'vitest';
import { SecretBox } from '@upload-fleet/core';
import { loadWorkerConfig } from './config.js';

const base = { ENCRYPTION_KEYS: `k1:${SecretBox.generateKey()}`, WEBHOOK_SECRET: 'a-webhook-secret-of-length' };

describe('loadWorkerConfig', () => {
  it('runs every available pool by default, each with the default concurrency unless overridden', () => {
    const config = loadWorkerConfig({ ...base, WORKER_CONCURRENCY_HTTP: '9' }, ['http', 's3'], '/srv');
    expect(config.pools).toEqual([
      { type: 'http', concurrency: 9 },
      { type: 's3', concurrency: 4 },
    ]);
    expect(config.sourceRoot).toBe('/srv/renders');
    expect(config.prefix).toBe('upload-fleet');
  });

  it('refuses a pool without an adapter, an unknown pool and bad values, listing every problem at once', () => {
    let message = '';
    try {
      loadWorkerConfig({ ...base, WORKER_POOLS: 'http,youtube,myspace', UPLOAD_MAX_ATTEMPTS: 'zero' }, ['http'], '/srv');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('UPLOAD_MAX_ATTEMPTS');
    const second = (() => {
      try {
        loadWorkerConfig({ ...base, WORKER_POOLS: 'http,youtube,myspace' }, ['http'], '/srv');
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(second).toContain('"youtube" destination has no adapter');
    expect(second).toContain('"myspace" is not a destination type');
  });

  it('requires ENCRYPTION_KEYS and WEBHOOK_SECRET and says how to make a key', () => {
    expect(() => loadWorkerConfig({}, ['http'])).toThrow(/ENCRYPTION_KEYS is required.*openssl rand -base64 32[\s\S]*WEBHOOK_SECRET/);
  });

  it('reads S3_PART_SIZE_MIB as MiB and refuses a part size S3 would not take, naming the setting', () => {
    expect(loadWorkerConfig(base, ['s3'], '/srv').destinations.s3.partSize).toBe(8 * 1024 * 1024);
    expect(loadWorkerConfig({ ...base, S3_PART_SIZE_MIB: '64', S3_PARTS_IN_FLIGHT: '8' }, ['s3'], '/srv').destinations.s3).toMatchObject({ partSize: 64 * 1024 * 1024, partsInFlight: 8 });
    for (const [value, problem] of [
      ['4', /S3_PART_SIZE_MIB must be at least 5 MiB \(allowed: from 5 to 5120; got 4\)/],
      ['5121', /S3_PART_SIZE_MIB must be at most 5120 MiB/],
      ['16MB', /S3_PART_SIZE_MIB must be a whole number of MiB/],
    ] as const) {
      expect(() => loadWorkerConfig({ ...base, S3_PART_SIZE_MIB: value }, ['s3'], '/srv'), value).toThrow(problem);
    }
  });
});
