import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings, type OAuthProviderDefinition } from '../definition.js';
import { DAY_MS, MINUTE_MS, credentialKey } from '../limit-keys.js';
import { durationMsSetting, integerSetting, secret, settingGroup, urlSetting } from '@upload-fleet/core';
import { MAX_CHUNK_BYTES, MIN_CHUNK_BYTES } from './chunk-plan.js';

/**
 * TikTok through the Content Posting API's Direct Post with FILE_UPLOAD
 * (docs/destinations/tiktok.md). The user's consent comes through the fleet's TikTok
 * connect flow: a destination names it with `auth_secret`; raw tokens are not accepted
 * (they last 24 hours, shorter than a delivery may wait for its daily posting budget).
 */

/** TikTok's privacy levels (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post, post_info.privacy_level). */
export const TIKTOK_PRIVACY_LEVELS = ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR', 'SELF_ONLY'] as const;

/**
 * The caption's limit: "The video caption ... max length 2200 in UTF-16 runes" (Direct Post
 * reference, post_info.title). A JavaScript string's length counts UTF-16 code units, the
 * same count, so it measures what TikTok measures (an emoji outside the BMP is two).
 */
export const TIKTOK_TITLE_MAX_UTF16 = 2200;

const CONNECT_HINT = 'connect the TikTok account once (POST /v1/connect/tiktok) and send the auth_secret it shows';

export const tiktokDestinationSchema = z.strictObject({
  type: z.literal('tiktok'),
  /** The caption, hashtags and @mentions included. */
  title: z
    .string({ error: 'title must be a string' })
    // String#length, explicitly: zod's max() counts code points, not UTF-16 units.
    .refine((title) => title.length <= TIKTOK_TITLE_MAX_UTF16, `title must be at most ${TIKTOK_TITLE_MAX_UTF16} UTF-16 code units (TikTok's limit for captions; an emoji counts as two)`)
    .optional(),
  /**
   * Who may watch. Required: TikTok's UX guidelines forbid a default, and the value must be
   * one the creator's account allows (creator_info's privacy_level_options), checked before
   * any byte is sent.
   */
  privacy_level: z.enum(TIKTOK_PRIVACY_LEVELS, { error: `privacy_level must be one of ${TIKTOK_PRIVACY_LEVELS.join(', ')}` }),
  disable_duet: z.boolean({ error: 'disable_duet must be true or false' }).optional(),
  disable_stitch: z.boolean({ error: 'disable_stitch must be true or false' }).optional(),
  disable_comment: z.boolean({ error: 'disable_comment must be true or false' }).optional(),
  /** Which frame (ms from the start) becomes the cover. */
  video_cover_timestamp_ms: z
    .number({ error: 'video_cover_timestamp_ms must be a number of milliseconds' })
    .int('video_cover_timestamp_ms must be a whole number of milliseconds')
    .nonnegative('video_cover_timestamp_ms must not be negative')
    .optional(),
  auth_secret: secret(
    z
      .string({ error: (issue) => (issue.input === undefined ? `auth_secret is required: ${CONNECT_HINT}` : 'auth_secret must be a string') })
      .trim()
      .min(1, `auth_secret must not be empty: ${CONNECT_HINT}`),
  ),
});
export type TikTokDestination = z.output<typeof tiktokDestinationSchema>;

/**
 * TikTok's OAuth v2 (https://developers.tiktok.com/doc/login-kit-web,
 * https://developers.tiktok.com/doc/oauth-user-access-token-management): consent at
 * www.tiktok.com/v2/auth/authorize/ with `client_key` and comma-separated scopes, the code
 * exchanged at open.tiktokapis.com/v2/oauth/token/ with client_key and client_secret in the
 * form body. Every answer carries a refresh token (365 days) and the user's open_id; access
 * tokens last 24 hours.
 */
export const tiktokOAuthProvider: OAuthProviderDefinition = {
  id: 'tiktok',
  label: 'TikTok',
  env: 'TIKTOK_OAUTH',
  authUrl: 'https://www.tiktok.com/v2/auth/authorize/',
  tokenUrl: 'https://open.tiktokapis.com/v2/oauth/token/',
  clientAuth: 'body',
  offlineParams: {},
  clientIdParam: 'client_key',
  scopeSeparator: ',',
  accountIdField: 'open_id',
};

