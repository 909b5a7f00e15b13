import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings, NO_LIMITS } from '../definition.js';
import { accept, customSetting, evenWithOtherProblems, refuse, requiredString, secret, settingGroup, urlSetting } from '@upload-fleet/core';
import { readServiceAccountKey, serviceAccountKeyFields } from './service-account-key.js';

/** objects.insert `predefinedAcl` (https://cloud.google.com/storage/docs/json_api/v1/objects/insert). */
export const GCS_PREDEFINED_ACLS = ['authenticatedRead', 'bucketOwnerFullControl', 'bucketOwnerRead', 'private', 'projectPrivate', 'publicRead'] as const;
/** The object's `storageClass` (https://cloud.google.com/storage/docs/storage-classes). */
export const GCS_STORAGE_CLASSES = ['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE'] as const;

/** 256 KiB: Google's resumable chunks must be multiples of it (all but the last). */
export const GCS_CHUNK_UNIT = 256 * 1024;

// Bucket names: https://cloud.google.com/storage/docs/buckets#naming (3-63 characters, up to
// 222 with dots, each dot-separated part at most 63; lower case letters, digits, - _ .;
// starting and ending with a letter or digit; not starting with "goog").
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
function bucketProblem(bucket: string): string | undefined {
  if (!BUCKET_NAME.test(bucket)) return 'bucket must be 3-222 characters of lower case letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  if (!bucket.includes('.') && bucket.length > 63) return 'bucket must be at most 63 characters (up to 222 only when it contains dots)';
  if (bucket.split('.').some((part) => part.length > 63)) return 'each dot-separated part of bucket must be at most 63 characters';
  if (/^goog/.test(bucket) || /g(o|0)(o|0)gle/.test(bucket)) return 'bucket must not start with "goog" or contain "google" (Cloud Storage refuses such names)';
  return undefined;
}

// Object names: https://cloud.google.com/storage/docs/objects#naming (1-1024 bytes of
// UTF-8, no carriage return or line feed, not "." or "..", not under .well-known/acme-challenge/).
function objectNameProblem(name: string): string | undefined {
  if (Buffer.byteLength(name, 'utf8') > 1024) return 'filename must be at most 1024 bytes in UTF-8';
  if (/[\r\n]/.test(name)) return 'filename must not contain carriage returns or line feeds';
  if (name === '.' || name === '..') return 'filename must not be "." or ".."';
  if (name.startsWith('.well-known/acme-challenge/')) return 'filename must not start with ".well-known/acme-challenge/"';
  return undefined;
}

/** Google Cloud Storage, through the JSON API's resumable upload, as a service account. */
export const gcsDestinationSchema = z
  .strictObject({
    type: z.literal('gcs'),
    bucket: requiredString('bucket'),
    filename: requiredString('filename'),
    /**
     * The service account's JSON key (the file the console downloads), as an object or as
     * its JSON text. Validated here when it is either, and reduced to the fields the grant
     * uses (see serviceAccountKeyFields); the adapter reads it again.
     */
    credentials: secret(
      z
        .union([z.string().min(1, 'credentials must not be empty'), z.record(z.string(), z.unknown())], {
          error: 'credentials must be a service account key: the JSON key file\'s object, or its text',
        })
        .transform((value) => {
          const key = readServiceAccountKey(value);
          return key.ok ? serviceAccountKeyFields(key.key) : value;
        }),
    ),
    content_type: z.string().min(1).optional(),
    cache_control: z.string().min(1).optional(),
    metadata: z.record(z.string(), z.string(), { error: 'metadata must be an object of string values' }).optional(),
    predefined_acl: z.enum(GCS_PREDEFINED_ACLS, { error: `predefined_acl must be one of ${GCS_PREDEFINED_ACLS.join(', ')}` }).optional(),
    storage_class: z.enum(GCS_STORAGE_CLASSES, { error: `storage_class must be one of ${GCS_STORAGE_CLASSES.join(', ')}` }).optional(),
  })
  .superRefine((d, ctx) => {
    const bucket = typeof d.bucket === 'string' ? bucketProblem(d.bucket) : undefined;
    if (bucket) ctx.addIssue({ code: 'custom', path: ['bucket'], message: bucket });
    const name = typeof d.filename === 'string' ? objectNameProblem(d.filename) : undefined;
    if (name) ctx.addIssue({ code: 'custom', path: ['filename'], message: name });
    // A string that is not JSON at all is left to the adapter, which refuses it as
    // UF_CREDENTIALS_INVALID: the registry's shared tests plant plain strings in every
    // secret field. Anything JSON-shaped is checked now, so a wrong key fails at submit.
    const looksLikeKey = typeof d.credentials === 'object' || (typeof d.credentials === 'string' && d.credentials.trimStart().startsWith('{'));
    if (looksLikeKey) {
      const key = readServiceAccountKey(d.credentials);
      if (!key.ok) ctx.addIssue({ code: 'custom', path: ['credentials'], message: key.problem });
    }
  }, evenWithOtherProblems);
