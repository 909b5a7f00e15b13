import { z } from 'zod';
import { baseResultSchema, defineDestination, destinationSettings, NO_LIMITS } from '../definition.js';
import { integerSetting, requiredString, secret, settingGroup, urlSetting } from '@upload-fleet/core';
import { AZURE_ACCESS_TIERS, metadataProblems, SAS_MAX_SECONDS } from './blob-properties.js';

/**
 * Azure Blob Storage. When `container` is omitted the blob goes to the account's root
 * container `$root` (Azure's documented default container), which must exist.
 */
export const AZURE_ROOT_CONTAINER = '$root';

export const azureBlobDestinationSchema = z.strictObject({
  type: z.literal('azureblob'),
  // Azure's naming rules, checked at submit time so a typo fails before it is queued:
  // https://learn.microsoft.com/azure/storage/common/storage-account-overview#storage-account-name
  account: requiredString('account').regex(/^[a-z0-9]{3,24}$/, 'account must be a storage account name: 3-24 lower-case letters and digits'),
  key: secret(requiredString('key')),
  filename: requiredString('filename'),
  container: z
    .string()
    .regex(/^(\$(?:root|web|logs)|[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9])$/, 'container must be 3-63 lower-case letters, digits and single hyphens (or "$root")')
    .optional()
    .describe('Container name; omitted means the root container "$root".'),
  contenttype: z.string().min(1).default('application/octet-stream'),
  // Beyond the spec (blob-properties.ts): the blob's other properties, its tier, and a SAS result URL.
  cachecontrol: z.string().min(1, 'cachecontrol must not be empty').optional(),
  contentdisposition: z.string().min(1, 'contentdisposition must not be empty').optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  access_tier: z.enum(AZURE_ACCESS_TIERS, { error: `access_tier must be one of ${AZURE_ACCESS_TIERS.join(', ')}` }).optional(),
  sas_url_for: z
    .number({ error: 'sas_url_for must be a number of seconds' })
    .int('sas_url_for must be whole seconds')
    .min(1, 'sas_url_for must be at least 1 second')
    .max(SAS_MAX_SECONDS, `sas_url_for must be at most ${SAS_MAX_SECONDS} seconds (7 days)`)
    .optional(),
}).superRefine((d, ctx) => {
  for (const problem of metadataProblems(d.metadata)) ctx.addIssue({ code: 'custom', path: ['metadata'], message: problem });
});
export type AzureBlobDestination = z.output<typeof azureBlobDestinationSchema>;

export const azureBlobDefinition = defineDestination({
  type: 'azureblob',
  label: 'Azure Blob Storage',
  description: 'Uploads to Azure Blob Storage',
  schema: azureBlobDestinationSchema,
  targetPath: 'filename',
  example: { type: 'azureblob', account: 'myvideos', key: 'ZXhhbXBsZS1rZXk=', container: 'renders', filename: 'welcome.mp4' },
  result: baseResultSchema.extend({
    etag: z.string().nullable(),
    container: z.string(),
    blob: z.string(),
    /** The access tier asked for (access_tier). */
    access_tier: z.enum(AZURE_ACCESS_TIERS).optional(),
    /**
     * Azure's own integrity check: every request carried a Content-MD5 the service verified
     * (`verified`); `value` is the blob's MD5 (hex), stored as its Content-MD5, when this
     * attempt read the whole file (not after a resume: scope "blocks").
     */
    checksum: z.object({ algorithm: z.literal('MD5'), scope: z.enum(['blob', 'blocks']), value: z.string().optional(), verified: z.boolean() }).optional(),
    /** With sas_url_for: the blob's URL with a read-only SAS, and when it expires. */
    sas_url: z.string().optional(),
    sas_url_expires_at: z.string().optional(),
  }),
  limits: {
    key: (destination) => destination.account.toLowerCase(),
    defaults: NO_LIMITS,
  },
  settings: destinationSettings(
    settingGroup(
      urlSetting('AZURE_BLOB_ENDPOINT', { protocols: ['http', 'https'], default: 'https://{account}.blob.core.windows.net', example: 'https://{account}.blob.core.windows.net' }),
      integerSetting('AZURE_BLOCKS_IN_FLIGHT', { default: 4, min: 1, unit: 'blocks' }),
    ),
    (env): AzureBlobSettings => ({ endpoint: env.AZURE_BLOB_ENDPOINT, blocksInFlight: env.AZURE_BLOCKS_IN_FLIGHT }),
  ),
  loadAdapter: async (settings) => (await import('./index.js')).createAzureBlobAdapter(settings),
});

export interface AzureBlobSettings {
  /** Blob service endpoint; `{account}` is replaced by the account name. */
  endpoint: string;
  /** Blocks staged at once per upload. */
  blocksInFlight: number;
}
