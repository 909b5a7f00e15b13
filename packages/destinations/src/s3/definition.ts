import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings, NO_LIMITS } from '../definition.js';
import { accept, booleanSetting, customSetting, evenWithOtherProblems, integerSetting, refuse, requiredString, secret, settingGroup } from '@upload-fleet/core';
import { BUCKET_DEFAULT_ACL, objectParameterProblems, S3_ACL_CHOICES, S3_SSE, S3_STORAGE_CLASSES, SIGNED_URL_MAX_SECONDS } from './object-parameters.js';
import { DEFAULT_PART_SIZE_MIB, MAX_PART_SIZE, MiB, MIN_PART_SIZE } from './part-size.js';
import {
  CANNED_ACLS,
  DEFAULT_ENDPOINT_TEMPLATES,
  isEndpointTemplate,
  PROVIDERS,
  providerLimitKey,
  providerProblems,
  S3_PROVIDERS,
  SPEC_DEFAULT_ACL,
  type EndpointTemplates,
  type S3Provider,
} from './providers.js';

export const S3_ACLS = CANNED_ACLS;

/**
 * Amazon S3. Credentials: access keys, or `aws_use_policy` (the fleet's own credentials).
 * Beyond the spec: `provider` names an S3-compatible service (R2, B2, Wasabi, Spaces,
 * MinIO), with its `region` and, for R2, its `account_id`; absent, the destination is the
 * spec's Amazon S3, unchanged. Each provider's rules live in providers.ts.
 */
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
    // The spec's default (public-read) is applied by the adapter, not by the parse: an acl
    // left out may fall back to the bucket's own setting where ACLs are disabled, an acl
    // given may not (object-parameters.ts). The documents still show the spec's default.
    acl: z
      .enum(S3_ACL_CHOICES, { error: `acl must be one of ${S3_ACL_CHOICES.map((a) => `"${a}"`).join(', ')}` })
      .optional()
      .meta({
        default: SPEC_DEFAULT_ACL,
        description: `Canned ACL; "${BUCKET_DEFAULT_ACL}" sends none (for buckets with ACLs disabled). Left out: public-read, or none where the bucket has ACLs disabled.`,
      }),
    contenttype: z.string().min(1).default('application/octet-stream'),
    contentdisposition: z.string().min(1).optional(),
    cachecontrol: z.string().min(1).optional(),
    secure: z.boolean().default(false),
    reduced_redundancy: z.boolean().default(false),
    metadata: z.record(z.string(), z.string()).optional(),
    // Beyond the spec (providers.ts): absent means "aws", so the spec's destinations parse as before.
    provider: z.enum(S3_PROVIDERS, { error: `provider must be one of ${S3_PROVIDERS.map((p) => `"${p}"`).join(', ')}` }).optional(),
    region: z.string().min(1, 'region must not be empty').optional(),
    account_id: z.string().min(1, 'account_id must not be empty').optional(),
    // Beyond the spec (object-parameters.ts): more of S3's object settings, and what the result URL is.
    storage_class: z.enum(S3_STORAGE_CLASSES, { error: `storage_class must be one of ${S3_STORAGE_CLASSES.join(', ')}` }).optional(),
    sse: z.enum(S3_SSE, { error: `sse must be "AES256" (SSE-S3) or "aws:kms" (SSE-KMS)` }).optional(),
    sse_kms_key_id: z.string().min(1, 'sse_kms_key_id must not be empty').optional(),
    tags: z.record(z.string(), z.string()).optional(),
    session_token: secret(z.string().min(1, 'session_token must not be empty').optional()),
    sign_urls_for: z
      .number({ error: 'sign_urls_for must be a number of seconds' })
      .int('sign_urls_for must be whole seconds')
      .min(1, 'sign_urls_for must be at least 1 second')
      .max(SIGNED_URL_MAX_SECONDS, `sign_urls_for must be at most ${SIGNED_URL_MAX_SECONDS} seconds (7 days, the longest SigV4 allows)`)
      .optional(),
    url_prefix: z.string().min(1, 'url_prefix must not be empty').optional(),
  })
  .superRefine((d, ctx) => {
    for (const problem of [...providerProblems(d), ...objectParameterProblems(d)]) ctx.addIssue({ code: 'custom', path: [problem.path], message: problem.message });
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
        message: keysOnly(d.provider)
          ? `give aws_access_key_id and aws_secret_access_key of your ${PROVIDERS[d.provider].label} access key`
          : 'give aws_access_key_id and aws_secret_access_key, or set aws_use_policy: true to upload with the fleet\'s own credentials',
      });
    }
  }, evenWithOtherProblems);
export type S3Destination = z.output<typeof s3DestinationSchema>;

/** A named provider that takes access keys only (aws_use_policy is Amazon S3's). */
function keysOnly(provider: unknown): provider is S3Provider {
  return typeof provider === 'string' && provider in PROVIDERS && !PROVIDERS[provider as S3Provider].usePolicy;
}

