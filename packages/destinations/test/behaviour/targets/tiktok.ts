import type { Destination } from '@upload-fleet/destinations/definitions';
import { startTikTokStandIn } from '@upload-fleet/testkit';
import { tiktokDestinationSchema } from '../../../src/tiktok/definition.js';
import { createTikTokAdapter } from '../../../src/tiktok/index.js';
import { tiktokFleetCredentials, tiktokOAuthEnv, type TikTokFleetCredentials } from '../../tiktok-credentials.js';
import type { BehaviourTarget, ErrorCase } from '../target.js';

const MiB = 1024 * 1024;
const PUBLIC_ACCOUNT = ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY'];

/**
 * The TikTok adapter against the testkit's Content Posting API fake and TikTok OAuth fake,
 * with the fleet's own credential provider on a real Redis (TikTok takes auth_secret only).
 * A "name" is the post's title; what is stored under it is the newest post with that title
 * that received every chunk (a second upload is a second post, as on TikTok). Chunks of
 * 8 MiB, so resumes have chunks to continue from. The fake's own posting caps are lifted:
 * the suite posts far more than 15 times a day.
 */
export async function createTarget(): Promise<BehaviourTarget> {
  const standIn = await startTikTokStandIn({ postsPerDay: 10_000, initsPerMinute: 10_000, publishAfterMs: 20 });
  const { api, oauth } = standIn;
  const inProcess = tiktokFleetCredentials(oauth);
  let credentials: TikTokFleetCredentials = inProcess;
  let authSecret = (await inProcess.connect()).authSecret;
  const adapter = createTikTokAdapter({ apiBaseUrl: api.apiBaseUrl, chunkBytes: 8 * MiB, publishWaitMs: 2_000, statusPollMs: 50 });
  const destination = (name: string, fields: Record<string, unknown> = {}): Destination =>
    tiktokDestinationSchema.parse({
      type: 'tiktok',
      title: name,
      privacy_level: 'PUBLIC_TO_EVERYONE',
      disable_duet: true,
      disable_stitch: false,
      disable_comment: false,
      video_cover_timestamp_ms: 500,
      auth_secret: authSecret,
      ...fields,
    });
  return {
    type: 'tiktok',
    resumable: true,
    refusesEmptyFile: { code: 'UF_DESTINATION_REJECTED' },
    adapter: { type: 'tiktok', upload: (context) => adapter.upload({ ...(context as object), credentials: credentials.provider } as never) },
    destination: (name) => destination(name),
    async stored(name) {
      const post = api.posts.filter((p) => p.postInfo.title === name && p.sha256).at(-1);
      return post ? { size: post.stored, sha256: post.sha256! } : undefined;
    },
    copies: async (name) => api.posts.filter((p) => p.postInfo.title === name && p.sha256).length,
    bytesReceived: () => api.bytesReceived,
    throttle: (bytesPerSecond) => api.throttle(bytesPerSecond),
    workerEnv: () => ({
      TIKTOK_API_BASE_URL: api.apiBaseUrl,
      TIKTOK_CHUNK_BYTES: String(8 * MiB),
      TIKTOK_PUBLISH_WAIT_MS: '2000',
      TIKTOK_STATUS_POLL_MS: '50',
      ...tiktokOAuthEnv(oauth),
    }),
    async prepareWorkers(fleet) {
      credentials = tiktokFleetCredentials(oauth, fleet);
      authSecret = (await credentials.connect()).authSecret;
    },
    async errorCases(): Promise<ErrorCase[]> {
      const revoked = await inProcess.connect();
      return [
        {
          name: 'privacy_level not among a private account\'s privacy_level_options (creator_info)',
          destination: destination('e-private-account'),
          code: 'UF_DESTINATION_REJECTED',
          category: 'permanent',
          before: () => api.setPrivacyLevelOptions(['FOLLOWER_OF_CREATOR', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY']),
        },
        {
          name: '403 unaudited_client_can_only_post_to_private_accounts',
          destination: destination('e-unaudited'),
          code: 'UF_DESTINATION_REJECTED',
          category: 'permanent',
          before: () => {
            api.setPrivacyLevelOptions(PUBLIC_ACCOUNT);
            api.setAudited(false);
          },
        },
        {
          name: '403 spam_risk_too_many_posts',
          destination: destination('e-too-many-posts'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: () => {
            api.setAudited(true);
            api.setFaults([{ step: 'init', status: 403, code: 'spam_risk_too_many_posts', message: 'The user has reached the maximum number of posts allowed for the day.' }]);
          },
        },
        {
          name: '429 rate_limit_exceeded',
          destination: destination('e-429'),
          code: 'UF_RATE_LIMITED',
          category: 'rate_limited',
          before: () => api.setFaults([{ step: 'creator-info', status: 429, code: 'rate_limit_exceeded', message: 'API rate limit exceeded, please retry later.' }]),
        },
        {
          name: 'a revoked grant (refresh token refused with invalid_grant)',
          destination: destination('e-revoked', { auth_secret: revoked.authSecret }),
          code: 'UF_RECONNECT_REQUIRED',
          category: 'auth',
          before: () => {
            api.setFaults([]);
            oauth.revokeRefreshToken(revoked.refreshToken);
          },
        },
        {
          name: '503 from video/init',
          destination: destination('e-503'),
          code: 'UF_DESTINATION_UNAVAILABLE',
          category: 'transient',
          // The last case: it consumes its only fault, so the server is clean afterwards.
          before: () => api.setFaults([{ step: 'init', status: 503, code: 'internal_error', message: 'Something went wrong.' }]),
        },
      ];
    },
    async close() {
      await inProcess.close();
      if (credentials !== inProcess) await credentials.close();
      await standIn.close();
    },
  };
}
