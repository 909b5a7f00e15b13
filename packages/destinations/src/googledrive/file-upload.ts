import { FleetError } from '@upload-fleet/core';
import type { UploadContext } from '../adapter.js';
import type { GoogleApiClient } from '../google/api-client.js';
import { ChunkReader } from '../google/chunk-reader.js';
import { sessionUriOf } from '../google/session-uri.js';
import { uploadWithRestart, type OpenSession, type ResumablePlatform, type SessionAnswer, type SessionRun } from '../google/resumable-session.js';
import type { DriveCheckpoint } from './checkpoint.js';
import type { GoogleDriveDestination, GoogleDriveSettings } from './definition.js';
import { errorForAnswer, isInterruption, type DriveStep } from './errors.js';

/**
 * files.create with uploadType=resumable
 * (https://developers.google.com/workspace/drive/api/guides/manage-uploads#resumable):
 *
 * 1. POST the file's metadata (name, parents, mimeType, description) to
 *    {uploadBaseUrl}/files?uploadType=resumable, with X-Upload-Content-Type and
 *    X-Upload-Content-Length; the session URI comes back in Location. No file exists yet.
 * 2. The chunks, 308s, status queries and expired sessions: Google's upload front end,
 *    shared with YouTube and Cloud Storage (google/resumable-session.ts). The last chunk's
 *    answer is the file resource, with the fields asked for in step 1.
 *
 * The session URI and offset are the checkpoint, saved after every chunk, so a retry on
 * another process continues the same session. Only the last byte of a session creates the
 * file, so however often an upload is interrupted there is one file, never two.
 */

/**
 * The fields of the file resource the result needs. files.create answers only id, name,
 * mimeType and kind unless `fields` asks for more
 * (https://developers.google.com/workspace/drive/api/guides/fields-parameter).
 */
export const FILE_FIELDS = 'id,name,mimeType,size,webViewLink';

/** The part of Drive's file resource the adapter uses. */
export interface DriveFile {
  id: string;
  name: string;
  mimeType: string;
  webViewLink: string;
  /** Bytes, as a decimal string (Drive's int64 format). */
  size?: string;
}

/** Uploads the file and returns it, resuming the checkpoint's session when there is one. */
export async function uploadFile(context: UploadContext<GoogleDriveDestination>, client: GoogleApiClient<DriveStep>, settings: GoogleDriveSettings, saved: DriveCheckpoint | undefined): Promise<DriveFile> {
  const { source, log, destination } = context;
  if (saved?.file) {
    log.info({ file_id: saved.file.id }, 'the file was uploaded in an earlier attempt');
    return saved.file;
  }
  // A saved session's offset is not trusted: the chunk in flight when the attempt ended may
  // have been stored in part. `undefined` makes the first request a status query.
  const session: OpenSession = saved?.session_uri ? { uri: saved.session_uri, offset: undefined } : await startSession(context, client, settings);
  if (saved?.session_uri) log.info({ offset: saved.offset }, 'resuming the upload session of an earlier attempt');
  const reader = new ChunkReader(source, source.size, 'googledrive');
  const run: SessionRun<DriveFile> = {
    platform: driveSessions(client, destination),
    reader,
    size: source.size,
    contentType: context.contentType,
    signal: context.signal,
    log,
    async stored(uri, offset) {
      await context.checkpoint.save<DriveCheckpoint>({ version: 1, session_uri: uri, size: source.size, offset });
      context.reportProgress(offset);
    },
  };
  try {
    let sessionUri = session.uri;
    const file = await uploadWithRestart(run, session, async () => {
      const started = await startSession(context, client, settings);
      sessionUri = started.uri;
      return started;
    });
    await context.checkpoint.save<DriveCheckpoint>({ version: 1, session_uri: sessionUri, size: source.size, offset: source.size, file });
    return file;
  } finally {
    reader.close();
  }
}

/** What Drive's session answers mean, for the shared chunk loop. */
function driveSessions(client: GoogleApiClient<DriveStep>, destination: GoogleDriveDestination): ResumablePlatform<DriveFile> {
  return {
    destination: 'googledrive',
    label: 'Google Drive',
    creates: 'file',
    put: (step, uri, headers, body) => client.send({ step, method: 'PUT', url: uri, headers, body }),
    errorForAnswer: (answer, step) => errorForAnswer(answer, step, destination),
    isInterruption,
    resourceOf: fileOf,
  };
}

/** Step 1: announces the file (its metadata, size and type) and gets the session URI. */
async function startSession(context: UploadContext<GoogleDriveDestination>, client: GoogleApiClient<DriveStep>, settings: GoogleDriveSettings): Promise<OpenSession> {
  const { destination, source, network, log } = context;
  const url = new URL(`${settings.uploadBaseUrl}/files`);
  url.searchParams.set('uploadType', 'resumable');
  url.searchParams.set('fields', FILE_FIELDS);
  // Without it Drive acts as if shared drives did not exist: a folder in one is notFound
  // (https://developers.google.com/workspace/drive/api/guides/enable-shareddrives).
  if (destination.shared_drive) url.searchParams.set('supportsAllDrives', 'true');
  // Refuse private and metadata addresses with a clear error before sending anything; the
  // guard's lookup checks again at connect time. (An IP literal skips DNS, hence both.)
  await network.assertAllowed(url);

  const answer = await client.send({
    step: 'start',
    method: 'POST',
    url: url.toString(),
    headers: {
      'content-type': 'application/json; charset=UTF-8',
      'x-upload-content-length': String(source.size),
      'x-upload-content-type': context.contentType,
    },
    body: JSON.stringify(fileMetadataOf(destination, context.contentType)),
  });
  if (answer.status !== 200 && answer.status !== 201) throw errorForAnswer(answer, 'start', destination);
  const uri = await sessionUriOf(answer, url, network, { destination: 'googledrive', label: 'Google Drive' });
  await context.checkpoint.save<DriveCheckpoint>({ version: 1, session_uri: uri.toString(), size: source.size, offset: 0 });
  log.info({ host: uri.host, bytes: source.size, shared_drive: destination.shared_drive }, 'Google Drive upload session started');
  context.reportProgress(0);
  return { uri: uri.toString(), offset: 0 };
}

/** The file resource of the destination's parameters (files.create request body). */
export function fileMetadataOf(destination: GoogleDriveDestination, contentType: string): Record<string, unknown> {
  return {
    name: destination.filename,
    mimeType: contentType,
    ...(destination.folder_id ? { parents: [destination.folder_id] } : {}),
    ...(destination.description !== undefined ? { description: destination.description } : {}),
  };
}

function fileOf(answer: SessionAnswer): DriveFile {
  let file: Partial<DriveFile> | undefined;
  try {
    file = JSON.parse(answer.body) as Partial<DriveFile>;
  } catch {
    file = undefined;
  }
  if (!file || typeof file.id !== 'string' || !file.id || typeof file.webViewLink !== 'string') {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `Google Drive answered ${answer.status} to the last chunk without a file resource (id, webViewLink)`, {
      destination: 'googledrive',
      status: answer.status,
    });
  }
  return { id: file.id, name: String(file.name ?? ''), mimeType: String(file.mimeType ?? ''), webViewLink: file.webViewLink, ...(file.size !== undefined ? { size: String(file.size) } : {}) };
}
