import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import { serviceAccountTokens } from './access-token.js';
import { gcsClient } from './client.js';
import type { GcsDestination, GcsSettings } from './definition.js';
import { uploadObject } from './resumable-upload.js';
import { readServiceAccountKey } from './service-account-key.js';

/**
 * The Google Cloud Storage destination: the file becomes gs://bucket/filename through the
 * JSON API's resumable upload, as the service account of `credentials`.
 *
 * Read top to bottom:
 * - service-account-key.ts  the key in `credentials` (object or JSON text)
 * - access-token.ts   the JWT bearer grant at the key's token_uri (node:crypto), cached per key
 * - client.ts         every request: token (renewed once after a 401), network guard, abort, timeouts
 * - resumable-upload.ts  session start, the object's metadata, checksum verification, the checkpoint
 * - object-digest.ts  CRC32C and MD5 of the whole file, computed on the way
 * - errors.ts         what Cloud Storage's answers mean (rateLimitExceeded, notFound, ...)
 * The chunk loop itself is Google's, shared with YouTube: ../google/resumable-session.ts.
 */

export interface GcsResult extends UploadResult {
  url: string;
  bytes: number;
  bucket: string;
  name: string;
  generation: string;
  crc32c: string;
  md5_hash?: string;
  gs_uri: string;
}

export function createGcsAdapter(settings: GcsSettings): DestinationAdapter<'gcs'> {
  return { type: 'gcs', upload: (context) => upload(settings, context) };
}

async function upload(settings: GcsSettings, context: UploadContext<GcsDestination>): Promise<GcsResult> {
  const { destination, source, signal, log } = context;
  if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to Cloud Storage was aborted before it started', { destination: 'gcs' });
  const key = readServiceAccountKey(destination.credentials);
  if (!key.ok) throw new FleetError('UF_CREDENTIALS_INVALID', key.problem, { destination: 'gcs' });

  const client = gcsClient(serviceAccountTokens(key.key, context.network, signal), context.network, signal);
  log.info({ bytes: source.size, bucket: destination.bucket }, 'uploading to Cloud Storage');
  const { object, crc32c, md5 } = await uploadObject(context, client, settings);
  context.reportProgress(source.size);
  log.info({ bucket: object.bucket, generation: object.generation }, 'uploaded to Cloud Storage');
  return {
    url: `${settings.apiBaseUrl}/${encodeURIComponent(object.bucket)}/${object.name.split('/').map(encodeURIComponent).join('/')}`,
    bytes: source.size,
    bucket: object.bucket,
    name: object.name,
    generation: object.generation,
    crc32c,
    ...(md5 ?? object.md5Hash ? { md5_hash: md5 ?? object.md5Hash } : {}),
    gs_uri: `gs://${object.bucket}/${object.name}`,
  };
}
