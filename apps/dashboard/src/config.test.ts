import { describe, expect, it } from 'vitest';
import { DEFAULT_DASHBOARD_PORT, loadDashboardConfig } from './config.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

describe('loadDashboardConfig', () => {
  it('refuses to start without logins, saying how to add them or how to run open on purpose', () => {
    expect(() => loadDashboardConfig({ REDIS_URL })).toThrow(/DASHBOARD_USERS: the dashboard will not start without logins.*DASHBOARD_AUTH=none/);
    expect(() => loadDashboardConfig({ REDIS_URL, DASHBOARD_USERS: '' })).toThrow(/DASHBOARD_USERS/);
  });

  it('runs open only with DASHBOARD_AUTH=none, given explicitly', () => {
    expect(loadDashboardConfig({ REDIS_URL, DASHBOARD_AUTH: 'none' }).auth).toEqual({ type: 'none' });
    expect(() => loadDashboardConfig({ REDIS_URL, DASHBOARD_AUTH: 'off' })).toThrow(/DASHBOARD_AUTH must be "basic" \(the default\) or "none"/);
  });

  it('reads logins, defaults to read-only on port 8082 under "/", and the upload-fleet prefix', () => {
    const config = loadDashboardConfig({ REDIS_URL, DASHBOARD_USERS: 'ops:correct-horse-battery, viewer:pass:with:colons' });
    expect(config).toEqual({
      redisUrl: REDIS_URL,
      redis: { url: REDIS_URL, prefix: 'upload-fleet' },
      redisPrefix: 'upload-fleet',
      poolShards: {},
      port: DEFAULT_DASHBOARD_PORT,
      host: '0.0.0.0',
      auth: { type: 'basic', users: [{ name: 'ops', password: 'correct-horse-battery' }, { name: 'viewer', password: 'pass:with:colons' }] },
      readOnly: true,
      basePath: '/',
      logLevel: 'info',
    });
    expect(DEFAULT_DASHBOARD_PORT).toBe(8082);
  });

  it('allows actions only with DASHBOARD_READ_ONLY=false', () => {
    const base = { REDIS_URL, DASHBOARD_USERS: 'ops:correct-horse-battery' };
    expect(loadDashboardConfig({ ...base, DASHBOARD_READ_ONLY: 'false' }).readOnly).toBe(false);
    expect(loadDashboardConfig({ ...base, DASHBOARD_READ_ONLY: 'true' }).readOnly).toBe(true);
    expect(loadDashboardConfig({ ...base, DASHBOARD_READ_ONLY: '' }).readOnly).toBe(true);
    expect(() => loadDashboardConfig({ ...base, DASHBOARD_READ_ONLY: 'nope' })).toThrow(/DASHBOARD_READ_ONLY must be true or false/);
  });

  it('lists every problem at once and never quotes a password', () => {
    let message = '';
    try {
      loadDashboardConfig({ DASHBOARD_USERS: 'ops:short-pw,,bad name:another-long-password,ops:hunter2-hunter2', DASHBOARD_PORT: 'eighty' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/REDIS_URL is required/);
    expect(message).toMatch(/DASHBOARD_PORT must be a whole number/);
    expect(message).toMatch(/entry 1 \(ops\): the password must be at least 12 characters/);
    expect(message).toMatch(/entry 2 is empty/);
    expect(message).toMatch(/entry 3: the name must be/);
    expect(message).toMatch(/entry 4 \(ops\): the name is listed twice/);
    for (const password of ['short-pw', 'another-long-password', 'hunter2-hunter2']) expect(message).not.toContain(password);
  });
});
