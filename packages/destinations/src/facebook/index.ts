import { FleetError, type UploadResult } from '@upload-fleet/core';
import type { FacebookDestination } from './definition.js';
import type { DestinationAdapter, UploadContext } from '../adapter.js';
import type { FacebookSettings } from './definition.js';
import { chunkBody, formBody } from './chunk-body.js';
import { classifyGraphAnswer, offsetValue, type GraphOutcome, type UploadPhase } from './errors.js';
import { postToGraph, type GraphRequestBody } from './graph-client.js';
import { SourceReader } from './source-reader.js';

/**
 * The Facebook destination: Graph API resumable video upload to `/{version}/me/videos` on
 * the job's `endpoint` (https://developers.facebook.com/docs/graph-api/video-uploads).
 * `me` is whoever the token belongs to: a Page access token posts on the Page, a user
 * token on the profile.
 *
 *   start     upload_phase=start, file_size        -> upload_session_id, video_id, start_offset, end_offset
 *   transfer  upload_phase=transfer, upload_session_id, start_offset, video_file_chunk (multipart):
 *             exactly the bytes [start_offset, end_offset) Graph asked for; the answer names
 *             the next range, until start_offset == end_offset
 *   finish    upload_phase=finish, upload_session_id, title, description (+ name, caption, message)
 *
 * Graph decides the chunk sizes. The session (ids and the next range) is checkpointed after
 * every answer, so a retry, on any worker, continues the same session: it sends the range
 * of the checkpoint, and if Graph got further than the checkpoint knows (the answer was
 * lost), Graph says which range it wants (subcode 1363037) and the upload follows. A
 * session Facebook timed out (subcode 1363030) is replaced by a new one, once per attempt.
 *
 * Where each destination field goes is in docs/destinations/facebook.md.
 */
export function createFacebookAdapter(config: FacebookSettings): DestinationAdapter<'facebook'> {
  return {
    type: 'facebook',
    upload: (context) => new FacebookUpload(context, config.apiVersion).run(),
  };
}

/** Resumable state, saved after every Graph answer. */
export interface FacebookCheckpoint {
  /** The `/{version}/me/videos` URL the session belongs to: another endpoint or version starts over. */
  videosUrl: string;
  fileSize: number;
  uploadSessionId: string;
  videoId: string;
  /** The range Graph asked for next; equal once Graph has the whole file. */
  startOffset: number;
  endOffset: number;
  /** Finish succeeded: a retry (the worker died before recording the result) only returns it. */
  finished?: boolean;
}

/** Answers in a row that do not move start_offset before the upload gives up for this attempt. */
const MAX_ANSWERS_WITHOUT_PROGRESS = 5;

/** The session is gone on Facebook's side; the upload starts a new one. */
class SessionLost extends Error {
  constructor(readonly error: FleetError) {
    super(error.message);
  }
}

class FacebookUpload {
  private readonly destination: FacebookDestination;
  private readonly reader: SourceReader;
  private readonly token: string;
  private readonly videosUrl: URL;

  constructor(
    private readonly context: UploadContext<FacebookDestination>,
    apiVersion: string,
  ) {
    this.destination = context.destination;
    this.reader = new SourceReader(context.source);
    this.token = context.destination.oauth_access_token ?? '';
    this.videosUrl = videosUrlOf(context.destination.endpoint, apiVersion);
  }

  async run(): Promise<UploadResult> {
    const { network, log, source } = this.context;
    if (!this.token) {
      throw new FleetError(
        'UF_CREDENTIALS_INVALID',
        'The Facebook destination has no oauth_access_token, and the Graph API uploads videos only with one. Pass oauth_access_token: a Page access token (with pages_manage_posts) to post on a Page, or a user access token (with publish_video) for a profile',
        { destination: 'facebook' },
      );
    }
    this.throwIfAborted();
    // The endpoint is the caller's: refuse private and metadata addresses before anything
    // is sent (the token included); the lookup given to every connection checks again.
    await network.assertAllowed(this.videosUrl);

    try {
      let state = await this.checkpointed();
      if (state?.finished) {
        log.info({ video_id: state.videoId }, 'the Facebook upload was finished by an earlier attempt');
        return this.resultOf(state);
      }
      if (state) log.info({ video_id: state.videoId, start_offset: state.startOffset, bytes: source.size }, 'resuming the Facebook upload session');
      let resumed = state !== undefined;
      state ??= await this.start();

      let replaced = false;
      for (;;) {
        try {
          state = await this.transferAll(state, resumed);
          break;
        } catch (error) {
          if (!(error instanceof SessionLost)) throw error;
          if (replaced) throw error.error;
          replaced = true;
          log.warn({ video_id: state.videoId }, 'Facebook ended the upload session; starting a new one');
          state = await this.start();
          resumed = false;
        }
      }

      await this.finish(state);
      return this.resultOf(state);
    } finally {
      this.reader.close();
    }
  }

