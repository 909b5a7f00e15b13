import { z } from 'zod';
import { secret } from '../secrets.js';
import { evenWithOtherProblems, httpUrl, requiredString } from './common.js';

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
