import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings } from '../definition.js';
import { googleOAuthProvider } from '../google/oauth-provider.js';
import { DAY_MS, HOUR_MS, credentialKey } from '../limit-keys.js';
import { durationMsSetting, evenWithOtherProblems, requiredString, secret, settingGroup, sourceSchema, urlSetting } from '@upload-fleet/core';

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

/**
 * A language as YouTube takes it (snippet.defaultLanguage, caption snippet.language): a
 * BCP-47 tag like "en", "de-AT" or "zh-Hant". YouTube accepts the languages of its
 * i18nLanguages list and refuses others with invalidVideoMetadata; the form is checked here.
 */
const languageTag = (field: string) =>
  z
    .string({ error: `${field} must be a BCP-47 language tag like "en" or "pt-BR"` })
    .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, `${field} must be a BCP-47 language tag like "en", "de-AT" or "zh-Hant"`);

/** Caption tracks per upload: each captions.insert costs 400 of the project's 10,000 daily quota units. */
export const MAX_CAPTIONS = 10;
/** Playlist titles YouTube takes (snippet.title of playlists.insert). */
const PLAYLIST_TITLE_MAX_CHARS = 150;

/** A caption track: its file (a path under SOURCE_ROOT or a URL), its language and its name in the player's menu. */
const captionSchema = z.strictObject({
  source: sourceSchema,
  language: languageTag('captions[].language'),
  name: z.string({ error: 'captions[].name is required: the track\'s name in the player\'s menu, like "English"' }).trim().min(1, 'captions[].name must not be empty').max(150, 'captions[].name must be at most 150 characters'),
});

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
    // Beyond the spec (docs/destinations/youtube.md says which parameters are whose).
    thumbnail: sourceSchema.optional(),
    publish_at: z.iso
      .datetime({ offset: true, error: 'publish_at must be an ISO 8601 date and time with its time zone, like "2026-12-24T18:00:00Z" or "2026-12-24T19:00:00+01:00"' })
      .optional(),
    made_for_kids: z.boolean({ error: 'made_for_kids must be true or false' }).optional(),
    default_language: languageTag('default_language').optional(),
    default_audio_language: languageTag('default_audio_language').optional(),
    captions: z.array(captionSchema).max(MAX_CAPTIONS, `captions takes at most ${MAX_CAPTIONS} tracks (each costs 400 quota units)`).optional(),
    playlist_title: z
      .string()
      .trim()
      .min(1, 'playlist_title must not be empty')
      .max(PLAYLIST_TITLE_MAX_CHARS, `playlist_title must be at most ${PLAYLIST_TITLE_MAX_CHARS} characters`)
      .refine((v) => !/[<>]/.test(v), 'playlist_title must not contain "<" or ">" (YouTube rejects them)')
      .optional(),
  })
  .superRefine((d, ctx) => {
    if (!d.oauth_access_token && !d.auth_secret) {
      ctx.addIssue({ code: 'custom', path: ['oauth_access_token'], message: 'give oauth_access_token, or auth_secret from the fleet\'s YouTube connect flow' });
    }
    // This runs beside the fields' own problems (evenWithOtherProblems): a field may hold a value of another type here.
    // status.publishAt "can be set only if the privacy status of the video is private".
    if (typeof d.publish_at === 'string' && d.status !== 'private') {
      ctx.addIssue({
        code: 'custom',
        path: ['publish_at'],
        message: `publish_at schedules a private video to turn public at that time, and YouTube takes it only with status "private" (this request has "${d.status}"): set status to "private", or leave publish_at out`,
      });
    }
    if (d.playlistid !== undefined && d.playlist_title !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['playlist_title'], message: 'give playlistid or playlist_title, not both' });
    }
    const seen = new Set<string>();
    (Array.isArray(d.captions) ? d.captions : []).forEach((caption, index) => {
      if (typeof caption?.language !== 'string' || typeof caption.name !== 'string') return;
      const key = `${caption.language.toLowerCase()}\u0000${caption.name}`;
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', path: ['captions', index], message: `captions has two tracks in ${caption.language} named "${caption.name}": YouTube keeps one track per language and name (captionExists)` });
      }
      seen.add(key);
    });
  }, evenWithOtherProblems);
