/** Reference: @aws-sdk/lib-storage's Upload of a file stream (partSize/queueSize given, or the SDK's defaults). */
import { createReadStream } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { serveJobs } from './job-loop.js';

interface Job {
  endpoint: string;
  bucket: string;
  key: string;
  file: string;
  partSize?: number;
  queueSize?: number;
}

serveJobs<Job>(async (job) => {
  const client = new S3Client({ endpoint: job.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID!, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY! } });
  const upload = new Upload({
    client,
    params: { Bucket: job.bucket, Key: job.key, Body: createReadStream(job.file) },
    ...(job.partSize ? { partSize: job.partSize } : {}),
    ...(job.queueSize ? { queueSize: job.queueSize } : {}),
  });
  await upload.done();
  client.destroy();
});
