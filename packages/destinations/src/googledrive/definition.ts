import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings } from '../definition.js';
import { googleOAuthProvider } from '../google/oauth-provider.js';
import { MINUTE_MS, credentialKey } from '../limit-keys.js';
import { evenWithOtherProblems, requiredString, secret, settingGroup, urlSetting } from '@upload-fleet/core';

/**
 * Google Drive (beyond the spec): the file is created with files.create through Drive's
 * resumable upload (docs/destinations/googledrive.md).
 */

/**
 * Drive file and folder ids are URL-safe base64-like strings
 * (https://developers.google.com/workspace/drive/api/guides/about-files#characteristics);
 * `root` is Drive's alias for the user's My Drive.
 */
const DRIVE_ID = /^[A-Za-z0-9_-]+$/;
/** A MIME type as Drive takes it: type/subtype, parameters allowed. */
const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;.*)?$/i;

/** Only the files this app creates, never the rest of the user's Drive. */
export const DRIVE_FILE_SCOPE = 'https://www.googleapis.com/auth/drive.file';

export const googleDriveDestinationSchema = z
  .strictObject({
    type: z.literal('googledrive'),
    /** The file's name in Drive (Drive names are not paths: a "/" is part of the name). */
    filename: requiredString('filename').refine((name) => !/\p{Cc}/u.test(name), 'filename must not contain control characters (line breaks, tabs)'),
    /** The folder to create the file in; without it, the root of the user's My Drive. */
    folder_id: z
      .string({ error: 'folder_id must be a string' })
      .regex(DRIVE_ID, 'folder_id must be a Drive folder id: the part after /folders/ in the folder\'s URL (letters, digits, "-" and "_")')
      .optional(),
    /** The file's MIME type; without it, the type of the request's extension (contentTypeFor). */
    mimetype: z.string({ error: 'mimetype must be a string' }).regex(MIME_TYPE, 'mimetype must be a MIME type like "video/mp4"').optional(),
    /** The file's description in Drive. */
    description: z.string({ error: 'description must be a string' }).optional(),
    /** True when folder_id is in a shared drive: Drive then needs supportsAllDrives=true, or answers notFound. */
    shared_drive: z.boolean({ error: 'shared_drive must be true or false' }).default(false),
    oauth_access_token: secret(z.string().min(1).optional()),
    auth_secret: secret(z.string().min(1).optional()),
  })
  .superRefine((d, ctx) => {
    if (!d.oauth_access_token && !d.auth_secret) {
      ctx.addIssue({ code: 'custom', path: ['oauth_access_token'], message: 'give oauth_access_token, or auth_secret from the fleet\'s Google Drive connect flow' });
    }
  }, evenWithOtherProblems);
export type GoogleDriveDestination = z.output<typeof googleDriveDestinationSchema>;

export const googleDriveDefinition = defineDestination({
  type: 'googledrive',
  label: 'Google Drive',
  description: 'Uploads files to Google Drive folders, My Drive or shared drives (resumable)',
  schema: googleDriveDestinationSchema,
  targetPath: 'filename',
  example: { type: 'googledrive', filename: 'welcome.mp4', folder_id: '1AbCdEfGhIjKlMnOpQrStUvWxYz012345', auth_secret: 'ufc_example.secret' },
  result: baseResultSchema.extend({
    /** webViewLink: the file's page in Drive. */
    url: z.string(),
    file_id: z.string(),
    name: z.string(),
    mime_type: z.string(),
  }),
  limits: {
    // The adapter names the Drive user (`accountOf`: about.get); the credential's hash is the fallback.
    key: (destination) => credentialKey(destination.auth_secret ?? destination.oauth_access_token),
    // Drive's per-user query quota, counted on upload starts (each start is one query at
    // least): docs/destinations/googledrive.md#limits says why the 750 GB a day is Drive's
    // own refusal instead of a window here.
    defaults: { windows: [{ limit: 12_000, windowMs: MINUTE_MS }], concurrency: undefined },
  },
  settings: destinationSettings(
    settingGroup(
      urlSetting('GOOGLEDRIVE_API_BASE_URL', { protocols: ['http', 'https'], default: 'https://www.googleapis.com/drive/v3' }),
      urlSetting('GOOGLEDRIVE_UPLOAD_BASE_URL', { protocols: ['http', 'https'], default: 'https://www.googleapis.com/upload/drive/v3' }),
    ),
    (env): GoogleDriveSettings => ({ apiBaseUrl: env.GOOGLEDRIVE_API_BASE_URL.replace(/\/+$/, ''), uploadBaseUrl: env.GOOGLEDRIVE_UPLOAD_BASE_URL.replace(/\/+$/, '') }),
  ),
  connect: {
    provider: googleOAuthProvider,
    scopes: [DRIVE_FILE_SCOPE],
    example: { filename: 'welcome.mp4', folder_id: '1AbCdEfGhIjKlMnOpQrStUvWxYz012345' },
  },
  loadAdapter: async (settings) => (await import('./index.js')).createGoogleDriveAdapter(settings),
});

export interface GoogleDriveSettings {
  /** Base of the Drive API (about.get), without a trailing slash. */
  apiBaseUrl: string;
  /** Base of the upload endpoint (files.create with uploadType=resumable), without a trailing slash. */
  uploadBaseUrl: string;
}
