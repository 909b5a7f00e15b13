import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError } from '@upload-fleet/core';
import type { UploadContext } from '../adapter.js';
import { SourceRangeReader } from '../source-ranges.js';
import { fleetErrorIn } from '../transport-errors.js';
import type { VimeoClient } from './client.js';
import type { VimeoDestination } from './definition.js';
import { errorForAnswer, headerOf, isInterruption } from './errors.js';

/**
 * The tus 1.0.0 core protocol against Vimeo's upload link
 * (https://developer.vimeo.com/api/upload/videos#resumable-approach, https://tus.io/protocols/resumable-upload):
 *
 * - PATCH with `Upload-Offset: <where the upload stands>`, `Content-Type:
 *   application/offset+octet-stream` and the bytes from there; the answer is 204 with the
 *   new `Upload-Offset`. The server keeps what it received of an interrupted PATCH.
 * - HEAD answers `Upload-Offset` (and `Upload-Length`): where to go on after an
 *   interruption, or after a crash (the checkpoint's offset is not trusted: the PATCH in
 *   flight may have been stored in part).
 * - 409 means the offset sent is not the server's: ask with HEAD and go on from there.
 * - 404 or 410: the upload link is gone (expired); the caller makes a new video.
 *
 * Each PATCH streams up to `chunkBytes` of the file from the source in slices (nothing of
 * the file is held but one slice), and after its answer the offset is saved.
 */

/** Slices a PATCH body is read and sent in. */
const SLICE_BYTES = 1024 * 1024;
/** Interruptions in a row (without progress) the loop rides out before the attempt fails. */
const MAX_INTERRUPTIONS = 3;
/** The wait before asking the upload link where it stands, doubling with each interruption in a row. */
const INTERRUPTION_PAUSE_MS = 500;

/** The upload link answered 404 or 410: it expired or was removed. */
export class UploadLinkGone extends Error {
  constructor(readonly status: number) {
    super(`the upload link answered ${status}`);
    this.name = 'UploadLinkGone';
  }
}

export interface TusProgress {
  /** Saves where the upload stands (the checkpoint). */
  saved(offset: number): Promise<void>;
}

/**
 * Sends the file from `startOffset` (undefined: ask the upload link first) until the upload
 * link holds all of it.
 */
export async function sendFile(
  context: UploadContext<VimeoDestination>,
  client: VimeoClient,
  uploadLink: string,
  startOffset: number | undefined,
  chunkBytes: number,
  progress: TusProgress,
): Promise<void> {
  const { source, signal, log } = context;
  const size = source.size;
  let offset = startOffset;
  let interruptions = 0;
  let confirmed = startOffset ?? -1;

  for (;;) {
    if (signal.aborted) throw new FleetError('UF_ABORTED', 'The upload to Vimeo was aborted between two chunks; it resumes from the offset the upload link reports', { destination: 'vimeo' });
    try {
      if (offset === undefined) {
        offset = await queryOffset(client, uploadLink, size);
        log.info({ offset, bytes: size }, 'the Vimeo upload link reports its offset');
        await progress.saved(offset);
        context.reportProgress(offset);
      }
      if (offset >= size) return;
      offset = await sendChunk(context, client, uploadLink, offset, Math.min(chunkBytes, size - offset));
      await progress.saved(offset);
      context.reportProgress(offset);
      if (offset > confirmed) {
        confirmed = offset;
        interruptions = 0;
      }
    } catch (raw) {
      if (raw instanceof UploadLinkGone) throw raw;
      if (raw instanceof OffsetConflict) {
        log.warn({ offset }, 'the Vimeo upload link holds another offset; asking it where it stands');
        offset = undefined;
        continue;
      }
      const error = fleetErrorIn(raw) ?? new FleetError('UF_UNKNOWN', 'The upload to Vimeo failed unexpectedly', { destination: 'vimeo', cause: raw });
      interruptions += 1;
      if (signal.aborted || !isInterruption(error) || interruptions > MAX_INTERRUPTIONS) throw error;
      log.warn({ code: error.code, offset, interruption: interruptions }, 'the upload was interrupted; asking the upload link where it stands');
      await pause(INTERRUPTION_PAUSE_MS * 2 ** (interruptions - 1), signal);
      offset = undefined;
    }
  }
}

/** HEAD: the offset the upload link holds. */
export async function queryOffset(client: VimeoClient, uploadLink: string, size: number): Promise<number> {
  const answer = await client.tus({ step: 'offset', method: 'HEAD', url: uploadLink, headers: { accept: 'application/vnd.vimeo.*+json;version=3.4' } });
  if (answer.status === 404 || answer.status === 410) throw new UploadLinkGone(answer.status);
  if (answer.status !== 200 && answer.status !== 204) throw errorForAnswer(answer, 'offset');
  const offset = offsetOf(answer.headers);
  const length = headerOf(answer.headers['upload-length']);
  if (offset === undefined || offset > size || (length !== undefined && Number(length) !== size)) {
    throw new UploadLinkGone(answer.status);
  }
  return offset;
}

class OffsetConflict extends Error {}

/** One PATCH of [offset, offset + length); answers the new offset. */
async function sendChunk(context: UploadContext<VimeoDestination>, client: VimeoClient, uploadLink: string, offset: number, length: number): Promise<number> {
  const reader = new SourceRangeReader(context.source, 'vimeo', context.signal);
  try {
    const answer = await client.tus({
      step: 'chunk',
      method: 'PATCH',
      url: uploadLink,
      headers: {
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        'content-length': String(length),
      },
      body: Readable.from(slices(reader, offset, length), { objectMode: false }),
      onUploadProgress: (sent) => context.reportProgress(offset + Math.min(sent, length)),
    });
    if (answer.status === 409) throw new OffsetConflict();
    if (answer.status === 404 || answer.status === 410) throw new UploadLinkGone(answer.status);
    if (answer.status !== 204 && answer.status !== 200) throw errorForAnswer(answer, 'chunk');
    const next = offsetOf(answer.headers);
    if (next === undefined || next < offset || next > offset + length) {
      throw new FleetError('UF_DESTINATION_UNAVAILABLE', `Vimeo answered ${answer.status} to a tus chunk without a valid Upload-Offset`, { destination: 'vimeo', status: answer.status });
    }
    return next;
  } finally {
    reader.close();
  }
}

async function* slices(reader: SourceRangeReader, offset: number, length: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < length; at += SLICE_BYTES) {
    yield await reader.read(offset + at, Math.min(SLICE_BYTES, length - at));
  }
}

function offsetOf(headers: Record<string, string | string[] | undefined>): number | undefined {
  const value = headerOf(headers['upload-offset']);
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new FleetError('UF_ABORTED', 'The upload to Vimeo was aborted while waiting to resume', { destination: 'vimeo', cause: error });
  }
}
