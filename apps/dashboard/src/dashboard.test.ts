import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DelayedError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger, uploadQueueName } from '@upload-fleet/core';
import { DESTINATION_TYPES } from '@upload-fleet/destinations/definitions';
import { dumpPrefix } from '@upload-fleet/testkit';
import { BASIC_CHALLENGE, BasicAuthMatcher, basicCredentialsOf } from './auth.js';
import { buildDashboard, startDashboard } from './dashboard.js';
import { ALL_QUEUES, OPS, PLANTED, asOps, basic, startDashboardHarness, type DashboardHarness } from './test-support.js';

let h: DashboardHarness;
let app: FastifyInstance;
beforeAll(async () => {
  h = await startDashboardHarness('dashboard');
  app = await h.dashboard();
});
afterAll(async () => {
  await h?.close();
});

interface QueuesAnswer {
  queues: { name: string; readOnlyMode: boolean; allowRetries: boolean; counts: Record<string, number>; jobs: { id: string; data: unknown; failedReason?: string; progress: unknown }[] }[];
}

const get = (url: string, headers: Record<string, string> = asOps) => app.inject({ method: 'GET', url, headers });

describe('authentication', () => {
  it('answers 401 with a Basic challenge without credentials, for the API and the page alike', async () => {
    for (const url of ['/api/queues', '/', '/queue/upload-s3', '/static/images/logo.svg', '/api/does-not-exist']) {
      const res = await get(url, {});
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['www-authenticate'], url).toBe(BASIC_CHALLENGE);
      expect(res.body).not.toContain('upload-s3"');
    }
  });

  it('answers 401 to a wrong password, an unknown user and malformed headers', async () => {
    const wrong = [
      basic(OPS.name, `${OPS.password.slice(0, -1)}X`),
      basic(OPS.name, ''),
      basic('root', OPS.password),
      `Bearer ${OPS.password}`,
      'Basic !!!',
      `Basic ${Buffer.from(`${OPS.name}${OPS.password}`).toString('base64')}`,
    ];
    for (const authorization of wrong) {
      const res = await get('/api/queues', { authorization });
      expect(res.statusCode, authorization).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    }
  });

  it('lets a configured login in: the queues API lists an upload queue per destination type and the webhook queue', async () => {
    const res = await get('/api/queues');
    expect(res.statusCode).toBe(200);
    const { queues } = res.json<QueuesAnswer>();
    expect(queues.map((q) => q.name).sort()).toEqual(ALL_QUEUES);
    expect(ALL_QUEUES).toHaveLength(DESTINATION_TYPES.length + 1);
    expect(queues.find((q) => q.name === 'upload-s3')?.counts.failed).toBe(1);
  });

  it('serves the Bull Board page and its assets to a logged-in browser; /healthz is open', async () => {
    const page = await get('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).toContain('upload-fleet');
    const health = await get('/healthz', {});
    expect(health.statusCode).toBe(200);
  });

  it('matches credentials only exactly, and parses only well-formed Basic headers', () => {
    const matcher = new BasicAuthMatcher([OPS, { name: 'second', password: 'another-password-1' }]);
    expect(matcher.match(basic(OPS.name, OPS.password))).toBe('ops');
    expect(matcher.match(basic('second', 'another-password-1'))).toBe('second');
    expect(matcher.match(basic('second', OPS.password))).toBeUndefined();
    expect(matcher.match(undefined)).toBeUndefined();
    expect(matcher.match([basic(OPS.name, OPS.password)])).toBeUndefined();
    expect(basicCredentialsOf(basic('a', 'b:c'))).toEqual({ name: 'a', password: 'b:c' });
    expect(() => new BasicAuthMatcher([])).toThrow(/at least one login/);
  });

  it('refuses to build with basic auth and no users, and runs open only when asked', async () => {
    expect(() => buildDashboard({ connection: h.connection, auth: { type: 'basic', users: [] } })).toThrow(/DASHBOARD_USERS/);
    const open = await h.dashboard({ auth: { type: 'none' } });
    const res = await open.inject({ method: 'GET', url: '/api/queues' });
    expect(res.statusCode).toBe(200);
  });
});

