import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError, type ScopedLogger } from '@upload-fleet/core';
import { fleetErrorIn } from '../transport-errors.js';

/**
 * Google's resumable upload protocol, after the session has started: the part YouTube's
 * videos.insert and Cloud Storage's objects.insert share, because both are the same Google
 * upload front end (https://cloud.google.com/storage/docs/performing-resumable-uploads,
 * https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol).
 *
 * - PUT the file in chunks to the session URI, each with `Content-Range: bytes a-b/size`.
 *   Google answers 308 with `Range: bytes=0-N` (what it has stored, which may be less than
 *   was sent: go on from N+1) until the last byte, then 200/201 with the resource.
 * - After any interruption, PUT an empty body with `Content-Range: bytes * /size`: the
 *   answer is the 308 with where the session stands, or the finished resource.
 * - A session that answers 404 or 410 has expired (after about a week) or was cancelled:
 *   start a new one from the beginning (`uploadWithRestart`).
 *
 * How a session starts (the resource, the query) and what its answers mean in the error
 * taxonomy are each platform's: they come in through `ResumablePlatform`.
 */

/**
 * Chunk size: Google wants multiples of 256 KiB for every chunk but the last. Bigger
 * chunks mean fewer requests; smaller ones less to resend after a failure and finer
 * progress. 8 MiB is what Google's client libraries use by default.
 */
export const RESUMABLE_CHUNK_BYTES = 8 * 1024 * 1024;

/** Interruptions in a row (without progress) the chunk loop rides out before the attempt fails. */
const MAX_INTERRUPTIONS = 3;
/** The wait before asking the session where it stands, doubling with each interruption in a row. */
const INTERRUPTION_PAUSE_MS = 500;

/** An HTTP answer, whatever its status. */
export interface SessionAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The requests on a session URI: a chunk, or the empty status query. */
export type SessionStep = 'chunk' | 'status';

/** What differs between the platforms behind the same upload front end. */
export interface ResumablePlatform<Resource> {
  /** The destination type, for FleetErrors. */
  readonly destination: string;
  /** The platform in messages: "YouTube". */
  readonly label: string;
  /** What the session creates, in messages: "video", "object". */
  readonly creates: string;
  /** A PUT on the session URI; failures without an answer come back as FleetErrors. */
  put(step: SessionStep, uri: string, headers: Record<string, string>, body: Buffer): Promise<SessionAnswer>;
  /** Why a non-2xx (and non-308) answer failed the step. */
  errorForAnswer(answer: SessionAnswer, step: SessionStep): FleetError;
  /** The codes the chunk loop may recover from by asking the session where it stands. */
  isInterruption(error: FleetError): boolean;
  /** The created resource of a 200/201 answer; throws a FleetError when the answer has none. */
  resourceOf(answer: SessionAnswer): Resource;
  /** Headers for the chunk that carries the last byte, read after that chunk was read (Cloud Storage: X-Goog-Hash). */
  lastChunkHeaders?(): Record<string, string>;
}

/** Reads the file's bytes [offset, offset + length), from one stream where it can. */
export interface ChunkSource {
  read(offset: number, length: number): Promise<Buffer>;
}

/** One run of the chunk loop over a session. */
export interface SessionRun<Resource> {
  readonly platform: ResumablePlatform<Resource>;
  readonly reader: ChunkSource;
  readonly size: number;
  /** Content-Type of the chunks. */
  readonly contentType: string;
  readonly signal: AbortSignal;
  readonly log: ScopedLogger;
  /** After every 308: saves where the session stands (the checkpoint) and reports the progress. */
  stored(uri: string, offset: number): Promise<void>;
  readonly chunkBytes?: number;
}

/** A session as the loop receives it: `offset` undefined means "ask it first". */
export interface OpenSession {
  uri: string;
  offset: number | undefined;
}

/** The session expired: the caller starts a new one. */
export class SessionExpired extends Error {
  constructor(readonly status: number) {
    super(`the upload session answered ${status}`);
  }
}

/**
 * Sends the file through `session`; when it has expired, starts one new session (`start`)
 * and sends the whole file again. A second expiry within one attempt is no longer "the
 * session was old": the attempt fails as transient and the job retries later.
 */
export async function uploadWithRestart<Resource>(run: SessionRun<Resource>, session: OpenSession, start: () => Promise<OpenSession>): Promise<Resource> {
  const { platform, log } = run;
  let current = session;
  let restarted = false;
  for (;;) {
    try {
      return await sendThroughSession(run, current.uri, current.offset);
    } catch (error) {
      if (!(error instanceof SessionExpired)) throw error;
      if (restarted) {
        throw new FleetError('UF_DESTINATION_UNAVAILABLE', `${platform.label} answered ${error.status} for an upload session it had just created`, {
          destination: platform.destination,
          status: error.status,
        });
      }
      restarted = true;
      log.warn({ status: error.status }, 'the upload session expired; starting a new one from the beginning');
      current = await start();
    }
  }
}