export type YouTubeDestination = z.output<typeof youtubeDestinationSchema>;

const stepErrorSchema = z.object({ code: z.string(), message: z.string() });

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
    /** The playlist step (playlistid or playlist_title): its failure keeps the upload. */
    playlist: z
      .object({ id: z.string().optional(), title: z.string().optional(), created: z.boolean().optional(), added: z.boolean(), error: stepErrorSchema.optional() })
      .optional(),
    thumbnail: z.object({ set: z.boolean(), error: stepErrorSchema.optional() }).optional(),
    captions: z.array(z.object({ language: z.string(), name: z.string(), id: z.string().optional(), added: z.boolean(), error: stepErrorSchema.optional() })).optional(),
    /** YouTube's verdict on the video, as far as it had one within YOUTUBE_PROCESSING_WAIT_MS. */
    processing: z.enum(['processed', 'processing', 'rejected', 'failed', 'deleted']),
    rejection_reason: z.string().optional(),
    failure_reason: z.string().optional(),
    /** The privacy YouTube reports for the video (it can differ from `status`: see locked_private). */
    privacy_status: z.string().optional(),
    /** YouTube made the video private although another privacy was asked for: the API project is unverified. */
    locked_private: z.literal(true).optional(),
    publish_at: z.string().optional(),
    /** What went wrong beside the upload itself, each saying what to do. */
    warnings: z.array(z.string()).optional(),
  }),
  // A publish_at must lie in the future when it is submitted; a job that waited past it is
  // handled by the adapter (published at once, with a warning), not refused by the worker.
  submitProblems: (destination, now) =>
    destination.publish_at !== undefined && Date.parse(destination.publish_at) <= now.getTime()
      ? [{ path: 'publish_at', message: `publish_at ${destination.publish_at} is not in the future (it is ${now.toISOString()} now): give a later time, or leave publish_at out to publish at once` }]
      : [],
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
      // How long after the upload to wait for YouTube's verdict (processed, rejected, failed); 0: do not ask.
      durationMsSetting('YOUTUBE_PROCESSING_WAIT_MS', { default: 60_000, min: 0 }),
      // The first pause between two videos.list reads of that wait; it doubles up to 30 s.
      durationMsSetting('YOUTUBE_PROCESSING_POLL_MS', { default: 2_000 }),
    ),
    (env): YouTubeSettings => ({
      apiBaseUrl: env.YOUTUBE_API_BASE_URL,
      uploadBaseUrl: env.YOUTUBE_UPLOAD_BASE_URL,
      processingWaitMs: env.YOUTUBE_PROCESSING_WAIT_MS,
      processingPollMs: env.YOUTUBE_PROCESSING_POLL_MS,
    }),
  ),
  connect: {
    provider: googleOAuthProvider,
    // youtube.force-ssl: captions.insert takes no other scope of these
    // (https://developers.google.com/youtube/v3/docs/captions/insert).
    scopes: ['https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube', 'https://www.googleapis.com/auth/youtube.force-ssl'],
    example: { title: '…', description: '…', category: '22' },
  },
  loadAdapter: async (settings) => (await import('./index.js')).createYouTubeAdapter(settings),
});

export interface YouTubeSettings {
  /** Base of the YouTube Data API (videos, playlistItems, channels). */
  apiBaseUrl: string;
  /** Base of the upload endpoints: the resumable session, thumbnails.set, captions.insert. */
  uploadBaseUrl: string;
  /** How long after the upload to wait for YouTube's verdict; 0 skips the wait. */
  processingWaitMs: number;
  /** The first pause between two reads of the video's status (doubling, at most 30 s). */
  processingPollMs: number;
}
