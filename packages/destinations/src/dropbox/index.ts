import type { files } from 'dropbox';
import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { DropboxDestination } from './definition.js';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import type { DropboxSettings } from './definition.js';
import { SourceRangeReader } from '../source-ranges.js';
import { DropboxClient, DropboxProtocolAnswer } from './client.js';
import { blockDigestsOf, contentHashOfDigests, DROPBOX_HASH_BLOCK_BYTES, FileContentHash } from './content-hash.js';

/**
 * The Dropbox destination: writes the file to `filename` in the account of `oauth_token`
 * (or of the fleet-held credential `auth_secret`), through Dropbox's content-upload
 * endpoints (https://www.dropbox.com/developers/documentation/http/documentation).
 *
 * - A file that fits in one chunk goes in one files/upload request.
 * - A larger one goes through an upload session: upload_session/start with the first
 *   chunk, append_v2 with the next ones, finish with the last one and the commit. After
 *   every chunk the session id and offset are saved as the checkpoint, so a retry (on any
 *   worker, within the session's 7 days) continues mid-file. When Dropbox says the session
 *   holds a different offset (`incorrect_offset`: an earlier answer was lost), the upload
 *   continues at the offset Dropbox reports.
 * - Every commit is `overwrite` without `autorename`: sending the same file again can only
 *   replace it with itself, never add "name (1).mp4" beside it. That is what makes retries
 *   safe, above all a finish that succeeded but whose answer was lost: the retry finds the
 *   session gone, uploads again in a new session and overwrites the same path.
 *   docs/destinations/dropbox.md walks through the cases.
 * - Each request carries the content hash of its data, so Dropbox checks every chunk, and
 *   the file's hash is compared with the one Dropbox reports when this attempt sent it all.
 *
 * The file is streamed from the source, one chunk in memory at a time.
 */

const MiB = 1024 * 1024;
/** Bytes per request. A multiple of Dropbox's 4 MiB hash block (sessions want 4 MiB multiples). */
export const DEFAULT_CHUNK_BYTES = 8 * MiB;
/** Dropbox takes at most 150 MiB per request; the largest multiple of 4 MiB under it. */
const MAX_CHUNK_BYTES = 148 * MiB;
/**
 * Upload sessions live 7 days. A checkpoint older than this starts a new session rather
 * than one that could expire before the upload ends.
 */
const SESSION_REUSE_MS = 6 * 24 * 60 * 60 * 1000;

export interface DropboxAdapterOptions {
  /**
   * Bytes per request, a multiple of 4 MiB up to 148 MiB; default 8 MiB. Files up to this
   * size go in one files/upload request, larger ones through an upload session. It is
   * also how much of the file is in memory per upload, and what an interruption can cost.
   */
  chunkBytes?: number;
}

export function createDropboxAdapter(config: DropboxSettings, options: DropboxAdapterOptions = {}): DestinationAdapter<'dropbox'> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes % DROPBOX_HASH_BLOCK_BYTES !== 0 || chunkBytes > MAX_CHUNK_BYTES) {
    throw new Error(`Dropbox chunkBytes must be a multiple of 4 MiB up to 148 MiB, not ${chunkBytes}`);
  }
  return {
    type: 'dropbox',
    upload: (context) => upload(config, chunkBytes, context),
  };
}

/** `filename` as a Dropbox path: Dropbox paths start with "/" (the spec's example has none). */
export function dropboxPathOf(filename: string): string {
  return filename.startsWith('/') ? filename : `/${filename}`;
}

/** What the upload keeps between attempts. */
interface DropboxCheckpoint {
  version: 1;
  sessionId: string;
  /** Bytes the session holds. */
  offset: number;
  /** The file's size and path when the session started: another file must not continue it. */
  size: number;
  path: string;
  /** When the session started (ms since epoch), against its 7-day lifetime. */
  startedAt: number;
}

type Metadata = files.FileMetadata;