describe('no credential is ever shown', () => {
  /** Every answer the UI fetches for every queue and every planted job, as text. */
  async function everyAnswer(): Promise<{ url: string; status: number; body: string }[]> {
    const urls = ['/', '/api/queues', '/api/job-schedulers', '/api/redis/stats'];
    for (const queue of ALL_QUEUES) {
      for (const status of ['latest', 'failed', 'completed', 'waiting', 'prioritized', 'active', 'delayed']) {
        urls.push(`/api/queues?activeQueue=${queue}&status=${status}&page=1&jobsPerPage=50`);
      }
      urls.push(`/api/queues/${queue}/job-data-schema`, `/api/queues/${queue}/default-job-options`, `/api/queues/${queue}/workers`);
    }
    for (const job of [h.planted.failedS3, h.planted.completedHttp, h.planted.legacyFtp]) {
      const queue = job.queueName;
      urls.push(`/api/queues/${queue}/${job.id}`, `/api/queues/${queue}/${job.id}/logs`, `/api/queues/${queue}/${job.id}/flow`);
    }
    const answers = [];
    for (const url of urls) {
      const res = await get(url);
      answers.push({ url, status: res.statusCode, body: res.body });
    }
    return answers;
  }

  it('the planted secrets really are in Redis (in failedReason, stacktrace, logs, return value and a plaintext field)', async () => {
    const everything = [...(await dumpPrefix(h.redisUrl, h.prefix)).values()].join('\n');
    for (const value of Object.values(PLANTED)) expect(everything).toContain(value);
    expect(everything).toContain(h.planted.envelopeCiphertext);
  });

  it('appear in no answer of the dashboard: not the values, not the encrypted envelope', async () => {
    const answers = await everyAnswer();
    expect(answers.filter((a) => a.status !== 200).map((a) => `${a.url} -> ${a.status}`)).toEqual([]);
    const forbidden = [...Object.values(PLANTED), h.planted.envelopeCiphertext];
    for (const { url, body } of answers) {
      for (const value of forbidden) expect(body, `${url} shows ${value}`).not.toContain(value);
    }
  });

  it('still shows what an operator needs: ids, tokens, state, progress, the failure with its secrets replaced', async () => {
    const s3 = await get(`/api/queues/upload-s3/${h.planted.failedS3.id}`);
    const { job, status } = s3.json<{ job: { id: string; data: Record<string, unknown>; failedReason: string; stacktrace: string[]; progress: unknown; isFailed: boolean }; status: string }>();
    expect(status).toBe('failed');
    expect(job.id).toBe(h.planted.failedS3.id);
    expect(job.data.token).toBe(h.planted.s3Token);
    expect(job.data.secrets).toBe('[REDACTED]');
    expect(job.data.destination).toMatchObject({ type: 's3', bucket: 'my-videos' });
    expect(job.data.destination).not.toHaveProperty('aws_access_key_id');
    expect(job.progress).toEqual({ progress: 50, bytes_sent: 5, bytes_total: 10 });
    expect(job.failedReason).toContain('SignatureDoesNotMatch');
    expect(job.failedReason).toContain('password: [REDACTED]');
    expect(job.failedReason).toContain('Bearer [REDACTED]');
    expect(job.failedReason).toContain('https://[REDACTED]@files.example.com/a.mp4?X-Amz-Signature=[REDACTED]');
    expect(job.stacktrace.join('\n')).toContain('[REDACTED]');

    const logs = await get(`/api/queues/upload-s3/${h.planted.failedS3.id}/logs`);
    const lines = logs.json<string[]>();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('Authorization: Bearer [REDACTED]');
    expect(lines[1]).toContain('aws_secret_access_key=[REDACTED]');
    expect(lines[2]).toBe('InvalidAccessKeyId: the key [REDACTED] is not known');

    const http = await get(`/api/queues/upload-http/${h.planted.completedHttp.id}`);
    const returned = http.json<{ job: { returnValue: Record<string, unknown> } }>().job.returnValue;
    expect(returned).toMatchObject({ bytes: 10, status: 200, headers: '[REDACTED]' });
    expect(returned.url).toBe('https://[REDACTED]@files.example.com/v.mp4?sig=[REDACTED]&sv=2024');

    const ftp = await get(`/api/queues/upload-ftp/${h.planted.legacyFtp.id}`);
    const destination = ftp.json<{ job: { data: { destination: Record<string, unknown> } } }>().job.data.destination;
    expect(destination).toEqual({ type: 'ftp', host: 'ftp.example.com', user: 'bob', password: '[REDACTED]', key: '[REDACTED]' });
  });
});

