import { FleetError } from '@upload-fleet/core';
import type { UploadContext } from '../adapter.js';
import { ChunkReader } from '../google/chunk-reader.js';
import { sessionUriOf } from '../google/session-uri.js';
import { uploadWithRestart, type OpenSession, type ResumablePlatform, type SessionAnswer, type SessionRun } from '../google/resumable-session.js';
import type { GcsClient } from './client.js';
import type { GcsDestination, GcsSettings } from './definition.js';
import { checksumMismatch, errorForAnswer, isInterruption } from './errors.js';
import { ObjectDigest, type DigestState } from './object-digest.js';

/**
 * objects.insert with uploadType=resumable
 * (https://cloud.google.com/storage/docs/performing-resumable-uploads):
 *
 * 1. POST the object's metadata to {base}/upload/storage/v1/b/{bucket}/o?uploadType=resumable
 *    &name=...(&predefinedAcl=...); the session URI comes back in Location. No object exists yet.
 * 2. The chunks, 308s, status queries and expired sessions: Google's upload front end,
 *    shared with YouTube (google/resumable-session.ts). The chunk that carries the last
 *    byte also carries `X-Goog-Hash: crc32c=...,md5=...`, the whole object's checksums
 *    computed on the way (object-digest.ts), so GCS refuses to create a different object.
 * 3. The answer to the last byte is the object resource; its crc32c (and md5Hash) must
 *    equal ours, or the upload fails (and the retry starts over).
 *
 * The session URI, offset and running CRC32C are the checkpoint, saved after every chunk,
 * so a retry on another process continues the same session and still checks the whole
 * object. Only the last byte creates (or replaces) the object.
 */

export interface GcsCheckpoint {
  version: 1;
  session_uri: string;
  size: number;
  offset: number;
  digest: DigestState;
  /** Set once GCS created the object. */
  object?: GcsObject;
}

/** The part of GCS's object resource the adapter uses. */
export interface GcsObject {
  bucket: string;
  name: string;
  generation: string;
  size?: string;
  crc32c?: string;
  md5Hash?: string;
}

export async function uploadObject(context: UploadContext<GcsDestination>, client: GcsClient, settings: GcsSettings): Promise<{ object: GcsObject; crc32c: string; md5: string | undefined }> {
  const { source, log } = context;
  const saved = usableCheckpoint(await context.checkpoint.load<GcsCheckpoint>(), source.size, log);
  if (saved?.object) {
    log.info({ generation: saved.object.generation }, 'the object was created in an earlier attempt');
    return { object: saved.object, crc32c: saved.object.crc32c ?? '', md5: saved.object.md5Hash };
  }

  // A saved session's offset is not trusted: the chunk in flight when the attempt ended may
  // have been stored in part. `undefined` makes the first request a status query.
  const session: OpenSession = saved ? { uri: saved.session_uri, offset: undefined } : await startSession(context, client, settings);
  if (saved) log.info({ offset: saved.offset }, 'resuming the upload session of an earlier attempt');
  const reader = new ChunkReader(source, source.size, 'gcs');
  const digest = new ObjectDigest(reader, settings.chunkBytes, saved?.digest);
  let sessionUri = session.uri;
  const run: SessionRun<GcsObject> = {
    platform: gcsSessions(client, context.destination.bucket, digest),
    reader: digest,
    size: source.size,
    contentType: context.destination.content_type ?? context.contentType,
    signal: context.signal,
    log,
    chunkBytes: settings.chunkBytes,
    async stored(uri, offset) {
      await context.checkpoint.save<GcsCheckpoint>({ version: 1, session_uri: uri, size: source.size, offset, digest: digest.state() });
      context.reportProgress(offset);
    },
  };
  try {
    const object = await uploadWithRestart(run, session, async () => {
      const started = await startSession(context, client, settings);
      sessionUri = started.uri;
      return started;
    });
    // Finished by a status query after a crash: bytes this process never read are hashed now.
    await digest.hashUpTo(source.size);
    const crc32c = digest.crc32cBase64();
    const md5 = digest.md5Base64();
    await verify(context, object, crc32c, md5);
    await context.checkpoint.save<GcsCheckpoint>({ version: 1, session_uri: sessionUri, size: source.size, offset: source.size, digest: digest.state(), object });
    return { object, crc32c, md5 };
  } catch (error) {
    // The bytes GCS holds (or was sent) are not the file's: resuming this session cannot
    // produce the file, so the retry starts a new one.
    if (error instanceof FleetError && error.code === 'UF_SOURCE_CHANGED') await context.checkpoint.clear();
    throw error;
  } finally {
    reader.close();
  }
}

