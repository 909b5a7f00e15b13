import { youtubeDestinationSchema } from '../../../src/youtube/definition.js';
import type { Destination } from '@upload-fleet/destinations/definitions';
import { startYouTubeFake, YOUTUBE_FAKE_TOKEN } from '@upload-fleet/testkit';
import { createYouTubeAdapter } from '../../../src/youtube/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

/**
 * The YouTube adapter against the testkit's protocol fake. A "name" is the video's title
 * (the suite's names, 'renders/Grüße aus Köln & co (1) ✓.mp4' included, are valid titles);
 * what is stored under it is the newest video with that title. Overwriting makes a second
 * video, as on YouTube, and the newest one is what `stored` reports.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const fake = await startYouTubeFake();
  // The fake processes a video at the first read of its status, so the verdict costs one request.
  const config = { apiBaseUrl: fake.apiBaseUrl, uploadBaseUrl: fake.uploadBaseUrl, processingWaitMs: 10_000, processingPollMs: 10 };
  const destination = (name: string, fields: Record<string, unknown> = {}): Destination =>
    youtubeDestinationSchema.parse({
      type: 'youtube',
      title: name,
      description: 'Uploaded by the shared behaviour suite.',
      category: '22',
      status: 'unlisted',
      oauth_access_token: YOUTUBE_FAKE_TOKEN,
      ...fields,
    });
  return {
    type: 'youtube',
    resumable: true,
    adapter: createYouTubeAdapter(config),
    destination: (name) => destination(name),
    async stored(name) {
      const video = fake.videoByTitle(name);
      return video && { size: video.size, sha256: video.sha256 };
    },
    copies: async (name) => fake.videos.filter((video) => video.title === name).length,
    bytesReceived: () => fake.bytesReceived,
    throttle: (bytesPerSecond) => fake.throttle(bytesPerSecond),
    workerEnv: () => ({ YOUTUBE_API_BASE_URL: fake.apiBaseUrl, YOUTUBE_UPLOAD_BASE_URL: fake.uploadBaseUrl }),
    async errorCases(): Promise<ErrorCase[]> {
      const faults = (...list: Parameters<typeof fake.setFaults>[0]) => () => fake.setFaults(list);
      return [
        {
          name: 'quotaExceeded (the project\'s daily quota)',
          destination: destination('e-quota'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: faults({ step: 'start', error: 'quotaExceeded' }),
        },
        {
          name: 'uploadLimitExceeded (the channel\'s own limit)',
          destination: destination('e-upload-limit'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: faults({ step: 'start', error: 'uploadLimitExceeded' }),
        },
        {
          name: '401 for an inline oauth_access_token that expired',
          destination: destination('e-401', { oauth_access_token: 'ya29.expired-or-revoked' }),
          code: 'UF_RECONNECT_REQUIRED',
          category: 'auth',
          before: faults(),
        },
        {
          name: '403 insufficientPermissions (token without the upload scope)',
          destination: destination('e-403'),
          code: 'UF_PERMISSION_DENIED',
          category: 'permanent',
          before: faults({ step: 'start', error: 'insufficientPermissions' }),
        },
        {
          // 44 (Trailers) is in the spec's table, but YouTube does not let uploads use it.
          name: 'invalidCategoryId: a category the platform refuses',
          destination: destination('e-category', { category: '44' }),
          code: 'UF_DESTINATION_REJECTED',
          category: 'permanent',
          before: faults(),
        },
        {
          // More resets than the chunk loop rides out within one attempt.
          name: 'connection reset during every chunk',
          destination: destination('e-reset'),
          code: 'UF_NETWORK',
          category: 'transient',
          before: faults({ step: 'chunk', dropAfterBytes: 10, times: 10 }),
        },
        {
          name: '503 backendError',
          destination: destination('e-503'),
          code: 'UF_DESTINATION_UNAVAILABLE',
          category: 'transient',
          // The last case: it consumes its only fault, so the server is clean afterwards.
          before: faults({ step: 'start', error: 'backendError' }),
        },
      ];
    },
    close: () => fake.close(),
  };
}
