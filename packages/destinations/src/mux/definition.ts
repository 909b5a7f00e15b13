import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings } from '../definition.js';
import { MINUTE_MS, credentialKey } from '../limit-keys.js';
import { durationMsSetting, requiredString, secret, settingGroup, urlSetting } from '@upload-fleet/core';

/**
 * Mux Video through a direct upload (docs/destinations/mux.md). Credentials are a Mux
 * access token (id and secret, HTTP Basic); Mux has no OAuth, so there is no connect flow
 * and no `auth_secret`.
 */

export const MUX_PLAYBACK_POLICIES = ['public', 'signed'] as const;

/**
 * `new_asset_settings.mp4_support` as Mux documents it
 * (https://www.mux.com/docs/guides/enable-static-mp4-renditions-using-mp4-support): the
 * deprecated `standard` is left out on purpose, Mux recommends the three newer values.
 */
export const MUX_MP4_SUPPORT = ['none', 'capped-1080p', 'audio-only', 'audio-only,capped-1080p'] as const;

/** Mux's limit on `passthrough` (https://www.mux.com/docs/api-reference/video/assets). */
const PASSTHROUGH_MAX_CHARS = 255;

export const muxDestinationSchema = z.strictObject({
  type: z.literal('mux'),
  token_id: secret(requiredString('token_id')),
  token_secret: secret(requiredString('token_secret')),
  playback_policy: z.enum(MUX_PLAYBACK_POLICIES, { error: 'playback_policy must be "public" or "signed"' }).default('public'),
  passthrough: z
    .string({ error: 'passthrough must be a string' })
    .max(PASSTHROUGH_MAX_CHARS, `passthrough must be at most ${PASSTHROUGH_MAX_CHARS} characters (Mux's limit)`)
    .optional(),
  mp4_support: z
    .enum(MUX_MP4_SUPPORT, { error: `mp4_support must be one of ${MUX_MP4_SUPPORT.map((v) => `"${v}"`).join(', ')}` })
    .optional(),
  test: z.boolean({ error: 'test must be true or false' }).default(false),
  cors_origin: z.string({ error: 'cors_origin must be a string' }).min(1, 'cors_origin must not be empty').optional(),
});
export type MuxDestination = z.output<typeof muxDestinationSchema>;

export const muxDefinition = defineDestination({
  type: 'mux',
  label: 'Mux',
  description: 'Uploads to Mux Video as new assets (direct uploads)',
  schema: muxDestinationSchema,
  targetPath: null,
  example: { type: 'mux', token_id: 'your-token-id', token_secret: 'your-token-secret', playback_policy: 'public', passthrough: 'order-1234' },
  result: baseResultSchema.extend({
    /** https://stream.mux.com/<playback_id>.m3u8, or null when the asset has no playback id. */
    url: z.string().nullable(),
    upload_id: z.string(),
    asset_id: z.string(),
    playback_id: z.string().nullable(),
    /** The asset when the upload finished: preparing, ready or errored. */
    asset_status: z.enum(['preparing', 'ready', 'errored']),
  }),
  limits: {
    // The token id names the account's access token; hashed all the same, as it is half a credential.
    key: (destination) => credentialKey(destination.token_id),
    // Mux: POSTs to the Video API are limited to a sustained 1 request per second, with
    // short bursts above it (https://www.mux.com/docs/core/make-api-requests#api-rate-limits).
    // Each upload makes one POST: 60 a minute keeps the sustained rate and allows a burst.
    defaults: { windows: [{ limit: 60, windowMs: MINUTE_MS }], concurrency: undefined },
  },
  settings: destinationSettings(
    settingGroup(
      urlSetting('MUX_API_BASE_URL', { protocols: ['http', 'https'], default: 'https://api.mux.com' }),
      // How long to wait after the last byte for Mux to create the asset before the attempt is retried.
      durationMsSetting('MUX_ASSET_WAIT_MS', { default: 120_000 }),
      // Pause between two reads of the upload while waiting for its asset.
      durationMsSetting('MUX_POLL_INTERVAL_MS', { default: 1000 }),
    ),
    (env): MuxSettings => ({ apiBaseUrl: env.MUX_API_BASE_URL, assetWaitMs: env.MUX_ASSET_WAIT_MS, pollIntervalMs: env.MUX_POLL_INTERVAL_MS }),
  ),
  loadAdapter: async (settings) => (await import('./index.js')).createMuxAdapter(settings),
});

export interface MuxSettings {
  /** Base of the Mux API. */
  apiBaseUrl: string;
  /** How long to wait after the last byte for the asset id. */
  assetWaitMs: number;
  /** Pause between two reads of the upload. */
  pollIntervalMs: number;
}
