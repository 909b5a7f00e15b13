import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings, type OAuthProviderDefinition } from '../definition.js';
import { credentialKey } from '../limit-keys.js';
import { evenWithOtherProblems, requiredString, secret, settingGroup, urlSetting } from '@upload-fleet/core';

export const dropboxDestinationSchema = z
  .strictObject({
    type: z.literal('dropbox'),
    filename: requiredString('filename'),
    oauth_token: secret(z.string().min(1).optional()),
    auth_secret: secret(z.string().min(1).optional()),
  })
  .superRefine((d, ctx) => {
    if (!d.oauth_token && !d.auth_secret) {
      ctx.addIssue({ code: 'custom', path: ['oauth_token'], message: 'give oauth_token, or auth_secret from the fleet\'s Dropbox connect flow' });
    }
  }, evenWithOtherProblems);
export type DropboxDestination = z.output<typeof dropboxDestinationSchema>;

/**
 * Dropbox's OAuth guide (https://developers.dropbox.com/oauth-guide): the app key and
 * secret go to the token endpoint with HTTP Basic; token_access_type=offline asks for a
 * refresh token.
 */
export const dropboxOAuthProvider: OAuthProviderDefinition = {
  id: 'dropbox',
  label: 'Dropbox',
  env: 'DROPBOX_OAUTH',
  authUrl: 'https://www.dropbox.com/oauth2/authorize',
  tokenUrl: 'https://api.dropboxapi.com/oauth2/token',
  clientAuth: 'basic',
  offlineParams: { token_access_type: 'offline' },
};

export const dropboxDefinition = defineDestination({
  type: 'dropbox',
  label: 'Dropbox',
  description: 'Uploads to Dropbox folders',
  schema: dropboxDestinationSchema,
  targetPath: 'filename',
  example: { type: 'dropbox', filename: '/videos/welcome.mp4', auth_secret: 'ufc_example.secret' },
  result: baseResultSchema.extend({
    path: z.string(),
    id: z.string(),
    rev: z.string(),
    content_hash: z.string().nullable(),
  }),
  limits: {
    key: (destination) => credentialKey(destination.auth_secret ?? destination.oauth_token),
    // Dropbox serialises commits per namespace and answers too_many_write_operations otherwise.
    defaults: { windows: [], concurrency: 1 },
  },
  settings: destinationSettings(
    settingGroup(
      urlSetting('DROPBOX_API_BASE_URL', { protocols: ['http', 'https'], default: 'https://api.dropboxapi.com/2' }),
      urlSetting('DROPBOX_CONTENT_BASE_URL', { protocols: ['http', 'https'], default: 'https://content.dropboxapi.com/2' }),
    ),
    (env): DropboxSettings => ({ apiBaseUrl: env.DROPBOX_API_BASE_URL, contentBaseUrl: env.DROPBOX_CONTENT_BASE_URL }),
  ),
  // Dropbox apps choose their permissions in the App Console: no scopes asked for.
  connect: { provider: dropboxOAuthProvider, scopes: [], example: { filename: '/videos/welcome.mp4' } },
  loadAdapter: async (settings) => (await import('./index.js')).createDropboxAdapter(settings),
});

export interface DropboxSettings {
  /** Base of the RPC endpoints (api.dropboxapi.com). */
  apiBaseUrl: string;
  /** Base of the content endpoints (content.dropboxapi.com). */
  contentBaseUrl: string;
}
