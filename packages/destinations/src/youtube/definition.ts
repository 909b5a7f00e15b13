import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings } from '../definition.js';
import { googleOAuthProvider } from '../google/oauth-provider.js';
import { DAY_MS, HOUR_MS, credentialKey } from '../limit-keys.js';
import { evenWithOtherProblems, requiredString, secret, settingGroup, urlSetting } from '@upload-fleet/core';

/** The category ids of the spec's table. */
export const YOUTUBE_CATEGORIES = {
  '1': 'Film & Animation',
  '2': 'Autos & Vehicles',
  '10': 'Music',
  '15': 'Pets & Animals',
  '17': 'Sports',
  '18': 'Short Movies',
  '19': 'Travel & Events',
  '20': 'Gaming',
  '22': 'People & Blogs',
  '23': 'Comedy',
  '24': 'Entertainment',
  '25': 'News & Politics',
  '26': 'Howto & Style',
  '27': 'Education',
  '28': 'Science & Technology',
  '44': 'Trailers',
} as const;
const categoryIds = Object.keys(YOUTUBE_CATEGORIES) as [keyof typeof YOUTUBE_CATEGORIES, ...(keyof typeof YOUTUBE_CATEGORIES)[]];

export const YOUTUBE_STATUSES = ['public', 'private', 'unlisted'] as const;

// Limits YouTube applies to videos.insert (snippet.title, snippet.description, snippet.tags):
// https://developers.google.com/youtube/v3/docs/videos#properties
const TITLE_MAX_CHARS = 100;
const DESCRIPTION_MAX_BYTES = 5000;
const TAGS_MAX_CHARS = 500;
const noAngleBrackets = (what: string) => (value: string) => !/[<>]/.test(value) || `${what} must not contain "<" or ">" (YouTube rejects them)`;

/** Tags count toward the limit with a comma between them, and quotes around tags with spaces. */
export function youtubeTagsLength(tags: readonly string[]): number {
  return tags.reduce((sum, tag) => sum + tag.length + (tag.includes(' ') ? 2 : 0), 0) + Math.max(0, tags.length - 1);
}

export const youtubeDestinationSchema = z
  .strictObject({
    type: z.literal('youtube'),
    title: requiredString('title')
      .max(TITLE_MAX_CHARS, `title must be at most ${TITLE_MAX_CHARS} characters`)
      .refine((v) => noAngleBrackets('title')(v) === true, { message: 'title must not contain "<" or ">" (YouTube rejects them)' }),
    description: z
      .string({ error: 'description is required' })
      .refine((v) => Buffer.byteLength(v, 'utf8') <= DESCRIPTION_MAX_BYTES, `description must be at most ${DESCRIPTION_MAX_BYTES} bytes`)
      .refine((v) => !/[<>]/.test(v), 'description must not contain "<" or ">" (YouTube rejects them)'),
    category: z.enum(categoryIds, {
      error: `category must be one of the YouTube category ids ${categoryIds.join(', ')} ("22" is People & Blogs)`,
    }),
    status: z.enum(YOUTUBE_STATUSES, { error: 'status must be "public", "private" or "unlisted"' }).default('public'),
    oauth_access_token: secret(z.string().min(1).optional()),
    auth_secret: secret(z.string().min(1).optional()),
    tags: z
      .array(z.string().min(1, 'tags must not be empty strings').refine((t) => !/[<>,]/.test(t), 'tags must not contain "<", ">" or ","'))
      .refine((tags) => youtubeTagsLength(tags) <= TAGS_MAX_CHARS, `tags must be at most ${TAGS_MAX_CHARS} characters in total`)
      .optional(),
    playlistid: z.string().min(1).optional(),
    notifySubscribers: z.boolean().default(true),
    mimetype: z.string().min(1).default('video/mp4'),
  })
  .superRefine((d, ctx) => {
    if (!d.oauth_access_token && !d.auth_secret) {
      ctx.addIssue({ code: 'custom', path: ['oauth_access_token'], message: 'give oauth_access_token, or auth_secret from the fleet\'s YouTube connect flow' });
    }
  }, evenWithOtherProblems);
export type YouTubeDestination = z.output<typeof youtubeDestinationSchema>;

export const youtubeDefinition = defineDestination({
  type: 'youtube',
  label: 'YouTube',
  description: 'Uploads to YouTube channels',
  schema: youtubeDestinationSchema,
  targetPath: null,
  example: { type: 'youtube', title: 'Welcome', description: 'Your personal video', category: '22', auth_secret: 'ufc_example.secret' },
  result: baseResultSchema.extend({
    url: z.string(),
    video_id: z.string(),
    /** The channel the video belongs to, when YouTube said. */
    channel_id: z.string().optional(),
    /** The playlist step: its failure keeps the upload. */
    playlist: z
      .object({ id: z.string(), added: z.boolean(), error: z.object({ code: z.string(), message: z.string() }).optional() })
      .optional(),
  }),
  limits: {
    // The adapter names the channel (`accountOf`); the credential's hash is the fallback.
    key: (destination) => credentialKey(destination.auth_secret ?? destination.oauth_access_token),
    // YouTube's published per-channel limits: about 50 uploads an hour and 400 a day.
    defaults: { windows: [{ limit: 50, windowMs: HOUR_MS }, { limit: 400, windowMs: DAY_MS }], concurrency: undefined },
  },
  settings: destinationSettings(
    settingGroup(
      urlSetting('YOUTUBE_API_BASE_URL', { protocols: ['http', 'https'], default: 'https://www.googleapis.com/youtube/v3' }),
      urlSetting('YOUTUBE_UPLOAD_BASE_URL', { protocols: ['http', 'https'], default: 'https://www.googleapis.com/upload/youtube/v3' }),
    ),
    (env): YouTubeSettings => ({ apiBaseUrl: env.YOUTUBE_API_BASE_URL, uploadBaseUrl: env.YOUTUBE_UPLOAD_BASE_URL }),
  ),
  connect: {
    provider: googleOAuthProvider,
    scopes: ['https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube'],
    example: { title: '…', description: '…', category: '22' },
  },
  loadAdapter: async (settings) => (await import('./index.js')).createYouTubeAdapter(settings),
});

export interface YouTubeSettings {
  /** Base of the YouTube Data API (videos, playlistItems, channels). */
  apiBaseUrl: string;
  /** Base of the resumable upload endpoint. */
  uploadBaseUrl: string;
}
