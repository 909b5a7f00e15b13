import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { apacheWebdavUnavailable, repoRoot, sshdUnavailable, startInPty, until } from '@upload-fleet/testkit';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
// SFTP's sshd and WebDAV's Apache need root; the demo leaves them out (and says so) where they cannot start.
const TYPES = [
  's3', 'azureblob', 'youtube', 'facebook', 'dropbox', 'http', 'ftp', 'mux', 'vimeo', 'gcs', 'googledrive', 'tiktok',
  ...(sshdUnavailable ? [] : ['sftp']),
  ...(apacheWebdavUnavailable ? [] : ['webdav']),
];
/** The S3-compatible providers the demo delivers to besides Amazon's S3, as the result lines name them. */
const S3_PROVIDERS = ['s3:minio', 's3:r2'];

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
    const results = new Map([...stdout.matchAll(/^result ([\w:]+) (\w+) (.*)$/gm)].map((m) => [m[1]!, { state: m[2]!, where: m[3]! }]));
    expect({ code, results: Object.fromEntries(results), stderr }).toMatchObject({ code: 0 });
    for (const type of [...TYPES, ...S3_PROVIDERS]) expect(results.get(type), `${type} in:\n${stdout}`).toMatchObject({ state: 'completed' });
    expect(results.get('s3')!.where).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/demo\/renders\/welcome\.mp4$/);
    expect(results.get('s3:minio')!.where).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/demo\/minio\/welcome\.mp4$/);
    expect(results.get('s3:r2')!.where).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/demo\/r2\/welcome\.mp4$/);
    expect(results.get('youtube')!.where).toMatch(/^https:\/\/www\.youtube\.com\/watch\?v=/);
    expect(results.get('dropbox')!.where).toBe('dropbox:/renders/welcome.mp4');
    expect(results.get('mux')!.where).toMatch(/^https:\/\/stream\.mux\.com\/\w+\.m3u8$/);
    expect(results.get('vimeo')!.where).toMatch(/^https:\/\/vimeo\.com\/\d+$/);
    expect(results.get('gcs')!.where).toMatch(/\/renders\/welcome\.mp4$/);
    expect(results.get('tiktok')!.where).toMatch(/^https:\/\/www\.tiktok\.com\/@\w+\/video\/\d{19}$/);
    expect(results.get('googledrive')!.where).toMatch(/^https:\/\/drive\.google\.com\/file\/d\/[\w-]+\/view/);
    const uploads = TYPES.length + S3_PROVIDERS.length;
    expect(stdout).toContain(`demo finished: ${uploads} of ${uploads} uploads completed`);
    // Live progress: every upload was seen active, and the dashboard is announced with its login.
    for (const type of TYPES) expect(stdout).toMatch(new RegExp(`\\[\\d+ ${type}\\]\\s+active`));
    expect(stdout).toMatch(/^Dashboard: http:\/\/localhost:\d+\/ {2}\(login: admin \/ \S+\)$/m);
  }, 60_000);
});

/** Pids of the redis-server processes working in a folder under `root` (redis-server runs in its --dir). */
function redisServersUnder(root: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'redis-server' && readlinkSync(`/proc/${pid}/cwd`).startsWith(root);
      } catch {
        return false; // gone meanwhile, or not ours to read
      }
    })
    .map(Number);
}

describe('pnpm demo in a terminal', () => {
  it('drains on Ctrl-C: the active uploads are handed back, then its redis-server stops', async () => {
    // Its temporary folders (Redis' among them) under one of this test's: what runs there is the demo's.
    const tmp = mkdtempSync(join(tmpdir(), 'upload-fleet-demo-test-'));
    const script = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.demo!;
    // A grace period shorter than an upload (about 2 s each), so they are handed back rather than finished, and long enough that a stand-in killed by the Ctrl-C would fail one.
    const env: Record<string, string | undefined> = { ...process.env, TMPDIR: tmp, LOG_LEVEL: 'warn', SHUTDOWN_GRACE_MS: '1000' };
    delete env.REDIS_URL;
    const demo = startInPty(script.split('&&').at(-1)!.trim().split(/\s+/), { cwd: repoRoot, env });
    try {
      await until('an upload to be active', () => /\[\d+ \w+\]\s+active/.test(demo.output()) || demo.child.exitCode !== null);
      expect(redisServersUnder(tmp)).toHaveLength(1);
      demo.interrupt();
      expect(await demo.exited, demo.output()).toBe(0);
      expect(demo.output()).toContain('handed back to the queue');
      // No stand-in died under the drain (the terminal's SIGINT reaches only the demo).
      expect(demo.output()).not.toMatch(/"code":"UF_NETWORK"/);
      expect(redisServersUnder(tmp)).toEqual([]);
    } finally {
      demo.child.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});