async function upload(config: DropboxSettings, chunkBytes: number, context: UploadContext<DropboxDestination>): Promise<UploadResult> {
  const { destination, source, signal, log } = context;
  const path = dropboxPathOf(destination.filename);
  if (signal.aborted) throw aborted(path);

  const client = await DropboxClient.connect(config, context, path);
  try {
    const inSession = source.size > chunkBytes;
    log.info({ path, bytes: source.size, via: inSession ? 'upload session' : 'one request' }, 'uploading to Dropbox');
    const metadata = inSession ? await uploadInSession(client, context, path, chunkBytes) : await uploadInOneRequest(client, context, path);
    context.reportProgress(source.size);
    log.info({ path: metadata.path_display, id: metadata.id, rev: metadata.rev }, 'uploaded to Dropbox');
    // No URL: dropbox.com/home links are web-app routes that only the signed-in owner can
    // open (and point elsewhere for team spaces); a shared link would publish the file.
    // The path, id and rev identify the file (docs/destinations/dropbox.md).
    return {
      url: null,
      bytes: source.size,
      path: metadata.path_display ?? path,
      id: metadata.id,
      rev: metadata.rev,
      content_hash: metadata.content_hash ?? null,
    };
  } catch (error) {
    if (signal.aborted) throw error instanceof FleetError && error.code === 'UF_ABORTED' ? error : aborted(path, error);
    if (error instanceof DropboxProtocolAnswer) {
      throw new FleetError('UF_DESTINATION_UNAVAILABLE', `Dropbox lost track of the upload session (${error.failure.kind})`, { destination: 'dropbox', cause: error });
    }
    throw error;
  } finally {
    await client.close();
  }
}

/** Up to one chunk: files/upload, the whole file in one request. */
async function uploadInOneRequest(client: DropboxClient, context: UploadContext<DropboxDestination>, path: string): Promise<Metadata> {
  const { source } = context;
  const reader = new SourceRangeReader(source, 'dropbox', context.signal);
  try {
    const chunk = await reader.read(0, source.size);
    await reader.expectEnd();
    const digests = blockDigestsOf(chunk);
    const contentHash = contentHashOfDigests(digests);
    const metadata = await client.send('files/upload', (sdk, options) => {
      const body = client.body(chunk, (sent) => context.reportProgress(sent));
      return sdk.filesUpload({ path, ...WRITE_MODE, content_hash: contentHash, contents: body.contents }, { ...options, ...body.options });
    });
    return await verified(context, metadata, contentHash);
  } finally {
    reader.close();
  }
}

/**
 * Overwrite, never rename: a retry of any step (or of the whole upload) can only write
 * the same file to the same path again. See the module comment.
 */
const WRITE_MODE = { mode: { '.tag': 'overwrite' }, autorename: false } satisfies Pick<files.CommitInfo, 'mode' | 'autorename'>;

/**
 * More than one chunk: an upload session, continued from the checkpoint when there is
 * one. A session that is gone (expired, or finished by an attempt whose answer was lost)
 * is replaced once by a new one, from byte 0.
 */
async function uploadInSession(client: DropboxClient, context: UploadContext<DropboxDestination>, path: string, chunkBytes: number): Promise<Metadata> {
  let resume = await loadCheckpoint(context, path);
  for (let restarted = false; ; restarted = true) {
    try {
      return await runSession(client, context, path, chunkBytes, resume);
    } catch (error) {
      if (!(error instanceof DropboxProtocolAnswer) || error.failure.kind !== 'session_gone' || restarted) throw error;
      context.log.warn(
        { reason: error.failure.reason, resumed: resume !== undefined },
        'the Dropbox upload session is gone (expired, or finished by an earlier attempt whose answer was lost); uploading again in a new session, which overwrites the same path',
      );
      await context.checkpoint.clear();
      resume = undefined;
    }
  }
}

