import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '@upload-fleet/testkit';

interface Report {
  /** Every listener counted a direct connection before the run. */
  reachable: boolean;
  connections: Record<string, number>;
  outcomes: { field: string; host: string; refusedAtSubmit: boolean; state: string; code: string | undefined; message?: string }[];
}

/**
 * The SSRF list (issue 13): in a network namespace of the test's own (`unshare -n`, root), where
 * 10.0.0.1 and 169.254.169.254 are loopback addresses with listeners that count connections
 * and nothing can leave the machine, uploads whose source URL, HTTP URL, S3 host, FTP host,
 * Facebook endpoint or callback_url
 * spell a private address 24 ways, and sources that redirect there, must reach no listener.
 * The fleet runs inside the namespace (in-namespace.ts), with a redis-server of its own.
 */
describe('private addresses in every URL and host field, in a network namespace of the test\'s own', () => {
  it('reach no listener: every upload fails with UF_BLOCKED_ADDRESS (or the schema refuses the host)', { timeout: 180_000 }, async () => {
    const script = join(repoRoot, 'packages/runtime/test/ssrf/in-namespace.ts');
    const setup = 'ip link set lo up && ip addr add 10.0.0.1/32 dev lo && ip addr add 169.254.169.254/32 dev lo';
    const child = spawn('unshare', ['-n', '--', 'sh', '-c', `${setup} && exec "${process.execPath}" --conditions=development --import tsx "${script}"`], {
      cwd: repoRoot,
      // in-namespace.ts starts a redis-server of its own; the run's shared one is outside the namespace.
      env: { ...process.env, TEST_REDIS_URL: 'redis://outside-the-namespace.invalid' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, `unshare -n (needs root) or the run inside failed:\n${stderr.slice(-3000)}`).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as Report;

    expect(report.reachable).toBe(true);
    expect(Object.values(report.connections).reduce((a, b) => a + b, 0), JSON.stringify(report.connections)).toBe(0);
    expect(report.outcomes.length).toBe(24 * 6 + 4);
    const unexpected = report.outcomes.filter((o) => !(o.state === 'failed' && o.code === 'UF_BLOCKED_ADDRESS') && !(o.state === 'invalid' && o.code === 'UF_INVALID_REQUEST'));
    expect(unexpected).toEqual([]);
    const refused = report.outcomes.filter((o) => o.refusedAtSubmit).length;
    const invalid = report.outcomes.filter((o) => o.state === 'invalid').length;
    console.info(`[ssrf] ${report.outcomes.length} uploads to private addresses: 0 connections to ${Object.keys(report.connections).length} listeners; ${refused} also refused at submit time, ${invalid} not a host at all (FTP host schema), the rest stopped by the worker's guard`);
  });
});
