import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, until } from '@upload-fleet/testkit';
import { KEY, startCliHarness, type CliHarness } from './test-support.js';

let h: CliHarness;
beforeAll(async () => {
  h = await startCliHarness('cli');
});
afterAll(async () => {
  await h?.close();
});

const TOKEN = /^dlv_[A-Za-z0-9_-]+$/m;

/** An S3 upload: no S3 pool runs in the harness, so it stays queued (cancel and status have something to act on). */
const queuedRequest = () => ({
  source: { url: 'https://media.example.com/renders/welcome.mp4' },
  upload: { extension: 'mp4', destination: { type: 's3', bucket: 'my-videos', filename: 'welcome.mp4', aws_use_policy: true } },
});

const httpDestination = (path = '/upload') => ({ type: 'http', url: `${h.receiver.url}${path}`, filename: 'welcome.mp4' });

describe('submit', () => {
  it('a file that is not JSON: exit 1, says where the mistake is, sends nothing', async () => {
    const file = h.writeFile('broken.json', '{ "source": { "path": "a.mp4" }, }');
    const run = await h.cli(['submit', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('broken.json is not valid JSON');
    expect(run.stdout).toBe('');
  });

  it('an invalid request: exit 1 with every problem listed by field path', async () => {
    const file = h.writeFile('invalid.json', JSON.stringify({ source: { path: '' }, upload: { destination: { type: 's3', bucket: '', filename: 'x.mp4', colour: 'red' } } }));
    const run = await h.cli(['submit', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: The request is invalid \(\d+ problems/m);
    expect(run.stderr).toContain('  - source');
    expect(run.stderr).toMatch(/ {2}- upload\.destination\.bucket: /);
    expect(run.stderr).toContain('  - upload.destination.colour: unknown field "colour"');
    expect(run.stdout).toBe('');
  });

  it('a valid request file: prints the token (alone on standard output), exit 0', async () => {
    const file = h.writeFile('valid.json', JSON.stringify(queuedRequest()));
    const run = await h.cli(['submit', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(TOKEN);
    expect(run.stderr).toContain('1 upload (s3)');
  });

  it('reads the request from standard input with "-", and prints the API answer with --json', async () => {
    const run = await h.cli(['submit', '-', '--json'], { stdin: JSON.stringify(queuedRequest()) });
    expect(run.code, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout) as { token: string; uploads: { type: string; state: string }[] };
    expect(answer.token).toMatch(TOKEN);
    expect(answer.uploads).toEqual([expect.objectContaining({ type: 's3', state: 'queued' })]);
  });

  it('builds the request from flags: several --destination become "uploads"; problems come back by path', async () => {
    const ok = await h.cli([
      'submit',
      '--source-url', 'https://media.example.com/renders/welcome.mp4',
      '--destination', JSON.stringify(queuedRequest().upload.destination),
      '--destination', `@${h.writeFile('dest.json', JSON.stringify({ ...queuedRequest().upload.destination, filename: 'b.mp4' }))}`,
      '--extension', 'mp4',
      '--idempotency-key', `cli-flags-${Date.now()}`,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toMatch(TOKEN);
    expect(ok.stderr).toContain('2 uploads (s3, s3)');

    const bad = await h.cli(['submit', '--source-path', 'a.mp4', '--destination', '{"type":"ftp"}', '--destination', '{not json']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--destination #2 is not valid JSON');

    const invalid = await h.cli(['submit', '--source-path', 'a.mp4', '--destination', '{"type":"ftp"}', '--callback-url', 'not-a-url']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/ {2}- upload\.destination\.host: /);
    expect(invalid.stderr).toMatch(/ {2}- callback_url: /);
  });

  it('wrong usage exits 2 with a hint', async () => {
    for (const args of [['submit'], ['frobnicate'], ['status'], ['submit', 'a.json', '--source-path', 'x'], ['status', 'dlv_x', '--colour']]) {
      const run = await h.cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('upload-fleet --help');
    }
    const help = await h.cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: upload-fleet <command>');
  });
});

describe('status and cancel', () => {
  it('status shows each upload; cancel cancels what has not started; a second cancel has nothing to do', async () => {
    const submitted = await h.cli(['submit', h.writeFile('to-cancel.json', JSON.stringify(queuedRequest()))]);
    const token = submitted.stdout.trim();

    const status = await h.cli(['status', token]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`${token}  pending`);
    expect(status.stdout).toContain('#0 s3  queued');

    const json = await h.cli(['status', token, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ token, state: 'pending', uploads: [{ index: 0, type: 's3', state: 'queued' }] });

    const cancel = await h.cli(['cancel', token]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stderr).toContain('Cancelled upload #0.');

    const after = await h.cli(['status', token]);
    expect(after.stdout).toContain(`${token}  cancelled`);
    expect(after.code).toBe(1);

    const again = await h.cli(['cancel', token]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('nothing to cancel');
  });

  it('an unknown token: exit 1 with the API message', async () => {
    const run = await h.cli(['status', 'dlv_doesnotexist']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('No delivery with token "dlv_doesnotexist" exists');
  });

  it('without a key in flags or environment it reads .data/api-key, as `pnpm start` writes it', async () => {
    const file = h.writeFile('keyless.json', JSON.stringify(queuedRequest()));
    const denied = await h.cli(['submit', file], { env: { UPLOAD_FLEET_API_KEY: '' } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('An API key is required');
    expect(denied.stderr).toContain('set UPLOAD_FLEET_API_KEY or --api-key');

    mkdirSync(join(h.workDir, '.data'), { recursive: true });
    writeFileSync(join(h.workDir, '.data', 'api-key'), `${KEY.key}\n`);
    const accepted = await h.cli(['submit', file], { env: { UPLOAD_FLEET_API_KEY: '' } });
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout.trim()).toMatch(TOKEN);

    const wrongFlag = await h.cli(['status', accepted.stdout.trim(), '--api-key', 'not-the-key-1234567']);
    expect(wrongFlag.code).toBe(1);
    expect(wrongFlag.stderr).toContain('(API key used: from --api-key)');
    expect(wrongFlag.stderr).not.toContain('not-the-key-1234567');
  });

  it('an API that is not there: exit 1, says where it looked', async () => {
    const port = await freePort();
    const run = await h.cli(['status', 'dlv_x'], { env: { UPLOAD_FLEET_API_URL: `http://127.0.0.1:${port}` } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Cannot reach the upload-fleet API at http://127.0.0.1:${port} (ECONNREFUSED)`);
  });
});

describe('--wait', () => {
  it('follows a real upload: progress lines with bytes, rate and ETA, then the file URL; exit 0', async () => {
    // Big and slow enough that socket buffers cannot swallow it: ~4 s, a progress report a
    // second. The worker writes a file in 4 MiB steps and loopback buffers hold several MiB,
    // so the file is many steps larger than what the buffers take at once.
    const size = 32 * 1024 * 1024;
    const source = h.writeSource('progress.mp4', size);
    h.receiver.setThrottle(8 * 1024 * 1024);
    try {
      const run = await h.cli(['submit', '--source-path', source, '--destination', JSON.stringify(httpDestination('/in/progress')), '--wait']);
      expect(run.code, run.stderr).toBe(0);
      const [token, ...result] = run.stdout.trim().split('\n');
      expect(token).toMatch(TOKEN);
      expect(result.join('\n')).toContain(`${token}  completed`);
      expect(result.join('\n')).toContain(`#0 http  completed  ${h.receiver.url}/in/progress`);
      // Standard error is not a terminal here: plain lines, one per change.
      const progress = run.stderr.split('\n').filter((line) => /^#0 http +active {2}[\d.]+ (B|KiB|MiB) \/ 32\.0 MiB \(\d+%\) {2}.+\/s {2}ETA (--|\d\S*)$/.test(line));
      expect(progress.length, run.stderr).toBeGreaterThanOrEqual(2);
      expect(progress.some((line) => /\d MiB\/s {2}ETA \d/.test(line)), run.stderr).toBe(true);
      expect(run.stderr).toMatch(/#0 http +completed/);
      expect(h.receiver.requests.at(-1)?.fileSize).toBe(size);
    } finally {
      h.receiver.setThrottle(0);
    }
  });

  it('a delivery that fails: exit 1 with the error code and message', async () => {
    const source = h.writeSource('refused.mp4', 64 * 1024);
    h.receiver.setFaults([{ status: 403, body: 'forbidden' }]);
    const run = await h.cli(['submit', '--source-path', source, '--destination', JSON.stringify(httpDestination('/in/refused')), '--wait']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/#0 http {2}failed {2}\[UF_[A-Z_]+\] /);
    // A permanent failure is not retried: no "attempt 1 of 5" promising four more.
    expect(run.stdout).toContain('(after 1 attempt; not retried: retrying would fail the same way)');
    expect(run.stdout + run.stderr).not.toMatch(/attempt 1 of/);
    expect(run.stderr).toMatch(/^error: delivery dlv_\S+ failed\.$/m);
    expect(run.stderr).toMatch(/#0 http failed: \[UF_[A-Z_]+\] .*403/);

    // retry re-queues it; this time the receiver accepts, and --wait follows it to the end.
    const token = run.stdout.split('\n')[0]!;
    const retried = await h.cli(['retry', token, '--wait']);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toContain('Re-queued upload #0.');
    expect(retried.stdout).toContain(`${token}  completed`);
  });
});

describe('list and replay-webhook', () => {
  it('list shows your deliveries newest first, filtered, a page at a time', async () => {
    const queued = (await h.cli(['submit', h.writeFile('list-queued.json', JSON.stringify(queuedRequest()))])).stdout.trim();
    const source = h.writeSource('list.mp4', 32 * 1024);
    const done = await h.cli(['submit', '--source-path', source, '--destination', JSON.stringify(httpDestination('/in/list')), '--wait']);
    expect(done.code, done.stderr).toBe(0);
    const completed = done.stdout.split('\n')[0]!;

    const newest = await h.cli(['list', '--limit', '2']);
    expect(newest.code, newest.stderr).toBe(0);
    const rows = newest.stdout.trim().split('\n');
    expect(rows[0]).toMatch(new RegExp(`^${completed} {2}completed +\\S+ {2}1 upload \\(http\\)$`));
    expect(rows[1]).toMatch(new RegExp(`^${queued} {2}pending `));
    const cursor = /--cursor (\S+)/.exec(newest.stderr)?.[1];
    expect(cursor, newest.stderr).toBeDefined();
    const next = await h.cli(['list', '--limit', '2', '--cursor', cursor!]);
    expect(next.stdout).not.toContain(completed);
    expect(next.stdout).not.toContain(queued);

    const onlyS3 = await h.cli(['list', '--type', 's3', '--state', 'pending', '--json']);
    const page = JSON.parse(onlyS3.stdout) as { deliveries: { token: string; uploads: { type: string }[] }[] };
    expect(page.deliveries.map((d) => d.token)).toContain(queued);
    expect(page.deliveries.every((d) => d.uploads.some((u) => u.type === 's3'))).toBe(true);

    const bad = await h.cli(['list', '--state', 'done']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ {2}- state\.0: state must be one or more of pending/);
    expect((await h.cli(['status', completed, '--state', 'failed'])).code).toBe(2);
  });

  it('replay-webhook sends a finished delivery\'s webhook again; an unfinished one is refused', async () => {
    const source = h.writeSource('replay.mp4', 16 * 1024);
    const done = await h.cli(['submit', '--source-path', source, '--destination', JSON.stringify(httpDestination('/in/replay')), '--callback-url', `${h.receiver.url}/hooks`, '--wait']);
    expect(done.code, done.stderr).toBe(0);
    const token = done.stdout.split('\n')[0]!;
    const hooks = () => h.receiver.requests.filter((r) => r.path === '/hooks' && r.headers['upload-fleet-delivery'] === token && r.complete).length;
    await until('the first webhook', () => (hooks() === 1 ? true : undefined));

    const replay = await h.cli(['replay-webhook', token]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stderr).toContain(`Queued the webhook of ${token} again`);
    await until('the replayed webhook', () => (hooks() === 2 ? true : undefined));

    const queued = (await h.cli(['submit', h.writeFile('replay-queued.json', JSON.stringify({ ...queuedRequest(), callback_url: `${h.receiver.url}/hooks` }))])).stdout.trim();
    const refused = await h.cli(['replay-webhook', queued]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`error: The delivery "${queued}" is pending`);
  });
});