/** The object GCS answers must be the file: its CRC32C always, its MD5 where both sides have one. */
async function verify(context: UploadContext<GcsDestination>, object: GcsObject, crc32c: string, md5: string | undefined): Promise<void> {
  const problems: string[] = [];
  if (object.crc32c !== crc32c) problems.push(`CRC32C ${object.crc32c ?? '(none)'} where the file's is ${crc32c}`);
  if (md5 !== undefined && object.md5Hash !== undefined && object.md5Hash !== md5) problems.push(`MD5 ${object.md5Hash} where the file's is ${md5}`);
  if (problems.length === 0) return;
  // The session is finished; the retry starts a new one (the checkpoint is dropped on the way out).
  throw checksumMismatch(`Cloud Storage created gs://${object.bucket}/${object.name} (generation ${object.generation}) with ${problems.join(' and ')}: it holds other bytes than were sent`);
}

/** Step 1: announces the object (its metadata, size and type) and gets the session URI. */
async function startSession(context: UploadContext<GcsDestination>, client: GcsClient, settings: GcsSettings): Promise<OpenSession> {
  const { destination, source, network, log } = context;
  const url = new URL(`${settings.apiBaseUrl}/upload/storage/v1/b/${encodeURIComponent(destination.bucket)}/o`);
  url.searchParams.set('uploadType', 'resumable');
  url.searchParams.set('name', destination.filename);
  if (destination.predefined_acl) url.searchParams.set('predefinedAcl', destination.predefined_acl);
  // Refuse private and metadata addresses with a clear error before sending anything; the
  // guard's lookup checks again at connect time. (An IP literal skips DNS, hence both.)
  await network.assertAllowed(url);

  const contentType = destination.content_type ?? context.contentType;
  const answer = await client.send({
    step: 'start',
    method: 'POST',
    url: url.toString(),
    headers: {
      'content-type': 'application/json; charset=UTF-8',
      'x-upload-content-length': String(source.size),
      'x-upload-content-type': contentType,
    },
    body: JSON.stringify(objectMetadataOf(destination, contentType)),
  });
  if (answer.status !== 200 && answer.status !== 201) throw errorForAnswer(answer, 'start', destination.bucket);
  const uri = await sessionUriOf(answer, url, network, { destination: 'gcs', label: 'Cloud Storage' });
  await context.checkpoint.save<GcsCheckpoint>({ version: 1, session_uri: uri.toString(), size: source.size, offset: 0, digest: { crc32c: 0, hashed_to: 0 } });
  log.info({ host: uri.host, bytes: source.size, bucket: destination.bucket }, 'Cloud Storage upload session started');
  context.reportProgress(0);
  return { uri: uri.toString(), offset: 0 };
}

/** The object resource of the destination's parameters (https://cloud.google.com/storage/docs/json_api/v1/objects#resource). */
export function objectMetadataOf(destination: GcsDestination, contentType: string): Record<string, unknown> {
  return {
    name: destination.filename,
    contentType,
    ...(destination.cache_control ? { cacheControl: destination.cache_control } : {}),
    ...(destination.metadata ? { metadata: destination.metadata } : {}),
    ...(destination.storage_class ? { storageClass: destination.storage_class } : {}),
  };
}

/** What Cloud Storage's session answers mean, for the shared chunk loop. */
function gcsSessions(client: GcsClient, bucket: string, digest: ObjectDigest): ResumablePlatform<GcsObject> {
  return {
    destination: 'gcs',
    label: 'Cloud Storage',
    creates: 'object',
    put: (step, uri, headers, body) => client.send({ step, method: 'PUT', url: uri, headers, body }),
    errorForAnswer: (answer, step) => errorForAnswer(answer, step, bucket),
    isInterruption,
    resourceOf: objectOf,
    // Read after the last chunk was read, so the digest covers the whole file.
    lastChunkHeaders: () => {
      const md5 = digest.md5Base64();
      return { 'x-goog-hash': `crc32c=${digest.crc32cBase64()}${md5 ? `,md5=${md5}` : ''}` };
    },
  };
}

function objectOf(answer: SessionAnswer): GcsObject {
  let object: Partial<GcsObject> | undefined;
  try {
    object = JSON.parse(answer.body) as Partial<GcsObject>;
  } catch {
    object = undefined;
  }
  if (!object || typeof object.name !== 'string' || typeof object.bucket !== 'string' || object.generation === undefined) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `Cloud Storage answered ${answer.status} to the last chunk without an object resource`, { destination: 'gcs', status: answer.status });
  }
  return { bucket: object.bucket, name: object.name, generation: String(object.generation), size: object.size, crc32c: object.crc32c, md5Hash: object.md5Hash };
}

/** A checkpoint of this upload, or undefined (none, another shape, or a file that changed size). */
function usableCheckpoint(checkpoint: GcsCheckpoint | undefined, size: number, log: UploadContext<GcsDestination>['log']): GcsCheckpoint | undefined {
  if (!checkpoint) return undefined;
  if (checkpoint.version !== 1 || typeof checkpoint.session_uri !== 'string' || checkpoint.size !== size || typeof checkpoint.digest?.crc32c !== 'number') {
    log.warn({ checkpoint_size: checkpoint.size, size }, 'the checkpoint does not belong to this file; starting a new upload session');
    return undefined;
  }
  return checkpoint;
}
