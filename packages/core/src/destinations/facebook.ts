import { z } from 'zod';
import { secret } from '../secrets.js';
import { httpUrl, requiredString } from './common.js';

export const facebookDestinationSchema = z.strictObject({
  type: z.literal('facebook'),
  title: requiredString('title'),
  description: z.string({ error: 'description is required' }),
  oauth_access_token: secret(z.string().min(1).optional()),
  caption: z.string().optional(),
  name: z.string().optional(),
  message: z.string().optional(),
  endpoint: httpUrl('endpoint').default('https://graph.facebook.com'),
});
export type FacebookDestination = z.output<typeof facebookDestinationSchema>;