describe('Bull Board draws what the fleet stores', () => {
  type JobAnswer = { job: { progress: unknown; delay: number; timestamp: number; opts: { delay?: number }; stacktrace: string[]; failedReason: string } };

  it('a progress bar: the percentage beside the bytes, as Bull Board needs a numeric progress', async () => {
    const { job } = (await get(`/api/queues/upload-s3/${h.planted.failedS3.id}`)).json<JobAnswer>();
    expect(job.progress).toEqual({ progress: 50, bytes_sent: 5, bytes_total: 10 });
    // The status API still reads the stored object.
    expect(await h.producer.queue('s3').getJob(h.planted.failedS3.id!).then((j) => j?.progress)).toEqual({ bytes_sent: 5, bytes_total: 10 });
  });

  it('stack traces without server paths: file names and line numbers only', async () => {
    const stored = (await h.producer.queue('s3').getJob(h.planted.failedS3.id!))!.stacktrace!.join('\n');
    expect(stored).toContain(process.cwd());
    const { job } = (await get(`/api/queues/upload-s3/${h.planted.failedS3.id}`)).json<JobAnswer>();
    const shown = job.stacktrace.join('\n');
    expect(shown).not.toContain(process.cwd());
    expect(shown).not.toMatch(/\(\/|file:\/\//);
    expect(shown).toMatch(/test-support\.ts:\d+:\d+/);
  });

  it('a deferred job (moveToDelayed, as the runtime defers) shows its real run time, not "delay changed"', async () => {
    const { token } = await h.producer.enqueue({
      source: { url: 'https://media.example.com/renders/welcome.mp4' },
      upload: { destination: { type: 'dropbox', filename: 'welcome.mp4', oauth_token: 'sl.planted-dropbox-token-123' } },
    });
    const runAt = Date.now() + 3_600_000;
    const connection = new Redis(h.redisUrl, { maxRetriesPerRequest: null });
    const deferred = new Promise<void>((resolve) => {
      const worker = new Worker(
        uploadQueueName('dropbox'),
        async (job, jobToken) => {
          // Created a while before it runs, as a queued job is.
          await job.moveToDelayed(runAt, jobToken);
          setImmediate(() => void worker.close().then(() => resolve()));
          throw new DelayedError();
        },
        { connection, prefix: h.prefix },
      );
    });
    await deferred;
    connection.disconnect();
    const { job } = (await get(`/api/queues/upload-dropbox/${token}-0`)).json<JobAnswer>();
    expect(job.opts.delay).toBe(job.delay);
    expect(Math.abs(job.timestamp + job.delay - runAt)).toBeLessThan(2);
    const listed = (await get('/api/queues?activeQueue=upload-dropbox&status=delayed&page=1&jobsPerPage=10')).json<QueuesAnswer>();
    const inList = listed.queues.find((q) => q.name === 'upload-dropbox')!.jobs.find((j) => j.id === `${token}-0`) as unknown as JobAnswer['job'];
    expect(inList.opts.delay).toBe(inList.delay);
  });
});

describe('actions', () => {
  it('read-only (the default) refuses retry, clean, promote and every other change, and changes nothing', async () => {
    const { job } = await h.failedDelivery();
    const attempts = [
      ['PUT', `/api/queues/upload-s3/${job.id}/retry`],
      ['PUT', '/api/queues/upload-s3/retry/failed'],
      ['PUT', `/api/queues/upload-s3/${job.id}/clean`],
      ['PUT', '/api/queues/upload-s3/clean/failed'],
      ['PUT', '/api/queues/upload-s3/promote'],
      ['PUT', '/api/queues/upload-s3/pause'],
      ['POST', '/api/queues/upload-s3/add'],
    ] as const;
    for (const [method, url] of attempts) {
      const res = await app.inject({ method, url, headers: asOps, payload: method === 'POST' ? { name: 'x', data: {} } : undefined });
      expect([403, 405], `${method} ${url}`).toContain(res.statusCode);
    }
    expect(await h.producer.queue('s3').getJob(job.id!).then((j) => j?.getState())).toBe('failed');
    const { queues } = (await get('/api/queues')).json<QueuesAnswer>();
    for (const q of queues) expect(q).toMatchObject({ readOnlyMode: true, allowRetries: false });
  });

  it('DASHBOARD_READ_ONLY=false allows retry: the job runs again with fresh attempts and the delivery is reopened', async () => {
    const writable = await h.dashboard({ readOnly: false });
    const { token, job } = await h.failedDelivery();
    expect((await h.producer.get(token)).state).toBe('failed');

    const res = await writable.inject({ method: 'PUT', url: `/api/queues/upload-s3/${job.id}/retry`, headers: asOps });
    expect(res.statusCode).toBe(204);
    const again = (await h.producer.queue('s3').getJob(job.id!))!;
    expect(await again.getState()).toBe('prioritized');
    expect(again.attemptsMade).toBe(0);
    const status = await h.producer.get(token);
    expect(status.state).toBe('pending');
    expect(status.uploads[0]?.state).toBe('queued');
  });

  it('DASHBOARD_READ_ONLY=false allows clean of ended jobs, and still refuses what would lose data or deliver twice', async () => {
    const writable = await h.dashboard({ readOnly: false });
    const { job } = await h.failedDelivery();
    const refused = [
      ['PUT', `/api/queues/upload-http/${h.planted.completedHttp.id}/retry`],
      ['PUT', '/api/queues/upload-http/retry/completed'],
      ['PUT', '/api/queues/upload-s3/clean/wait'],
      ['PUT', `/api/queues/upload-ftp/${h.planted.legacyFtp.id}/clean`],
      ['PATCH', `/api/queues/upload-s3/${job.id}/update-data`],
      ['POST', '/api/queues/upload-s3/add'],
      ['PUT', '/api/queues/upload-s3/pause'],
      ['PUT', '/api/queues/upload-s3/empty'],
      ['PUT', '/api/queues/upload-s3/obliterate'],
    ] as const;
    for (const [method, url] of refused) {
      const res = await writable.inject({ method, url, headers: asOps, payload: { name: 'x', data: { secrets: '[REDACTED]' } } });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    expect(await h.producer.queue('ftp').getJob(h.planted.legacyFtp.id!).then((j) => j?.getState())).toBe('waiting');

    const clean = await writable.inject({ method: 'PUT', url: `/api/queues/upload-s3/${job.id}/clean`, headers: asOps });
    expect(clean.statusCode).toBe(204);
    expect(await h.producer.queue('s3').getJob(job.id!)).toBeUndefined();
    const { queues } = (await writable.inject({ method: 'GET', url: '/api/queues', headers: asOps })).json<QueuesAnswer>();
    for (const q of queues) expect(q).toMatchObject({ readOnlyMode: false, allowRetries: true });
  });
});

describe('startDashboard', () => {
  it('listens, serves over real HTTP with Basic auth, and closes its own Redis connection', async () => {
    const running = await startDashboard({
      redisUrl: h.redisUrl,
      redisPrefix: h.prefix,
      port: 0,
      host: '127.0.0.1',
      auth: { type: 'basic', users: [OPS] },
      readOnly: true,
      basePath: '/dashboard',
      logger: createLogger({ level: 'silent' }),
    });
    try {
      expect(running.url).toMatch(/^http:\/\/localhost:\d+\/dashboard\/$/);
      const denied = await fetch(`${running.url}api/queues`);
      expect(denied.status).toBe(401);
      const res = await fetch(`${running.url}api/queues`, { headers: asOps });
      expect(res.status).toBe(200);
      const { queues } = (await res.json()) as QueuesAnswer;
      expect(queues.map((q) => q.name).sort()).toEqual(ALL_QUEUES);
      const page = await fetch(running.url, { headers: asOps });
      expect(await page.text()).toContain('/dashboard/');
    } finally {
      await running.close();
    }
  });
});
