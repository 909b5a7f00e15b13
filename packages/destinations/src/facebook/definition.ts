import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings, NO_LIMITS } from '../definition.js';
import { credentialKey } from '../limit-keys.js';
import { evenWithOtherProblems, httpUrl, requiredString, secret, settingGroup, stringSetting } from '@upload-fleet/core';

/**
 * The spec lists `oauth_access_token` as optional, but Graph accepts no upload without a
 * token and the fleet holds no Facebook credentials (no auth_secret for Facebook), so a
 * destination without one is refused at submit time rather than failing in the worker.
 */
export const facebookDestinationSchema = z.strictObject({
  type: z.literal('facebook'),
  title: requiredString('title'),
  description: z.string({ error: 'description is required' }),
  oauth_access_token: secret(z.string().min(1).optional()),
  caption: z.string().optional(),
  name: z.string().optional(),
  message: z.string().optional(),
  endpoint: httpUrl('endpoint').default('https://graph.facebook.com'),
}).superRefine((d, ctx) => {
  if (!d.oauth_access_token) {
    ctx.addIssue({ code: 'custom', path: ['oauth_access_token'], message: 'give oauth_access_token: a Facebook token with publish permission for the page or profile' });
  }
}, evenWithOtherProblems);
export type FacebookDestination = z.output<typeof facebookDestinationSchema>;

export const facebookDefinition = defineDestination({
  type: 'facebook',
  label: 'Facebook',
  description: 'Uploads to Facebook pages',
  schema: facebookDestinationSchema,
  targetPath: null,
  example: { type: 'facebook', title: 'Welcome', description: 'Your personal video', oauth_access_token: 'EAAB-example-token' },
  result: baseResultSchema.extend({ url: z.string(), video_id: z.string() }),
  limits: {
    // The token decides whether a page or a user posts.
    key: (destination) => credentialKey(destination.oauth_access_token),
    defaults: NO_LIMITS,
  },
  settings: destinationSettings(
    settingGroup(stringSetting('FACEBOOK_API_VERSION', { default: 'v21.0', pattern: { regex: /^v\d+\.\d+$/, must: 'look like "v21.0"' } })),
    (env): FacebookSettings => ({ apiVersion: env.FACEBOOK_API_VERSION }),
  ),
  loadAdapter: async (settings) => (await import('./index.js')).createFacebookAdapter(settings),
});

export interface FacebookSettings {
  /** Graph API version used in every request path, like "v21.0". */
  apiVersion: string;
}