  /** The checkpoint, when it belongs to this file and endpoint. */
  private async checkpointed(): Promise<FacebookCheckpoint | undefined> {
    const saved = await this.context.checkpoint.load<FacebookCheckpoint>();
    if (!saved) return undefined;
    const usable =
      saved.videosUrl === this.videosUrl.toString() &&
      saved.fileSize === this.context.source.size &&
      typeof saved.uploadSessionId === 'string' &&
      typeof saved.videoId === 'string' &&
      validRange(saved.startOffset, saved.endOffset, saved.fileSize);
    if (!usable) {
      this.context.log.warn({}, 'the Facebook checkpoint belongs to another file, endpoint or API version; starting a new session');
      return undefined;
    }
    return saved;
  }

  private async start(): Promise<FacebookCheckpoint> {
    const size = this.context.source.size;
    const answer = await this.call('start', formBody({ upload_phase: 'start', file_size: String(size) }));
    const uploadSessionId = idIn(answer, 'upload_session_id');
    const videoId = idIn(answer, 'video_id');
    const startOffset = offsetValue(answer.start_offset);
    const endOffset = offsetValue(answer.end_offset);
    if (!uploadSessionId || !videoId || startOffset === undefined || endOffset === undefined || !validRange(startOffset, endOffset, size)) {
      throw unexpectedAnswer('start', 'upload_session_id, video_id and a byte range within the file');
    }
    const state: FacebookCheckpoint = { videosUrl: this.videosUrl.toString(), fileSize: size, uploadSessionId, videoId, startOffset, endOffset };
    await this.context.checkpoint.save(state);
    this.context.log.info({ video_id: videoId, bytes: size, first_chunk: endOffset - startOffset }, 'Facebook upload session started');
    return state;
  }

  /** Sends the ranges Graph asks for until it has the whole file. */
  private async transferAll(initial: FacebookCheckpoint, resumed: boolean): Promise<FacebookCheckpoint> {
    let state = initial;
    let withoutProgress = 0;
    let first = true;
    while (state.startOffset < state.endOffset) {
      const next = await this.transfer(state, resumed && first);
      first = false;
      withoutProgress = next.startOffset > state.startOffset ? 0 : withoutProgress + 1;
      if (withoutProgress >= MAX_ANSWERS_WITHOUT_PROGRESS) {
        throw new FleetError('UF_DESTINATION_UNAVAILABLE', `Facebook asked for the bytes from ${next.startOffset} ${withoutProgress} times in a row without accepting them`, {
          destination: 'facebook',
        });
      }
      state = { ...state, ...next };
      await this.context.checkpoint.save(state);
      this.context.reportProgress(state.startOffset);
    }
    return state;
  }

  /** One chunk: the range Graph asked for. Returns the range Graph asks for next. */
  private async transfer(state: FacebookCheckpoint, firstOfResumedSession: boolean): Promise<{ startOffset: number; endOffset: number }> {
    const { startOffset, endOffset } = state;
    const length = endOffset - startOffset;
    const body = chunkBody(
      { upload_phase: 'transfer', upload_session_id: state.uploadSessionId, start_offset: String(startOffset) },
      {
        field: 'video_file_chunk',
        filename: `video.${(this.context.extension ?? 'mp4').replace(/[^A-Za-z0-9]/g, '') || 'mp4'}`,
        contentType: this.context.contentType,
        length,
        bytes: this.reader.range(startOffset, length),
      },
    );
    const outcome = await this.send('transfer', body, (transferred) => this.context.reportProgress(startOffset + body.chunkBytesWithin(transferred)));

    if (outcome.kind === 'answer') {
      const next = { startOffset: offsetValue(outcome.json.start_offset), endOffset: offsetValue(outcome.json.end_offset) };
      if (next.startOffset === undefined || next.endOffset === undefined || !validRange(next.startOffset, next.endOffset, state.fileSize)) {
        throw unexpectedAnswer('transfer', 'the next byte range within the file');
      }
      this.context.log.debug({ video_id: state.videoId, start_offset: next.startOffset, end_offset: next.endOffset }, 'Facebook took a chunk');
      return next as { startOffset: number; endOffset: number };
    }
    if (outcome.kind === 'offsets') {
      if (!validRange(outcome.startOffset, outcome.endOffset, state.fileSize)) throw unexpectedAnswer('transfer', 'a byte range within the file');
      this.context.log.info({ video_id: state.videoId, sent_from: startOffset, start_offset: outcome.startOffset, end_offset: outcome.endOffset }, 'Facebook expects another range; following it');
      return { startOffset: outcome.startOffset, endOffset: outcome.endOffset };
    }
    if (outcome.kind === 'session-expired') throw new SessionLost(outcome.error);
    // A resumed session Graph no longer knows can come back as "invalid parameter": the
    // only parameters of a transfer are the session, the offset and the chunk.
    if (firstOfResumedSession && outcome.graphCode === 100) throw new SessionLost(outcome.error);
    throw outcome.error;
  }

