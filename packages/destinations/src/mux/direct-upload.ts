import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError } from '@upload-fleet/core';
import type { UploadContext } from '../adapter.js';
import { SourceRangeReader } from '../source-ranges.js';
import { abortedError, fleetErrorIn } from '../transport-errors.js';
import type { MuxClient } from './client.js';
import type { MuxDestination } from './definition.js';
import { errorForAnswer, isInterruption, type MuxAnswer, type MuxStep } from './errors.js';

/**
 * Mux's direct upload (https://www.mux.com/docs/guides/upload-files-directly):
 *
 * 1. POST /video/v1/uploads with the new asset's settings: Mux answers `data.id` and
 *    `data.url`, a signed Google Cloud Storage URL. No asset exists yet.
 * 2. PUT the file to the URL. "The URL is resumable" (the guide): a GCS resumable session
 *    (https://cloud.google.com/storage/docs/performing-resumable-uploads), which is how
 *    Mux's own UpChunk sends it (https://github.com/muxinc/upchunk): chunks with
 *    `Content-Range: bytes a-b/size`, each a multiple of 256 KiB but the last, answered
 *    308 with `Range: bytes=0-N` (what is stored) until the last byte, then 200.
 * 3. After an interruption, an empty PUT with `Content-Range: bytes * /size` answers where
 *    the session stands.
 * 4. A URL answering 404 or 410 has expired (the upload's `timeout`, an hour by default,
 *    passed): create a new upload and start over.
 *
 * The upload id, its URL and the offset are the checkpoint, saved after every chunk, so a
 * retry on another process continues the same session; `uploaded` records that the last
 * byte arrived, so a crash while waiting for the asset never sends the file again.
 */

/**
 * Chunk size: a multiple of 256 KiB (GCS's unit). UpChunk's default is 30 MiB for browsers;
 * 8 MiB, what Google's client libraries use, bounds what a retry resends and what memory holds.
 */
export const CHUNK_BYTES = 8 * 1024 * 1024;

/** How long Mux keeps an unused upload URL valid, in seconds: the API's default (3600). */
export const UPLOAD_TIMEOUT_SECONDS = 3600;

/** Interruptions in a row (without progress) the chunk loop rides out before the attempt fails. */
const MAX_INTERRUPTIONS = 3;
const INTERRUPTION_PAUSE_MS = 500;

export interface MuxCheckpoint {
  version: 1;
  upload_id: string;
  /** The signed upload URL: a credential for this upload, kept only in the checkpoint. */
  upload_url: string;
  size: number;
  offset: number;
  /** Set once the last byte arrived: what is left is waiting for the asset. */
  uploaded?: boolean;
}

/** The upload URL no longer exists: the caller creates a new upload. */
class UploadExpired extends Error {
  constructor(readonly status: number) {
    super(`the upload URL answered ${status}`);
  }
}

/** Sends the file through a direct upload (resuming the checkpoint's) and returns the upload id. */
export async function sendThroughDirectUpload(context: UploadContext<MuxDestination>, client: MuxClient): Promise<string> {
  const { source, log } = context;
  const saved = usableCheckpoint(await context.checkpoint.load<MuxCheckpoint>(), source.size, log);
  if (saved?.uploaded) {
    log.info({ upload_id: saved.upload_id }, 'the file reached Mux in an earlier attempt');
    return saved.upload_id;
  }
  // A saved offset is not trusted: the chunk in flight when the attempt ended may have been
  // stored in part. `undefined` makes the first request a status query.
  let upload: { id: string; url: string; offset: number | undefined } = saved
    ? { id: saved.upload_id, url: saved.upload_url, offset: undefined }
    : await createUpload(context, client);
  if (saved) log.info({ upload_id: saved.upload_id, offset: saved.offset }, 'resuming the direct upload of an earlier attempt');

  const reader = new SourceRangeReader(source, 'mux', context.signal);
  let restarted = false;
  try {
    for (;;) {
      try {
        await sendFile(context, client, reader, upload.id, upload.url, upload.offset);
        await context.checkpoint.save<MuxCheckpoint>({ version: 1, upload_id: upload.id, upload_url: upload.url, size: source.size, offset: source.size, uploaded: true });
        return upload.id;
      } catch (error) {
        if (!(error instanceof UploadExpired)) throw error;
        if (restarted) {
          throw new FleetError('UF_DESTINATION_UNAVAILABLE', `The upload URL Mux had just created answered ${error.status}`, { destination: 'mux', status: error.status });
        }
        restarted = true;
        log.warn({ status: error.status, upload_id: upload.id }, 'the direct upload URL expired; creating a new upload and starting from the beginning');
        upload = await createUpload(context, client);
      }
    }
  } finally {
    reader.close();
  }
}

