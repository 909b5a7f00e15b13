import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const TYPES = ['s3', 'azureblob', 'youtube', 'facebook', 'dropbox', 'http', 'ftp', 'gcs'];

/** Runs `pnpm demo --exit` as its own process (node with tsx as a loader) and answers its exit code and output. */
function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Its own Redis and stand-ins: nothing of the test run's environment leaks in.
    const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'warn' };
    delete env.REDIS_URL;
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', main, '--exit'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 55_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('pnpm demo --exit', () => {
  it('delivers one file to every destination and prints each result', async () => {
    const { code, stdout, stderr } = await runDemo();
    const results = new Map([...stdout.matchAll(/^result (\w+) (\w+) (.*)$/gm)].map((m) => [m[1]!, { state: m[2]!, where: m[3]! }]));
    expect({ code, results: Object.fromEntries(results), stderr }).toMatchObject({ code: 0 });
    for (const type of TYPES) expect(results.get(type), `${type} in:\n${stdout}`).toMatchObject({ state: 'completed' });
    expect(results.get('s3')!.where).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/demo\/renders\/welcome\.mp4$/);
    expect(results.get('youtube')!.where).toMatch(/^https:\/\/www\.youtube\.com\/watch\?v=/);
    expect(results.get('dropbox')!.where).toBe('dropbox:/renders/welcome.mp4');
    expect(stdout).toContain(`demo finished: ${TYPES.length} of ${TYPES.length} uploads completed`);
    // Live progress: every upload was seen active, and the dashboard is announced with its login.
    for (const type of TYPES) expect(stdout).toMatch(new RegExp(`\\[\\d ${type}\\]\\s+active`));
    expect(stdout).toMatch(/^Dashboard: http:\/\/localhost:\d+\/ {2}\(login: admin \/ \S+\)$/m);
  }, 60_000);
});
