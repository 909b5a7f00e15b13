import { FleetError, isFleetError, type UploadResult } from '@upload-fleet/core';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import { driveUserOf } from './account.js';
import { backedOff, loadCheckpoint } from './checkpoint.js';
import type { GoogleDriveDestination, GoogleDriveSettings } from './definition.js';
import { driveClient } from './drive-client.js';
import { uploadFile } from './file-upload.js';

/**
 * The Google Drive destination: the file is created in folder_id (or My Drive's root) of
 * the token's account through Drive's resumable upload.
 *
 * Read top to bottom:
 * - definition.ts    the parameters, the per-user limits, the connect flow (drive.file scope)
 * - drive-client.ts  every request: token (../google/user-tokens.ts), guard, abort,
 *                    timeouts (../google/api-client.ts)
 * - file-upload.ts   session start with the file's metadata, the checkpoint; the chunk
 *                    loop is Google's, shared with YouTube and Cloud Storage
 *                    (../google/resumable-session.ts)
 * - checkpoint.ts    what survives an attempt, and the backoff for rate limits
 * - account.ts       the Drive user behind a token (`accountOf`), for per-user limits
 * - errors.ts        what Drive's answers mean (storageQuotaExceeded, userRateLimitExceeded, notFound, ...)
 */

export interface GoogleDriveResult extends UploadResult {
  /** The file's webViewLink. */
  url: string;
  bytes: number;
  file_id: string;
  name: string;
  mime_type: string;
}

export function createGoogleDriveAdapter(settings: GoogleDriveSettings): DestinationAdapter<'googledrive'> {
  return {
    type: 'googledrive',
    upload: (context) => upload(settings, context),
    accountOf: (context) => driveUserOf(settings, context),
  };
}

async function upload(settings: GoogleDriveSettings, context: UploadContext<GoogleDriveDestination>): Promise<GoogleDriveResult> {
  const { destination, source, signal, log } = context;
  if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to Google Drive was aborted before it started', { destination: 'googledrive' });
  const client = driveClient(destination, context.credentials, context.network, signal);
  log.info({ bytes: source.size, shared_drive: destination.shared_drive, auth: destination.auth_secret ? 'auth_secret' : 'oauth_access_token' }, 'uploading to Google Drive');
  const saved = await loadCheckpoint(context.checkpoint, source.size, log);
  let file;
  try {
    file = await uploadFile(context, client, settings, saved);
  } catch (error) {
    // Drive asks for backoff that grows with each refusal; the count survives the deferral in the checkpoint.
    if (isFleetError(error) && error.category === 'rate_limited') throw await backedOff(error, context.checkpoint, source.size);
    throw error;
  }
  context.reportProgress(source.size);
  log.info({ file_id: file.id }, 'uploaded to Google Drive');
  return { url: file.webViewLink, bytes: source.size, file_id: file.id, name: file.name, mime_type: file.mimeType };
}
