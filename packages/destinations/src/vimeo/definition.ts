import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings, type OAuthProviderDefinition } from '../definition.js';
import { MINUTE_MS, credentialKey } from '../limit-keys.js';
import { durationMsSetting, evenWithOtherProblems, integerSetting, secret, settingGroup, urlSetting } from '@upload-fleet/core';

/**
 * Vimeo's privacy settings of a video, as the API reference names them
 * (https://developer.vimeo.com/api/reference/videos#upload_video, `privacy.*`).
 */
export const VIMEO_VIEW_PRIVACY = ['anybody', 'nobody', 'password', 'unlisted', 'disable', 'contacts', 'users'] as const;
export const VIMEO_EMBED_PRIVACY = ['public', 'private', 'whitelist'] as const;
export const VIMEO_COMMENT_PRIVACY = ['anybody', 'contacts', 'nobody'] as const;

/** A folder (project) URI as Vimeo returns it: /users/{user_id}/projects/{project_id}. */
const FOLDER_URI = /^\/users\/\d+\/projects\/\d+$/;

const privacySchema = z.strictObject({
  view: z.enum(VIMEO_VIEW_PRIVACY, { error: `privacy.view must be one of ${VIMEO_VIEW_PRIVACY.join(', ')}` }).optional(),
  embed: z.enum(VIMEO_EMBED_PRIVACY, { error: `privacy.embed must be one of ${VIMEO_EMBED_PRIVACY.join(', ')}` }).optional(),
  comments: z.enum(VIMEO_COMMENT_PRIVACY, { error: `privacy.comments must be one of ${VIMEO_COMMENT_PRIVACY.join(', ')}` }).optional(),
  download: z.boolean({ error: 'privacy.download must be true or false' }).optional(),
});

export const vimeoDestinationSchema = z
  .strictObject({
    type: z.literal('vimeo'),
    /** The video's title on Vimeo; Vimeo names it after the file ("Untitled") when left out. */
    name: z.string().min(1, 'name must not be empty').optional(),
    description: z.string().optional(),
    privacy: privacySchema.optional(),
    /** The viewing password, for privacy.view "password". */
    password: secret(z.string().min(1, 'password must not be empty').optional()),
    /** The folder to put the video in: its URI (/users/123/projects/456) ... */
    folder_uri: z.string().regex(FOLDER_URI, 'folder_uri must look like /users/123/projects/456 (the folder\'s "uri" in the Vimeo API)').optional(),
    /** ... or its id (456), a folder of the token's own account (/me/projects/456). */
    folder_id: z.string().regex(/^\d+$/, 'folder_id must be the numeric id of a Vimeo folder (project), like "456"').optional(),
    oauth_access_token: secret(z.string().min(1).optional()),
    auth_secret: secret(z.string().min(1).optional()),
  })
  .superRefine((d, ctx) => {
    if (!d.oauth_access_token && !d.auth_secret) {
      ctx.addIssue({ code: 'custom', path: ['oauth_access_token'], message: 'give oauth_access_token, or auth_secret from the fleet\'s Vimeo connect flow' });
    }
    if (d.privacy?.view === 'password' && !d.password) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'privacy.view "password" needs password: the password viewers enter' });
    }
    if (d.folder_uri && d.folder_id) {
      ctx.addIssue({ code: 'custom', path: ['folder_id'], message: 'give folder_uri or folder_id, not both' });
    }
  }, evenWithOtherProblems);
export type VimeoDestination = z.output<typeof vimeoDestinationSchema>;

/**
 * Vimeo's OAuth 2 authorization code grant (https://developer.vimeo.com/api/authentication):
 * consent at /oauth/authorize, the code exchanged at /oauth/access_token with the client id
 * and secret in HTTP Basic. Vimeo documents no offline parameter: its user tokens do not
 * expire until revoked, so the fleet holds the access token itself (docs/destinations/vimeo.md,
 * "auth_secret").
 */
