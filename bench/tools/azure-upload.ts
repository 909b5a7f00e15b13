/** Reference: @azure/storage-blob's own uploads, BlockBlobClient.uploadFile and uploadStream, at their defaults. */
import { createReadStream } from 'node:fs';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { serveJobs } from './job-loop.js';

interface Job {
  url: string;
  account: string;
  key: string;
  container: string;
  blob: string;
  file: string;
  method: 'uploadFile' | 'uploadStream';
}

serveJobs<Job>(async (job) => {
  const service = new BlobServiceClient(job.url, new StorageSharedKeyCredential(job.account, job.key));
  const blob = service.getContainerClient(job.container).getBlockBlobClient(job.blob);
  if (job.method === 'uploadFile') await blob.uploadFile(job.file);
  else await blob.uploadStream(createReadStream(job.file));
});