/**
 * The post's state when the upload ended: TikTok's status/fetch `status`
 * (https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status), or
 * the last one seen when the wait for PUBLISH_COMPLETE ran out.
 */
export const TIKTOK_PUBLISH_STATES = ['PROCESSING_UPLOAD', 'PROCESSING_DOWNLOAD', 'SEND_TO_USER_INBOX', 'PUBLISH_COMPLETE'] as const;

export const tiktokDefinition = defineDestination({
  type: 'tiktok',
  label: 'TikTok',
  description: 'Posts videos to TikTok accounts (Content Posting API, direct post)',
  schema: tiktokDestinationSchema,
  targetPath: null,
  example: {
    type: 'tiktok',
    title: 'Behind the scenes #render',
    privacy_level: 'SELF_ONLY',
    disable_duet: false,
    disable_stitch: true,
    disable_comment: false,
    video_cover_timestamp_ms: 1000,
    auth_secret: 'ufc_example.secret',
  },
  result: baseResultSchema.extend({
    /** https://www.tiktok.com/@<username>/video/<post id> once TikTok names the post; null before. */
    url: z.string().nullable(),
    publish_id: z.string(),
    /** The public post id (status/fetch's publicaly_available_post_id), null until moderation is done. */
    post_id: z.string().nullable(),
    publish_status: z.enum(TIKTOK_PUBLISH_STATES),
  }),
  limits: {
    // The adapter names the creator (`accountOf`: creator_info's username); this is the fallback.
    key: (destination) => credentialKey(destination.auth_secret),
    // TikTok: about 15 posts per creator per 24 hours through the API (spam_risk_too_many_posts
    // beyond), and video/init allows 6 requests a minute per user token
    // (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post).
    defaults: {
      windows: [
        { limit: 15, windowMs: DAY_MS },
        { limit: 6, windowMs: MINUTE_MS },
      ],
      concurrency: undefined,
    },
  },
  settings: destinationSettings(
    settingGroup(
      // Base of the Content Posting API (creator_info, video/init, status/fetch).
      urlSetting('TIKTOK_API_BASE_URL', { protocols: ['http', 'https'], default: 'https://open.tiktokapis.com' }),
      // Bytes per chunk (TikTok: 5 MB to 64 MB; files under 5 MB go in one piece).
      integerSetting('TIKTOK_CHUNK_BYTES', { default: 16 * 1024 * 1024, min: MIN_CHUNK_BYTES, max: MAX_CHUNK_BYTES, unit: 'bytes' }),
      // How long to poll status/fetch after the last chunk for PUBLISH_COMPLETE; the result reports the state seen then.
      durationMsSetting('TIKTOK_PUBLISH_WAIT_MS', { default: 120_000, min: 0 }),
      // Pause between two status polls (status/fetch allows 30 requests a minute per token).
      durationMsSetting('TIKTOK_STATUS_POLL_MS', { default: 5_000, min: 50 }),
    ),
    (env): TikTokSettings => ({
      apiBaseUrl: env.TIKTOK_API_BASE_URL,
      chunkBytes: env.TIKTOK_CHUNK_BYTES,
      publishWaitMs: env.TIKTOK_PUBLISH_WAIT_MS,
      statusPollMs: env.TIKTOK_STATUS_POLL_MS,
    }),
  ),
  connect: {
    provider: tiktokOAuthProvider,
    // video.publish: creator_info, direct post and status; user.info.basic: TikTok's login scope.
    scopes: ['user.info.basic', 'video.publish'],
    example: { title: '…', privacy_level: 'SELF_ONLY' },
  },
  loadAdapter: async (settings) => (await import('./index.js')).createTikTokAdapter(settings),
});

export interface TikTokSettings {
  /** Base of the Content Posting API. */
  apiBaseUrl: string;
  /** Bytes per chunk, within TikTok's 5 MB to 64 MB. */
  chunkBytes: number;
  /** How long to poll for PUBLISH_COMPLETE after the last chunk (0: report the state at once). */
  publishWaitMs: number;
  /** Interval between status polls. */
  statusPollMs: number;
}
