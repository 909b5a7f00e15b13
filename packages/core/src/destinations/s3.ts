import { z } from 'zod';
import { secret } from '../secrets.js';
import { evenWithOtherProblems, requiredString } from './common.js';

export const S3_ACLS = ['private', 'public-read', 'public-read-write', 'authenticated-read'] as const;

/** Amazon S3. Credentials: access keys, or `aws_use_policy` (the fleet's own credentials). */
export const s3DestinationSchema = z
  .strictObject({
    type: z.literal('s3'),
    bucket: requiredString('bucket'),
    filename: requiredString('filename'),
    aws_access_key_id: z.string().min(1).optional(),
    aws_secret_access_key: secret(z.string().min(1).optional()),
    aws_use_policy: z.boolean().default(false),
    s3host: z.string().min(1).optional(),
    acl: z.enum(S3_ACLS, { error: `acl must be one of ${S3_ACLS.map((a) => `"${a}"`).join(', ')}` }).default('public-read'),
    contenttype: z.string().min(1).default('application/octet-stream'),
    contentdisposition: z.string().min(1).optional(),
    cachecontrol: z.string().min(1).optional(),
    secure: z.boolean().default(false),
    reduced_redundancy: z.boolean().default(false),
    metadata: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((d, ctx) => {
    const hasId = d.aws_access_key_id !== undefined;
    const hasSecret = d.aws_secret_access_key !== undefined;
    if (hasId !== hasSecret) {
      ctx.addIssue({
        code: 'custom',
        path: [hasId ? 'aws_secret_access_key' : 'aws_access_key_id'],
        message: 'aws_access_key_id and aws_secret_access_key must be given together',
      });
    }
    if (!hasId && !hasSecret && !d.aws_use_policy) {
      ctx.addIssue({
        code: 'custom',
        path: ['aws_access_key_id'],
        message: 'give aws_access_key_id and aws_secret_access_key, or set aws_use_policy: true to upload with the fleet\'s own credentials',
      });
    }
  }, evenWithOtherProblems);
export type S3Destination = z.output<typeof s3DestinationSchema>;