/** Step 1: the new asset's settings, and the upload id and URL. */
async function createUpload(context: UploadContext<MuxDestination>, client: MuxClient): Promise<{ id: string; url: string; offset: number }> {
  const { source, network, log } = context;
  const answer = await client.api('create', 'POST', '/video/v1/uploads', createUploadBody(context.destination));
  if (answer.status !== 201 && answer.status !== 200) throw errorForAnswer(answer, 'create');
  const data = dataOf(answer) as { id?: unknown; url?: unknown } | undefined;
  if (typeof data?.id !== 'string' || !data.id || typeof data.url !== 'string' || !data.url) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `Mux answered ${answer.status} to the create-upload request without an upload id and URL`, { destination: 'mux', status: answer.status });
  }
  const url = new URL(data.url);
  await network.assertAllowed(url);
  await context.checkpoint.save<MuxCheckpoint>({ version: 1, upload_id: data.id, upload_url: url.toString(), size: source.size, offset: 0 });
  log.info({ upload_id: data.id, upload_host: url.host, bytes: source.size }, 'Mux direct upload created');
  context.reportProgress(0);
  return { id: data.id, url: url.toString(), offset: 0 };
}

/**
 * The create-upload body of the destination's parameters
 * (https://www.mux.com/docs/api-reference/video/direct-uploads/create-direct-upload).
 * `playback_policies` is the current name of the list (`playback_policy` is its older one).
 */
export function createUploadBody(destination: MuxDestination): Record<string, unknown> {
  return {
    ...(destination.cors_origin !== undefined ? { cors_origin: destination.cors_origin } : {}),
    new_asset_settings: {
      playback_policies: [destination.playback_policy],
      ...(destination.passthrough !== undefined ? { passthrough: destination.passthrough } : {}),
      ...(destination.mp4_support !== undefined ? { mp4_support: destination.mp4_support } : {}),
    },
    ...(destination.test ? { test: true } : {}),
    timeout: UPLOAD_TIMEOUT_SECONDS,
  };
}

/**
 * Steps 2 and 3: the chunks from `offset` (unknown: ask the session first) until the session
 * is complete. An interruption (connection lost, timeout, 5xx) makes it ask where the session
 * stands and go on from there, up to MAX_INTERRUPTIONS in a row; then the attempt fails as
 * transient and the job's retry resumes from the checkpoint.
 */