/**
 * Sends the chunks from `startOffset` (unknown: ask the session first) until the platform
 * answers with the resource. An interruption (connection lost, timeout, 5xx) makes it ask
 * the session where it stands and go on from there, up to MAX_INTERRUPTIONS in a row; then
 * the attempt fails as transient and the job's retry resumes from the checkpoint.
 */
export async function sendThroughSession<Resource>(run: SessionRun<Resource>, uri: string, startOffset: number | undefined): Promise<Resource> {
  const { platform, size, signal, log } = run;
  const chunkBytes = run.chunkBytes ?? RESUMABLE_CHUNK_BYTES;
  let offset = startOffset;
  let interruptions = 0;
  // The most the platform has confirmed so far: only getting past it ends a run of interruptions.
  let confirmed = startOffset ?? -1;

  for (;;) {
    if (signal.aborted) throw new FleetError('UF_ABORTED', `The upload to ${platform.label} was aborted between two chunks`, { destination: platform.destination });
    try {
      // Nothing left to send (or an empty file): the status query's answer is the resource.
      const state =
        offset === undefined || offset >= size
          ? await sessionRequest(platform, uri, 'status', size, { 'content-range': `bytes */${size}` }, Buffer.alloc(0))
          : await sendChunk(run, uri, offset, chunkBytes);
      if ('resource' in state) return state.resource;
      if (state.stored >= size) {
        throw new FleetError('UF_DESTINATION_UNAVAILABLE', `${platform.label} has stored every byte of the ${platform.creates} but has not created it`, { destination: platform.destination, status: 308 });
      }
      if (offset !== undefined && state.stored < Math.min(offset + chunkBytes, size)) {
        log.info({ sent_up_to: Math.min(offset + chunkBytes, size), stored: state.stored }, `${platform.label} kept fewer bytes than were sent; going on from what it stored`);
      }
      if (state.stored > confirmed) {
        confirmed = state.stored;
        interruptions = 0;
      }
      offset = state.stored;
      await run.stored(uri, offset);
    } catch (raw) {
      if (raw instanceof SessionExpired) throw raw;
      const error =
        fleetErrorIn(raw) ?? new FleetError('UF_UNKNOWN', `The upload to ${platform.label} failed: ${(raw as Error).message}`, { destination: platform.destination, cause: raw });
      interruptions += 1;
      if (!platform.isInterruption(error) || interruptions > MAX_INTERRUPTIONS) throw error;
      log.warn({ code: error.code, offset, interruption: interruptions }, 'the upload was interrupted; asking the session where it stands');
      await pause(INTERRUPTION_PAUSE_MS * 2 ** (interruptions - 1), signal, platform);
      offset = undefined;
    }
  }
}

type SessionState<Resource> = { stored: number } | { resource: Resource };

/** One chunk, [offset, offset + chunkBytes) or what is left. */
async function sendChunk<Resource>(run: SessionRun<Resource>, uri: string, offset: number, chunkBytes: number): Promise<SessionState<Resource>> {
  const { platform, size } = run;
  const end = Math.min(offset + chunkBytes, size);
  const bytes = await run.reader.read(offset, end - offset);
  const last = end === size ? (platform.lastChunkHeaders?.() ?? {}) : {};
  return sessionRequest(platform, uri, 'chunk', size, { 'content-type': run.contentType, 'content-range': `bytes ${offset}-${end - 1}/${size}`, ...last }, bytes);
}

/** A PUT on the session URI (a chunk or a status query) and what its answer says. */
async function sessionRequest<Resource>(
  platform: ResumablePlatform<Resource>,
  uri: string,
  step: SessionStep,
  size: number,
  headers: Record<string, string>,
  body: Buffer,
): Promise<SessionState<Resource>> {
  const answer = await platform.put(step, uri, headers, body);
  if (answer.status === 200 || answer.status === 201) return { resource: platform.resourceOf(answer) };
  if (answer.status === 308) return { stored: storedBytes(answer, size, platform) };
  if (answer.status === 404 || answer.status === 410) throw new SessionExpired(answer.status);
  throw platform.errorForAnswer(answer, step);
}

/**
 * `Range: bytes=0-N` means bytes 0..N are stored; no Range header means none are (Google's
 * client libraries had to learn this: a 308 without Range is 0 bytes, not an error).
 */
export function storedBytes(answer: Pick<SessionAnswer, 'headers'>, size: number, platform: Pick<ResumablePlatform<unknown>, 'label' | 'destination'>): number {
  const range = headerOf(answer.headers.range);
  if (!range) return 0;
  const match = /^bytes=0-(\d+)$/.exec(range.trim());
  if (!match) {
    throw new FleetError('UF_DESTINATION_UNAVAILABLE', `${platform.label} answered 308 with a Range header the protocol does not have (${range})`, { destination: platform.destination, status: 308 });
  }
  return Math.min(Number(match[1]) + 1, size);
}

async function pause(ms: number, signal: AbortSignal, platform: ResumablePlatform<unknown>): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    throw new FleetError('UF_ABORTED', `The upload to ${platform.label} was aborted while waiting to resume`, { destination: platform.destination, cause: error });
  }
}

export function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