export const vimeoOAuthProvider: OAuthProviderDefinition = {
  id: 'vimeo',
  label: 'Vimeo',
  env: 'VIMEO_OAUTH',
  authUrl: 'https://api.vimeo.com/oauth/authorize',
  tokenUrl: 'https://api.vimeo.com/oauth/access_token',
  clientAuth: 'basic',
  offlineParams: {},
  // "Vimeo access tokens don't expire" (the token answer has no refresh_token and no expires_in).
  accessTokens: 'long-lived',
};

/** Processing states the result reports: Vimeo's transcode.status, or in_progress when polling stopped first. */
export const VIMEO_PROCESSING_STATES = ['complete', 'in_progress', 'error'] as const;

export const vimeoDefinition = defineDestination({
  type: 'vimeo',
  label: 'Vimeo',
  description: 'Uploads videos to Vimeo accounts (tus resumable uploads)',
  schema: vimeoDestinationSchema,
  targetPath: null,
  example: {
    type: 'vimeo',
    name: 'Welcome',
    description: 'Your personal video',
    privacy: { view: 'unlisted', embed: 'public', comments: 'nobody', download: false },
    folder_uri: '/users/123/projects/456',
    auth_secret: 'ufc_example.secret',
  },
  result: baseResultSchema.extend({
    url: z.string(),
    video_id: z.string(),
    /** The video's API URI, /videos/{id}. */
    uri: z.string(),
    /** Vimeo's transcode.status when the upload ended, or in_progress when it was still transcoding. */
    processing: z.enum(VIMEO_PROCESSING_STATES),
  }),
  limits: {
    // The adapter names the user (`accountOf`: GET /me); the credential's hash is the fallback.
    key: (destination) => credentialKey(destination.auth_secret ?? destination.oauth_access_token),
    // Vimeo publishes request rates per user and minute (the lowest plan's is 25), not upload
    // counts; an upload costs a few requests (create, status polls). 10 uploads a minute keeps
    // an account under the lowest published rate; 429 with X-RateLimit-Reset defers the rest.
    defaults: { windows: [{ limit: 10, windowMs: MINUTE_MS }], concurrency: undefined },
  },
  settings: destinationSettings(
    settingGroup(
      // Base of the Vimeo API (POST /me/videos, GET /videos/{id}, GET /me).
      urlSetting('VIMEO_API_BASE_URL', { protocols: ['http', 'https'], default: 'https://api.vimeo.com' }),
      // Bytes per tus PATCH request: memory per upload, and what an interruption costs.
      integerSetting('VIMEO_CHUNK_BYTES', { default: 32 * 1024 * 1024, min: 1, unit: 'bytes' }),
      // How long to poll transcode.status after the upload; 0 reports in_progress at once.
      durationMsSetting('VIMEO_TRANSCODE_WAIT_MS', { default: 30_000, min: 0 }),
      durationMsSetting('VIMEO_TRANSCODE_POLL_MS', { default: 5_000, min: 50 }),
    ),
    (env): VimeoSettings => ({
      apiBaseUrl: env.VIMEO_API_BASE_URL,
      chunkBytes: env.VIMEO_CHUNK_BYTES,
      transcodeWaitMs: env.VIMEO_TRANSCODE_WAIT_MS,
      transcodePollMs: env.VIMEO_TRANSCODE_POLL_MS,
    }),
  ),
  connect: {
    provider: vimeoOAuthProvider,
    // upload: POST /me/videos; edit: privacy, folders; video_files: the upload and transcode status.
    scopes: ['public', 'private', 'upload', 'edit', 'video_files'],
    example: { name: '…', privacy: { view: 'unlisted' } },
  },
  loadAdapter: async (settings) => (await import('./index.js')).createVimeoAdapter(settings),
});

export interface VimeoSettings {
  /** Base of the Vimeo API. */
  apiBaseUrl: string;
  /** Bytes per tus PATCH request. */
  chunkBytes: number;
  /** How long to poll the transcode status after the upload (0: report in_progress at once). */
  transcodeWaitMs: number;
  /** Interval between transcode polls. */
  transcodePollMs: number;
}