async function runSession(
  client: DropboxClient,
  context: UploadContext<DropboxDestination>,
  path: string,
  chunkBytes: number,
  resume: DropboxCheckpoint | undefined,
): Promise<Metadata> {
  const { source, checkpoint, log } = context;
  const size = source.size;
  const startedAt = resume?.startedAt ?? Date.now();
  let sessionId = resume?.sessionId;
  let offset = resume?.offset ?? 0;
  // The whole file's hash can be checked only when this attempt read every byte of it.
  let fileHash = offset === 0 ? new FileContentHash() : undefined;
  let corrections = 0;
  if (resume) log.info({ session_offset: offset, bytes: size }, 'continuing the Dropbox upload session of an earlier attempt');

  // Reads each chunk from where the session stands; a corrected offset reopens the source there.
  const reader = new SourceRangeReader(source, 'dropbox', context.signal);
  try {
    for (;;) {
      const length = Math.min(chunkBytes, size - offset);
      const chunk = await reader.read(offset, length);
      const last = offset + length === size;
      if (last) await reader.expectEnd();
      const digests = blockDigestsOf(chunk);
      const contentHash = contentHashOfDigests(digests);
      const chunkStart = offset;
      const onSent = (sent: number) => context.reportProgress(chunkStart + sent);

      try {
        if (sessionId === undefined) {
          const started = await client.send('files/upload_session/start', (sdk, options) => {
            const body = client.body(chunk, onSent);
            return sdk.filesUploadSessionStart({ content_hash: contentHash, contents: body.contents }, { ...options, ...body.options });
          });
          sessionId = started.session_id;
          log.info({ session_bytes: length }, 'started a Dropbox upload session');
        } else if (!last) {
          const cursor = { session_id: sessionId, offset };
          await client.send('files/upload_session/append_v2', (sdk, options) => {
            const body = client.body(chunk, onSent);
            return sdk.filesUploadSessionAppendV2({ cursor, content_hash: contentHash, contents: body.contents }, { ...options, ...body.options });
          });
        } else {
          const cursor = { session_id: sessionId, offset };
          const metadata = await client.send('files/upload_session/finish', (sdk, options) => {
            const body = client.body(chunk, onSent);
            return sdk.filesUploadSessionFinish(
              { cursor, commit: { path, ...WRITE_MODE }, content_hash: contentHash, contents: body.contents },
              { ...options, ...body.options },
            );
          });
          fileHash?.add(digests);
          return await verified(context, metadata, fileHash?.digest());
        }
      } catch (error) {
        if (!(error instanceof DropboxProtocolAnswer) || error.failure.kind !== 'incorrect_offset') throw error;
        const correct = error.failure.correctOffset;
        corrections += 1;
        // More than the file, or no progress after several corrections: this session is
        // not the one for this file (any more); start a new one.
        if (correct > size || corrections > 3) throw new DropboxProtocolAnswer({ kind: 'session_gone', reason: `incorrect_offset: the session holds ${correct} bytes` });
        log.warn({ offset, correct_offset: correct }, 'Dropbox holds another offset of the upload session (an earlier answer was lost); continuing where it says');
        offset = correct;
        fileHash = undefined;
        await checkpoint.save<DropboxCheckpoint>({ version: 1, sessionId: sessionId as string, offset, size, path, startedAt });
        continue;
      }

      offset += length;
      corrections = 0;
      fileHash?.add(digests);
      await checkpoint.save<DropboxCheckpoint>({ version: 1, sessionId, offset, size, path, startedAt });
      log.debug({ offset, bytes: size }, 'chunk appended to the Dropbox upload session');
    }
  } finally {
    reader.close();
  }
}

/** The checkpoint of an earlier attempt, when it is for this file and its session may still be alive. */
async function loadCheckpoint(context: UploadContext<DropboxDestination>, path: string): Promise<DropboxCheckpoint | undefined> {
  const saved = await context.checkpoint.load<Partial<DropboxCheckpoint>>();
  if (!saved) return undefined;
  const usable =
    saved.version === 1 &&
    typeof saved.sessionId === 'string' &&
    typeof saved.offset === 'number' &&
    typeof saved.startedAt === 'number' &&
    saved.size === context.source.size &&
    saved.path === path &&
    saved.offset >= 0 &&
    saved.offset <= context.source.size &&
    Date.now() - saved.startedAt < SESSION_REUSE_MS;
  if (!usable) {
    context.log.warn({ path }, 'the saved Dropbox upload session does not fit this file or is too old; starting a new one');
    await context.checkpoint.clear();
    return undefined;
  }
  return saved as DropboxCheckpoint;
}

/**
 * Dropbox's record of the committed file must match what was sent: its size always, its
 * content hash when this attempt hashed the whole file. A mismatch (which only a bug or a
 * session mixed up with another file could cause) starts the upload over.
 */
async function verified(context: UploadContext<DropboxDestination>, metadata: Metadata, expectedHash: string | undefined): Promise<Metadata> {
  const size = context.source.size;
  const hashDiffers = expectedHash !== undefined && metadata.content_hash !== undefined && metadata.content_hash !== expectedHash;
  if (metadata.size !== size || hashDiffers) {
    await context.checkpoint.clear();
    const what = metadata.size !== size ? `${metadata.size} bytes instead of ${size}` : 'a file whose content hash differs from the source';
    throw new FleetError('UF_UNKNOWN', `Dropbox stored ${what} at ${metadata.path_display ?? 'the path'}; the upload starts again`, { destination: 'dropbox' });
  }
  return metadata;
}

function aborted(path: string, cause?: unknown): FleetError {
  return new FleetError('UF_ABORTED', `The upload to Dropbox (${path}) was aborted`, { destination: 'dropbox', cause });
}
