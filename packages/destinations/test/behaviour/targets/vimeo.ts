import { vimeoDestinationSchema } from '../../../src/vimeo/definition.js';
import type { Destination } from '@upload-fleet/destinations/definitions';
import { startVimeoFake, VIMEO_FAKE_TOKEN } from '@upload-fleet/testkit';
import { createVimeoAdapter } from '../../../src/vimeo/index.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

const MiB = 1024 * 1024;

/**
 * The Vimeo adapter against the testkit's Vimeo API fake, whose upload links point at a
 * real tus server (@tus/server with @tus/file-store). A "name" is the video's name; what is
 * stored under it is the newest video with that name (a second upload is a second video,
 * as on Vimeo). Chunks of 8 MiB, so a resume has offsets to continue from.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const fake = await startVimeoFake();
  const config = { apiBaseUrl: fake.apiBaseUrl, chunkBytes: 8 * MiB, transcodeWaitMs: 2_000, transcodePollMs: 100 };
  const destination = (name: string, fields: Record<string, unknown> = {}): Destination =>
    vimeoDestinationSchema.parse({
      type: 'vimeo',
      name,
      description: 'Uploaded by the shared behaviour suite.',
      privacy: { view: 'unlisted', embed: 'public', comments: 'nobody', download: false },
      oauth_access_token: VIMEO_FAKE_TOKEN,
      ...fields,
    });
  return {
    type: 'vimeo',
    resumable: true,
    adapter: createVimeoAdapter(config),
    destination: (name) => destination(name),
    async stored(name) {
      const video = fake.videoByName(name);
      if (!video) return undefined;
      const stored = await fake.stored(video);
      return stored.offset === video.size ? { size: stored.size, sha256: stored.sha256 } : undefined;
    },
    copies: async (name) => fake.videos.filter((video) => video.name === name).length,
    bytesReceived: () => fake.bytesReceived,
    throttle: (bytesPerSecond) => fake.throttle(bytesPerSecond),
    workerEnv: () => ({ VIMEO_API_BASE_URL: fake.apiBaseUrl, VIMEO_CHUNK_BYTES: String(8 * MiB), VIMEO_TRANSCODE_WAIT_MS: '2000', VIMEO_TRANSCODE_POLL_MS: '100' }),
    async errorCases(): Promise<ErrorCase[]> {
      return [
        {
          name: '401 error_code 8003 for an inline oauth_access_token that is invalid',
          destination: destination('e-401', { oauth_access_token: 'revoked-or-invalid' }),
          code: 'UF_RECONNECT_REQUIRED',
          category: 'auth',
          before: () => fake.setFaults([]),
        },
        {
          name: '429 with X-RateLimit-Reset',
          destination: destination('e-429'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: () => fake.rateLimitNext(30_000),
        },
        {
          name: '403 error_code 4003: the weekly upload quota is used up',
          destination: destination('e-quota'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: () => fake.exhaustWeeklyQuota(),
        },
        {
          name: '400 error_code 2204: a folder that does not exist',
          destination: destination('e-folder', { folder_uri: '/users/12345/projects/999' }),
          code: 'UF_DESTINATION_REJECTED',
          category: 'permanent',
          before: () => fake.resetWeeklyQuota(),
        },
        {
          name: '503 from the API',
          destination: destination('e-503'),
          code: 'UF_DESTINATION_UNAVAILABLE',
          category: 'transient',
          // The last case: it consumes its only fault, so the server is clean afterwards.
          before: () => fake.setFaults([{ step: 'create', status: 503 }]),
        },
      ];
    },
    close: () => fake.close(),
  };
}