export const s3Definition = defineDestination({
  type: 's3',
  label: 'Amazon S3',
  description: 'Uploads to Amazon S3 and S3-compatible services: Cloudflare R2, Backblaze B2, Wasabi, DigitalOcean Spaces, MinIO',
  schema: s3DestinationSchema,
  targetPath: 'filename',
  example: { type: 's3', bucket: 'my-videos', filename: 'renders/welcome.mp4', aws_access_key_id: 'AKIAEXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG/EXAMPLEKEY' },
  result: baseResultSchema.extend({
    /** The object's ETag without quotes. */
    etag: z.string().optional(),
    version_id: z.string().optional(),
    bucket: z.string(),
    key: z.string(),
    /** Only with a `provider`: which one. */
    provider: z.enum(S3_PROVIDERS).optional(),
    /**
     * With a `provider`: the ACL sent, or null when the provider applied none (R2, B2, MinIO).
     * Amazon S3: null when no ACL was applied (acl "bucket-default", or a bucket with ACLs
     * disabled and no acl given), with the reason in `acl_note`.
     */
    acl_applied: z.enum(CANNED_ACLS).nullable().optional(),
    /** Why no ACL was applied (Amazon S3). */
    acl_note: z.string().optional(),
    /** The storage class asked for (storage_class or reduced_redundancy). */
    storage_class: z.enum(S3_STORAGE_CLASSES).optional(),
    /** The server-side encryption S3 reported for the object. */
    sse: z.string().optional(),
    /**
     * S3's own integrity check: the MD5 of the object (single PUT), or for a multipart
     * upload the MD5 of the parts' MD5s with the part count, as S3 forms a multipart ETag.
     * `verified`: the ETag S3 answered matched it (false where S3's ETag is no MD5: SSE-KMS).
     */
    checksum: z
      .object({ algorithm: z.literal('MD5'), scope: z.enum(['object', 'parts']), value: z.string(), parts: z.number().int().optional(), verified: z.boolean() })
      .optional(),
    /** With sign_urls_for: a presigned GET URL of the object, and when it expires. */
    signed_url: z.string().optional(),
    signed_url_expires_at: z.string().optional(),
    /** Only with a `provider` whose URL cannot serve the file publicly (R2's API endpoint): false. */
    url_public: z.literal(false).optional(),
    /** Only with a `provider`: what it ignored and why, and what the URL can do. */
    notes: z.array(z.string()).optional(),
  }),
  limits: {
    // The bucket on its endpoint: S3 throttles per prefix of a bucket, not per key.
    // With a provider: `<provider>:<account, region or host>/<bucket>`.
    key: (destination) => providerLimitKey(destination),
    defaults: NO_LIMITS,
  },
  settings: destinationSettings(
    settingGroup(
      integerSetting('S3_PARTS_IN_FLIGHT', { default: 4, min: 1, unit: 'parts' }),
      // S3's part limits (part-size.ts): 5 MiB to 5 GiB. Huge files get larger parts, smaller ones smaller parts (docs/destinations/s3.md).
      integerSetting('S3_PART_SIZE_MIB', { default: DEFAULT_PART_SIZE_MIB, min: MIN_PART_SIZE / MiB, max: MAX_PART_SIZE / MiB, unit: 'MiB' }),
      // Unset: automatic (path-style for s3host endpoints that are an IP or carry a port; MinIO: always).
      booleanSetting('S3_FORCE_PATH_STYLE', {}),
      // Endpoint templates of the S3-compatible providers, for jurisdictions, gateways and self-hosted installs.
      endpointSetting('S3_R2_ENDPOINT', 'r2'),
      endpointSetting('S3_B2_ENDPOINT', 'b2'),
      endpointSetting('S3_WASABI_ENDPOINT', 'wasabi'),
      endpointSetting('S3_SPACES_ENDPOINT', 'spaces'),
    ),
    (env): S3Settings => ({
      partsInFlight: env.S3_PARTS_IN_FLIGHT,
      partSize: env.S3_PART_SIZE_MIB * MiB,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      endpoints: { r2: env.S3_R2_ENDPOINT, b2: env.S3_B2_ENDPOINT, wasabi: env.S3_WASABI_ENDPOINT, spaces: env.S3_SPACES_ENDPOINT },
    }),
  ),
  loadAdapter: async (settings) => (await import('./index.js')).createS3Adapter(settings),
});

export interface S3Settings {
  /** Parts uploaded at once per upload (multipart). */
  partsInFlight: number;
  /** Bytes per part for files large enough (S3_PART_SIZE_MIB); part-size.ts fits it to S3's limits and the file. */
  partSize: number;
  /** Path-style URLs (http://host/bucket/key) for s3host endpoints. Default: only for hosts that are an IP or carry a port. */
  forcePathStyle: boolean | undefined;
  /** Endpoint templates of the named providers (providers.ts); each defaults to the provider's documented endpoint. */
  endpoints?: Partial<EndpointTemplates>;
}

/** An operator's endpoint template: an http(s) origin with `{region}` / `{account_id}` placeholders. */
function endpointSetting<const N extends string>(name: N, provider: keyof EndpointTemplates) {
  return customSetting(name, {
    default: DEFAULT_ENDPOINT_TEMPLATES[provider],
    parse: (text: string) =>
      isEndpointTemplate(text)
        ? accept(text)
        : refuse(`${name} must be an http(s) URL without a path, like https://{region}.example.com (placeholders {region}, {account_id})`),
  });
}
