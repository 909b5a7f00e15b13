import { setTimeout as sleep } from 'node:timers/promises';
import { FleetError, toFleetError } from '@upload-fleet/core';
import type { UploadContext } from '../adapter.js';
import type { YouTubeClient } from './client.js';
import type { YouTubeDestination, YouTubeSettings } from './definition.js';
import { errorForAnswer } from './errors.js';
import type { VideoResource } from './resumable.js';

/**
 * YouTube's verdict on an uploaded video, read with videos.list?part=status,processingDetails
 * (https://developers.google.com/youtube/v3/docs/videos/list, 1 quota unit a read) until it
 * has one or YOUTUBE_PROCESSING_WAIT_MS has passed, the pause between reads doubling from
 * YOUTUBE_PROCESSING_POLL_MS up to 30 s. What the fields mean
 * (https://developers.google.com/youtube/v3/docs/videos#status):
 *
 * - status.uploadStatus: uploaded (still processing), processed, rejected (with
 *   rejectionReason: duplicate, termsOfUse, copyright, claim, inappropriate, length,
 *   legal, trademark, uploaderAccountClosed, uploaderAccountSuspended), failed (with
 *   failureReason: codec, conversion, emptyFile, invalidFile, tooSmall, uploadAborted),
 *   deleted.
 * - processingDetails.processingStatus: processing, succeeded, failed (with
 *   processingFailureReason: uploadFailed, transcodeFailed, streamingFailed, other),
 *   terminated.
 * - status.privacyStatus "private" when "public" or "unlisted" was asked for: videos
 *   uploaded by an unverified API project created after 28 July 2020 are locked private
 *   (videos.insert's documentation; https://github.com/youtube/api-samples/issues/364).
 *
 * Reading the verdict never fails the delivery: the video exists. A read that fails is
 * logged, and the verdict is what was known so far.
 */

export type Processing = 'processed' | 'processing' | 'rejected' | 'failed' | 'deleted';

export interface Verdict {
  processing: Processing;
  rejection_reason?: string;
  failure_reason?: string;
  privacy_status?: string;
  locked_private?: true;
  /** What the verdict means for the user, when it is not good news. */
  warnings: string[];
}

const MAX_POLL_MS = 30_000;

export async function verdictOf(
  context: UploadContext<YouTubeDestination>,
  client: YouTubeClient,
  config: YouTubeSettings,
  video: VideoResource,
  askedPrivacy: string,
): Promise<Verdict> {
  let latest = video;
  const deadline = Date.now() + config.processingWaitMs;
  let pauseMs = config.processingPollMs;
  while (config.processingWaitMs > 0 && !isFinal(latest)) {
    try {
      latest = await readVideo(client, config, video.id);
    } catch (raw) {
      const error = toFleetError(raw, 'youtube');
      if (error.code === 'UF_ABORTED') throw error;
      context.log.warn({ video_id: video.id, code: error.code }, 'could not read the video\'s processing status; the result says what was known');
      break;
    }
    if (isFinal(latest) || Date.now() + pauseMs > deadline) break;
    try {
      await sleep(pauseMs, undefined, { signal: context.signal });
    } catch (error) {
      throw new FleetError('UF_ABORTED', 'The upload to YouTube was aborted while waiting for YouTube to process the video', { destination: 'youtube', cause: error });
    }
    pauseMs = Math.min(pauseMs * 2, MAX_POLL_MS);
  }
  return judge(latest, askedPrivacy, config.processingWaitMs);
}

async function readVideo(client: YouTubeClient, config: YouTubeSettings, id: string): Promise<VideoResource> {
  const url = new URL(`${config.apiBaseUrl.replace(/\/+$/, '')}/videos`);
  url.searchParams.set('part', 'status,processingDetails');
  url.searchParams.set('id', id);
  const answer = await client.send({ step: 'verdict', method: 'GET', url: url.toString() });
  if (answer.status !== 200) throw errorForAnswer(answer, 'verdict');
  const found = (JSON.parse(answer.body) as { items?: VideoResource[] }).items?.[0];
  // videos.list answers no item for a video that is gone (deleted, or removed by YouTube).
  return found ?? { id, status: { uploadStatus: 'deleted' } };
}

function processingOf(video: VideoResource): Processing {
  const upload = video.status?.uploadStatus;
  const processing = video.processingDetails?.processingStatus;
  if (upload === 'rejected') return 'rejected';
  if (upload === 'failed' || processing === 'failed' || processing === 'terminated') return 'failed';
  if (upload === 'deleted') return 'deleted';
  if (upload === 'processed' || processing === 'succeeded') return 'processed';
  return 'processing';
}

function isFinal(video: VideoResource): boolean {
  return processingOf(video) !== 'processing';
}

function judge(video: VideoResource, askedPrivacy: string, waitMs: number): Verdict {
  const processing = processingOf(video);
  const status = video.status ?? {};
  const failure = status.failureReason ?? video.processingDetails?.processingFailureReason;
  const verdict: Verdict = {
    processing,
    ...(processing === 'rejected' && status.rejectionReason ? { rejection_reason: status.rejectionReason } : {}),
    ...(processing === 'failed' && failure ? { failure_reason: failure } : {}),
    ...(status.privacyStatus ? { privacy_status: status.privacyStatus } : {}),
    warnings: [],
  };
  if (processing === 'rejected') {
    verdict.warnings.push(
      status.rejectionReason === 'duplicate'
        ? 'YouTube rejected the video as a duplicate of one already on the channel (rejectionReason duplicate): it will not play; delete it, or upload a different file'
        : `YouTube rejected the video (rejectionReason ${status.rejectionReason ?? 'not given'}): it will not play; see the channel's YouTube Studio for why`,
    );
  } else if (processing === 'failed') {
    verdict.warnings.push(`YouTube could not process the video (${failure ?? 'no reason given'}): check the file plays and uses a codec YouTube supports, then upload it again`);
  } else if (processing === 'deleted') {
    verdict.warnings.push('The video is no longer on YouTube (deleted, or removed by YouTube)');
  } else if (processing === 'processing' && waitMs > 0) {
    verdict.warnings.push(`YouTube had not finished processing the video after ${Math.round(waitMs / 1000)} s; its status page in YouTube Studio shows the outcome`);
  }
  if (askedPrivacy !== 'private' && status.privacyStatus === 'private') {
    verdict.locked_private = true;
    verdict.warnings.push(
      `YouTube made the video private although "${askedPrivacy}" was asked for: videos uploaded through an unverified Google Cloud API project (created after 28 July 2020) are locked private. Such videos cannot be made public or appealed: the operator must get the fleet's API project audited (https://support.google.com/youtube/contact/yt_api_form); until then, upload videos that must be public through YouTube Studio`,
    );
  }
  return verdict;
}
