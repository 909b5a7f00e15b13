import { randomBytes } from 'node:crypto';
import type { UploadContext } from '../adapter.js';
import type { YouTubeClient } from './client.js';
import type { YouTubeDestination, YouTubeSettings } from './definition.js';
import { errorForAnswer } from './errors.js';
import type { StepError } from './follow-ups.js';
import { readSideFile } from './side-files.js';

/**
 * `captions`: one captions.insert per track after the upload
 * (https://developers.google.com/youtube/v3/docs/captions/insert): a multipart upload to
 * {uploadBaseUrl}/captions?part=snippet&uploadType=multipart whose first part is the caption
 * resource (`snippet.videoId`, `language`, `name`) and whose second is the subtitle file
 * (SubRip, WebVTT, SBV, TTML...: YouTube detects the format). At most 100 MB per file.
 * Quota: 400 units per track. The scope must include youtube.force-ssl.
 *
 * The body is `multipart/related` (Google's multipart upload), which form-data-encoder does
 * not write (it writes multipart/form-data); it is three lines of framing, written here.
 */

export interface CaptionOutcome {
  language: string;
  name: string;
  /** The caption track's id, once added. */
  id?: string;
  added: boolean;
  error?: StepError;
}

export const CAPTION_MAX_BYTES = 100 * 1024 * 1024;

type Caption = NonNullable<YouTubeDestination['captions']>[number];

/** Adds one track; answers its caption id. */
export async function insertCaption(context: UploadContext<YouTubeDestination>, client: YouTubeClient, config: YouTubeSettings, videoId: string, caption: Caption, index: number): Promise<string> {
  const file = await readSideFile(context, caption.source, `captions[${index}].source`, CAPTION_MAX_BYTES, 'caption files of at most 100 MB');
  const url = new URL(`${config.uploadBaseUrl.replace(/\/+$/, '')}/captions`);
  url.searchParams.set('part', 'snippet');
  url.searchParams.set('uploadType', 'multipart');
  await context.network.assertAllowed(url);
  const boundary = `upload-fleet-${randomBytes(12).toString('hex')}`;
  const resource = { snippet: { videoId, language: caption.language, name: caption.name, isDraft: false } };
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(resource)}\r\n--${boundary}\r\ncontent-type: application/octet-stream\r\n\r\n`),
    file.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const answer = await client.send({ step: 'caption', method: 'POST', url: url.toString(), headers: { 'content-type': `multipart/related; boundary=${boundary}` }, body });
  if (answer.status < 200 || answer.status >= 300) throw errorForAnswer(answer, 'caption');
  let id: unknown;
  try {
    id = (JSON.parse(answer.body) as { id?: unknown }).id;
  } catch {
    id = undefined;
  }
  context.log.info({ video_id: videoId, language: caption.language, bytes: file.bytes.length }, 'added a caption track');
  return typeof id === 'string' ? id : '';
}
