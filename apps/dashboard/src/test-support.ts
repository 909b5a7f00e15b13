/**
 * Test support (not exported by the package): jobs with credentials planted in every
 * place the dashboard shows, on the test Redis under a prefix of their own.
 */
import { randomBytes } from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { SecretBox, WEBHOOK_QUEUE, createLogger, uploadQueueName } from '@upload-fleet/core';
import { DESTINATION_TYPES, type DestinationType } from '@upload-fleet/destinations/definitions';
import { Producer } from '@upload-fleet/producer';
import { deletePrefix, testRedisUrl, uniquePrefix } from '@upload-fleet/testkit';
import type { DashboardUser } from './config.js';
import { buildDashboard, type BuildDashboardOptions } from './dashboard.js';

export const OPS: DashboardUser = { name: 'ops', password: 'ops-password-7f3a9c' };
export const asOps = { authorization: basic(OPS.name, OPS.password) };

export function basic(name: string, password: string): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

/** Every queue the dashboard must list. */
export const ALL_QUEUES = [...DESTINATION_TYPES.map(uploadQueueName), WEBHOOK_QUEUE].sort();

/** Values that must never appear in an answer of the dashboard. */
export const PLANTED = {
  bearer: 'abc123secret',
  password: 'hunter2-secret',
  s3SecretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  userinfo: 'pa55-userinfo-secret',
  queryToken: 'qsSECRET0123token',
  azureKey: 'azure-account-key-0123456789==',
  s3KeyId: 'AKIAPLANTEDKEYID0001',
};

export interface PlantedJobs {
  /** Failed S3 upload: secrets in its (encrypted) data, failedReason, stacktrace and logs. */
  failedS3: Job;
  /** Completed HTTP upload: secrets in its return value. */
  completedHttp: Job;
  /** A job written without the producer: a plaintext secret field in its data. */
  legacyFtp: Job;
  /** The encrypted envelope of the S3 upload, as stored: its ciphertext must not be shown either. */
  envelopeCiphertext: string;
  s3Token: string;
}

export interface DashboardHarness {
  redisUrl: string;
  prefix: string;
  connection: Redis;
  producer: Producer;
  planted: PlantedJobs;
  /** A dashboard on this harness's prefix (closed by `close`). */
  dashboard(options?: Partial<BuildDashboardOptions>): Promise<ReturnType<typeof buildDashboard>>;
  /** A one-upload S3 delivery whose upload failed for good, with its final record written as the worker would. */
  failedDelivery(): Promise<{ token: string; job: Job }>;
  close(): Promise<void>;
}

export async function startDashboardHarness(name: string): Promise<DashboardHarness> {
  const redisUrl = testRedisUrl();
  const prefix = uniquePrefix(name);
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const producer = new Producer({ connection, prefix, secretBox: new SecretBox([{ id: 'test', key: randomBytes(32) }]) });
  const apps: ReturnType<typeof buildDashboard>[] = [];
  const extraQueues: Queue[] = [];

  const s3 = await producer.enqueue({
    source: { url: 'https://media.example.com/renders/welcome.mp4' },
    upload: {
      extension: 'mp4',
      destination: { type: 's3', bucket: 'my-videos', filename: 'welcome.mp4', aws_access_key_id: PLANTED.s3KeyId, aws_secret_access_key: PLANTED.s3SecretKey },
    },
  });
  const http = await producer.enqueue({
    source: { url: 'https://media.example.com/renders/welcome.mp4' },
    upload: {
      destination: { type: 'http', url: 'https://upload.example.com/in', filename: 'welcome.mp4', user: 'bob', headers: { Authorization: `Bearer ${PLANTED.bearer}` }, password: PLANTED.password },
    },
  });
  const s3Job = (await producer.queue('s3').getJob(s3.uploads[0]!.job_id))!;
  const envelopeCiphertext = s3Job.data.secrets!.data;

  await runOnce('s3', async (job) => {
    await job.log(`PUT https://my-videos.s3.amazonaws.com/welcome.mp4 with Authorization: Bearer ${PLANTED.bearer}`);
    await job.log(`retrying with password: ${PLANTED.password} and aws_secret_access_key=${PLANTED.s3SecretKey}`);
    await job.log(`InvalidAccessKeyId: the key ${PLANTED.s3KeyId} is not known`);
    await job.updateProgress({ bytes_sent: 5, bytes_total: 10 });
    throw new UnrecoverableError(
      `SignatureDoesNotMatch for key ${PLANTED.s3SecretKey}; password: ${PLANTED.password}; Authorization: Bearer ${PLANTED.bearer}; ` +
        `GET https://bob:${PLANTED.userinfo}@files.example.com/a.mp4?X-Amz-Signature=${PLANTED.queryToken}`,
    );
  });
  await runOnce('http', async () => ({
    url: `https://bob:${PLANTED.userinfo}@files.example.com/v.mp4?sig=${PLANTED.queryToken}&sv=2024`,
    bytes: 10,
    status: 200,
    headers: { Authorization: `Bearer ${PLANTED.bearer}` },
    body: `{"password":"${PLANTED.password}","ok":true}`,
  }));

  const ftpQueue = new Queue(uploadQueueName('ftp'), { connection, prefix });
  extraQueues.push(ftpQueue);
  const legacyFtp = await ftpQueue.add('upload-ftp', {
    token: 'dlv_legacy',
    index: 0,
    destination: { type: 'ftp', host: 'ftp.example.com', user: 'bob', password: PLANTED.password, key: PLANTED.azureKey },
  });

  async function runOnce(type: DestinationType, processor: (job: Job) => Promise<unknown>): Promise<Job> {
    const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const worker = new Worker(uploadQueueName(type), processor, { connection: workerConnection, prefix, autorun: false });
    const ended = new Promise<Job>((resolve) => {
      worker.on('completed', (job) => resolve(job));
      worker.on('failed', (job) => job && resolve(job));
    });
    void worker.run();
    const job = await ended;
    await worker.close();
    workerConnection.disconnect();
    return job;
  }

  return {
    redisUrl,
    prefix,
    connection,
    producer,
    planted: {
      failedS3: (await producer.queue('s3').getJob(s3.uploads[0]!.job_id))!,
      completedHttp: (await producer.queue('http').getJob(http.uploads[0]!.job_id))!,
      legacyFtp,
      envelopeCiphertext,
      s3Token: s3.token,
    },
    async dashboard(options = {}) {
      const app = buildDashboard({ connection, prefix, auth: { type: 'basic', users: [OPS] }, logger: createLogger({ level: 'silent' }), ...options });
      apps.push(app);
      await app.ready();
      return app;
    },
    async failedDelivery() {
      const { token } = await producer.enqueue({
        source: { url: 'https://media.example.com/renders/welcome.mp4' },
        upload: { destination: { type: 's3', bucket: 'my-videos', filename: 'welcome.mp4', aws_use_policy: true } },
      });
      const job = await runOnce('s3', async () => {
        throw new UnrecoverableError('[UF_DESTINATION_REJECTED] The bucket refused the upload.');
      });
      await producer.outcomes.finishUpload(token, 0, {
        state: 'failed',
        error: { code: 'UF_DESTINATION_REJECTED', category: 'permanent', message: 'The bucket refused the upload.' },
        attempts: 1,
        finished_at: new Date().toISOString(),
      });
      return { token, job };
    },
    async close() {
      await Promise.all(apps.map((app) => app.close()));
      await Promise.all(extraQueues.map((q) => q.close()));
      await producer.close();
      await deletePrefix(redisUrl, prefix);
      connection.disconnect();
    },
  };
}