async function sendFile(context: UploadContext<MuxDestination>, client: MuxClient, reader: SourceRangeReader, id: string, url: string, startOffset: number | undefined): Promise<void> {
  const { source, signal, log } = context;
  const size = source.size;
  let offset = startOffset;
  let interruptions = 0;
  let confirmed = startOffset ?? -1;

  for (;;) {
    if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to Mux was aborted between two chunks; it resumes from its last chunk', { destination: 'mux' });
    try {
      const state =
        offset === undefined || offset >= size
          ? await sessionRequest(client, url, 'status', { 'content-range': `bytes */${size}` }, Buffer.alloc(0), size)
          : await sendChunk(client, reader, url, offset, size, context.contentType);
      if (state === 'complete') return;
      if (state.stored >= size) {
        throw new FleetError('UF_DESTINATION_UNAVAILABLE', 'The Mux upload URL has stored every byte but does not say the upload is complete', { destination: 'mux', status: 308 });
      }
      if (state.stored > confirmed) {
        confirmed = state.stored;
        interruptions = 0;
      }
      offset = state.stored;
      await context.checkpoint.save<MuxCheckpoint>({ version: 1, upload_id: id, upload_url: url, size, offset });
      context.reportProgress(offset);
    } catch (raw) {
      if (raw instanceof UploadExpired) throw raw;
      // Whatever broke after the abort (the source stream it destroyed, the request) is its doing.
      if (signal.aborted) throw abortedError(raw, { destination: 'mux', where: 'Mux', signal, abortNote: '; it resumes from its last chunk' }) ?? raw;
      const error = fleetErrorIn(raw) ?? new FleetError('UF_UNKNOWN', `The upload to Mux failed: ${(raw as Error).name}`, { destination: 'mux', cause: raw });
      interruptions += 1;
      if (!isInterruption(error) || interruptions > MAX_INTERRUPTIONS) throw error;
      log.warn({ code: error.code, offset, interruption: interruptions }, 'the upload was interrupted; asking the session where it stands');
      await pause(INTERRUPTION_PAUSE_MS * 2 ** (interruptions - 1), signal);
      offset = undefined;
    }
  }
}

type SessionState = { stored: number } | 'complete';

async function sendChunk(client: MuxClient, reader: SourceRangeReader, url: string, offset: number, size: number, contentType: string): Promise<SessionState> {
  const end = Math.min(offset + CHUNK_BYTES, size);
  const bytes = await reader.read(offset, end - offset);
  // A source longer than its announced size would make Mux store a different file.
  if (end === size) await reader.expectEnd();
  return sessionRequest(client, url, 'chunk', { 'content-type': contentType, 'content-range': `bytes ${offset}-${end - 1}/${size}` }, bytes, size);
}

async function sessionRequest(client: MuxClient, url: string, step: MuxStep, headers: Record<string, string>, body: Buffer, size: number): Promise<SessionState> {
  const answer = await client.put(step, url, headers, body);
  if (answer.status === 200 || answer.status === 201) return 'complete';
  if (answer.status === 308) return { stored: storedBytes(answer, size) };
  if (answer.status === 404 || answer.status === 410) throw new UploadExpired(answer.status);
  throw errorForAnswer(answer, step);
}

/** `Range: bytes=0-N` means bytes 0..N are stored; no Range header means none are. */
export function storedBytes(answer: Pick<MuxAnswer, 'headers'>, size: number): number {
  const raw = answer.headers.range;
  const range = Array.isArray(raw) ? raw[0] : raw;
  if (!range) return 0;
  const match = /^bytes=0-(\d+)$/.exec(range.trim());
  if (!match) throw new FleetError('UF_DESTINATION_UNAVAILABLE', `The Mux upload URL answered 308 with a Range header the protocol does not have (${range})`, { destination: 'mux', status: 308 });
  return Math.min(Number(match[1]) + 1, size);
}

export function dataOf(answer: MuxAnswer): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(answer.body) as { data?: unknown };
    return parsed && typeof parsed.data === 'object' && parsed.data !== null ? (parsed.data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function usableCheckpoint(checkpoint: MuxCheckpoint | undefined, size: number, log: UploadContext<MuxDestination>['log']): MuxCheckpoint | undefined {
  if (!checkpoint) return undefined;
  if (checkpoint.version !== 1 || typeof checkpoint.upload_id !== 'string' || typeof checkpoint.upload_url !== 'string' || checkpoint.size !== size) {
    log.warn({ checkpoint_size: checkpoint.size, size }, 'the checkpoint does not belong to this file; creating a new direct upload');
    return undefined;
  }
  return checkpoint;
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new FleetError('UF_ABORTED', 'The upload to Mux was aborted while waiting to resume', { destination: 'mux', cause: error });
  }
}
