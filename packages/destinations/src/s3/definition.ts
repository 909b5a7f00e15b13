import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings, NO_LIMITS } from '../definition.js';
import { booleanSetting, evenWithOtherProblems, integerSetting, requiredString, secret, settingGroup } from '@upload-fleet/core';

export const S3_ACLS = ['private', 'public-read', 'public-read-write', 'authenticated-read'] as const;

/** Amazon S3. Credentials: access keys, or `aws_use_policy` (the fleet's own credentials). */
export const s3DestinationSchema = z
  .strictObject({
    type: z.literal('s3'),
    bucket: requiredString('bucket'),
    filename: requiredString('filename'),
    // Secret too: the key id and its secret identify an account together (issue 13, item 10).
    aws_access_key_id: secret(z.string().min(1).optional()),
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

export const s3Definition = defineDestination({
  type: 's3',
  label: 'Amazon S3',
  description: 'Uploads to Amazon S3 (and S3-compatible hosts)',
  schema: s3DestinationSchema,
  example: { type: 's3', bucket: 'my-videos', filename: 'renders/welcome.mp4', aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/EXAMPLEKEY' },
  result: baseResultSchema.extend({
    /** The object's ETag without quotes. */
    etag: z.string().optional(),
    version_id: z.string().optional(),
    bucket: z.string(),
    key: z.string(),
  }),
  limits: {
    // The bucket on its endpoint: S3 throttles per prefix of a bucket, not per key.
    key: (destination) => (destination.s3host ? `${destination.s3host.toLowerCase()}/${destination.bucket}` : destination.bucket),
    defaults: NO_LIMITS,
  },
  settings: destinationSettings(
    settingGroup(
      integerSetting('S3_PARTS_IN_FLIGHT', { default: 4, min: 1, unit: 'parts' }),
      // Unset: automatic (path-style for hosts that are an IP or carry a port).
      booleanSetting('S3_FORCE_PATH_STYLE', {}),
    ),
    (env): S3Settings => ({ partsInFlight: env.S3_PARTS_IN_FLIGHT, forcePathStyle: env.S3_FORCE_PATH_STYLE }),
  ),
  loadAdapter: async (settings) => (await import('./index.js')).createS3Adapter(settings),
});

export interface S3Settings {
  /** Parts uploaded at once per upload (multipart). */
  partsInFlight: number;
  /** Path-style URLs (http://host/bucket/key). Default: only for hosts that are an IP or carry a port. */
  forcePathStyle: boolean | undefined;
}
