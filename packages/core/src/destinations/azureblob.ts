import { z } from 'zod';
import { secret } from '../secrets.js';
import { requiredString } from './common.js';

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
});
export type AzureBlobDestination = z.output<typeof azureBlobDestinationSchema>;
