import { FleetError } from '@upload-fleet/core';
import type { UploadContext } from '../adapter.js';
import type { YouTubeClient } from './client.js';
import type { YouTubeDestination, YouTubeSettings } from './definition.js';
import { errorForAnswer } from './errors.js';
import type { StepError } from './follow-ups.js';
import { readSideFile } from './side-files.js';

/**
 * `thumbnail`: thumbnails.set after the upload
 * (https://developers.google.com/youtube/v3/docs/thumbnails/set): POST the image itself as
 * the body to {uploadBaseUrl}/thumbnails/set?videoId=... (a simple media upload). YouTube
 * takes at most 2 MB of image/jpeg or image/png; both are checked here first, so a file
 * YouTube would refuse (invalidImage) costs no request and the message says what is wrong.
 * The type is read from the file's first bytes, not from its name or a server's header.
 * Quota: about 50 units.
 */

export interface ThumbnailOutcome {
  set: boolean;
  error?: StepError;
}

export const THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024;

export async function setThumbnail(context: UploadContext<YouTubeDestination>, client: YouTubeClient, config: YouTubeSettings, videoId: string): Promise<void> {
  const image = await readSideFile(context, context.destination.thumbnail!, 'thumbnail', THUMBNAIL_MAX_BYTES, 'thumbnails of at most 2 MB');
  const contentType = imageTypeOf(image.bytes);
  if (!contentType) {
    throw new FleetError('UF_DESTINATION_REJECTED', `thumbnail (${image.description}) is not a JPEG or PNG image (by its first bytes); YouTube takes only those: convert it and submit again`, { destination: 'youtube' });
  }
  const url = new URL(`${config.uploadBaseUrl.replace(/\/+$/, '')}/thumbnails/set`);
  url.searchParams.set('videoId', videoId);
  url.searchParams.set('uploadType', 'media');
  await context.network.assertAllowed(url);
  const answer = await client.send({ step: 'thumbnail', method: 'POST', url: url.toString(), headers: { 'content-type': contentType }, body: image.bytes });
  if (answer.status < 200 || answer.status >= 300) throw errorForAnswer(answer, 'thumbnail');
  context.log.info({ video_id: videoId, bytes: image.bytes.length, type: contentType }, 'set the thumbnail');
}

/** JPEG starts FF D8 FF; PNG with its 8-byte signature. */
export function imageTypeOf(bytes: Buffer): 'image/jpeg' | 'image/png' | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'image/png';
  return undefined;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