  private async finish(state: FacebookCheckpoint): Promise<void> {
    const { title, description, name, caption, message } = this.destination;
    const fields: Record<string, string> = { upload_phase: 'finish', upload_session_id: state.uploadSessionId, title, description };
    if (name !== undefined) fields.name = name;
    if (caption !== undefined) fields.caption = caption;
    if (message !== undefined) fields.message = message;
    const answer = await this.call('finish', formBody(fields));
    if (answer.success !== true && answer.success !== 'true') throw unexpectedAnswer('finish', '"success": true');
    await this.context.checkpoint.save({ ...state, finished: true });
    this.context.reportProgress(state.fileSize);
    this.context.log.info({ video_id: state.videoId, bytes: state.fileSize }, 'Facebook upload finished');
  }

  /** A request whose only acceptable outcome is a success answer. */
  private async call(phase: UploadPhase, body: GraphRequestBody): Promise<Record<string, unknown>> {
    const outcome = await this.send(phase, body);
    if (outcome.kind === 'answer') return outcome.json;
    if (outcome.kind === 'error' || outcome.kind === 'session-expired') throw outcome.error;
    throw unexpectedAnswer(phase, 'a success answer');
  }

  private async send(phase: UploadPhase, body: GraphRequestBody, onUploadProgress?: (transferred: number) => void): Promise<{ kind: 'answer'; json: Record<string, unknown> } | GraphOutcome> {
    this.throwIfAborted();
    const answer = await postToGraph({
      url: this.videosUrl,
      token: this.token,
      body,
      signal: this.context.signal,
      lookup: this.context.network.lookup,
      ...(onUploadProgress ? { onUploadProgress } : {}),
    });
    const json = answer.json;
    const isObject = json !== null && typeof json === 'object' && !Array.isArray(json);
    if (answer.status >= 200 && answer.status < 300) {
      if (isObject && !('error' in json)) return { kind: 'answer', json: json as Record<string, unknown> };
      if (!isObject) throw unexpectedAnswer(phase, 'a JSON object');
    }
    const outcome = classifyGraphAnswer(answer, phase, this.token);
    if (outcome.kind !== 'offsets') this.context.log.warn({ phase, status: answer.status, code: outcome.error.code }, 'Facebook refused a request');
    return outcome;
  }

  private resultOf(state: FacebookCheckpoint): UploadResult {
    // facebook.com/<object id> opens any Graph object, videos included; the Page-relative
    // permalink (Graph's `permalink_url` field) would cost one more call against the Page's
    // rate limit for every upload.
    return { url: `https://www.facebook.com/${encodeURIComponent(state.videoId)}`, bytes: state.fileSize, video_id: state.videoId };
  }

  private throwIfAborted(): void {
    if (this.context.signal.aborted) {
      throw new FleetError('UF_ABORTED', 'The upload to Facebook was aborted; it resumes from its last chunk', { destination: 'facebook' });
    }
  }
}

/** `{endpoint}/{version}/me/videos`; a path in the endpoint (a proxy's prefix) is kept. */
export function videosUrlOf(endpoint: string, apiVersion: string): URL {
  const base = new URL(endpoint);
  const prefix = base.pathname.replace(/\/+$/, '');
  return new URL(`${base.protocol}//${base.host}${prefix}/${encodeURIComponent(apiVersion)}/me/videos`);
}

function validRange(start: unknown, end: unknown, size: number): boolean {
  return typeof start === 'number' && typeof end === 'number' && Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= size;
}

/** Graph ids are digit strings; anything else (quotes, line breaks) would corrupt the next request's body. */
function idIn(answer: Record<string, unknown>, field: string): string | undefined {
  const value = answer[field];
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  return typeof text === 'string' && /^[\w.:-]{1,256}$/.test(text) ? text : undefined;
}

function unexpectedAnswer(phase: UploadPhase, expected: string): FleetError {
  return new FleetError('UF_UNKNOWN', `Facebook's answer to the ${phase} phase of the upload did not contain ${expected}`, { destination: 'facebook' });
}
