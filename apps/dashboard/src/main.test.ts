import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the entrypoint as `pnpm --filter @upload-fleet/dashboard start` would; stops it once `until` matches its output. */
function runMain(env: Record<string, string>, until?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Plain node with tsx as a loader, as the start script runs it: tsx's CLI relay kills a
    // child that takes a moment to close after SIGTERM.
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', main], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const check = () => {
      if (until && until.test(stdout + stderr)) child.kill('SIGTERM');
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      check();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      check();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('main.ts', () => {
  it('refuses to start without DASHBOARD_USERS, and says how to fix it', async () => {
    const run = await runMain({ REDIS_URL: testRedisUrl() });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Invalid dashboard configuration');
    expect(run.stderr).toContain('set DASHBOARD_USERS');
    expect(run.stderr).toContain('DASHBOARD_AUTH=none');
    expect(run.stdout).not.toContain('dashboard listening');
  });

  it('starts open only with DASHBOARD_AUTH=none, says so in its log, and stops cleanly on SIGTERM', async () => {
    const prefix = uniquePrefix('dashboard-main');
    try {
      const run = await runMain({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix, DASHBOARD_AUTH: 'none', DASHBOARD_PORT: '0', DASHBOARD_HOST: '127.0.0.1' }, /dashboard listening/);
      expect(run.stdout).toContain('the dashboard is open to anyone');
      expect(run.stdout).toMatch(/"url":"http:\/\/localhost:\d+\/"/);
      expect(run.code).toBe(0);
    } finally {
      await deletePrefix(testRedisUrl(), prefix);
    }
  });
});
