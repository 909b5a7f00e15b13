import { z } from 'zod';
import { secret } from '../secrets.js';
import { evenWithOtherProblems, requiredString } from './common.js';

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