export type GcsDestination = z.output<typeof gcsDestinationSchema>;

export const gcsDefinition = defineDestination({
  type: 'gcs',
  label: 'Google Cloud Storage',
  description: 'Uploads to Google Cloud Storage buckets (resumable, CRC32C-verified)',
  schema: gcsDestinationSchema,
  targetPath: 'filename',
  example: {
    type: 'gcs',
    bucket: 'my-videos',
    filename: 'renders/welcome.mp4',
    credentials: {
      type: 'service_account',
      project_id: 'my-project',
      private_key_id: '0123456789abcdef',
      private_key: '-----BEGIN PRIVATE KEY-----\nMIIEexample\n-----END PRIVATE KEY-----\n',
      client_email: 'uploader@my-project.iam.gserviceaccount.com',
      token_uri: 'https://oauth2.googleapis.com/token',
    },
  },
  result: baseResultSchema.extend({
    url: z.string(),
    bucket: z.string(),
    name: z.string(),
    /** The object's generation: the version this upload created. */
    generation: z.string(),
    /** Base64 CRC32C and MD5 of the object as GCS reports them (and the adapter checked). */
    crc32c: z.string(),
    md5_hash: z.string().optional(),
    /** `gs://bucket/name`. */
    gs_uri: z.string(),
  }),
  limits: {
    // Uploads count against the bucket. GCS publishes no upload-count limit per bucket;
    // its one write limit is per object name (about one write a second to the same name),
    // which a fleet-wide window cannot key by name, hence no default.
    key: (destination) => `gcs:${destination.bucket}`,
    defaults: NO_LIMITS,
  },
  settings: destinationSettings(
    settingGroup(
      // Base of the Cloud Storage JSON API (uploads go to <base>/upload/storage/v1).
      urlSetting('GCS_API_BASE_URL', { protocols: ['http', 'https'], default: 'https://storage.googleapis.com' }),
      // Bytes per resumable chunk, a multiple of 256 KiB; each chunk is held in memory while it is sent.
      customSetting('GCS_CHUNK_BYTES', {
        default: 8 * 1024 * 1024,
        parse: (text: string) =>
          /^\d+$/.test(text) && Number(text) > 0 && Number(text) % GCS_CHUNK_UNIT === 0
            ? accept(Number(text))
            : refuse(`GCS_CHUNK_BYTES must be a positive multiple of ${GCS_CHUNK_UNIT} (256 KiB), like 8388608`),
      }),
    ),
    (env): GcsSettings => ({ apiBaseUrl: env.GCS_API_BASE_URL.replace(/\/+$/, ''), chunkBytes: env.GCS_CHUNK_BYTES }),
  ),
  loadAdapter: async (settings) => (await import('./index.js')).createGcsAdapter(settings),
});

export interface GcsSettings {
  /** Base of the JSON API, without a trailing slash. */
  apiBaseUrl: string;
  /** Bytes per chunk, a multiple of 256 KiB. */
  chunkBytes: number;
}
