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
  account: requiredString('account'),
  key: secret(requiredString('key')),
  filename: requiredString('filename'),
  container: z.string().min(1).optional().describe('Container name; omitted means the root container "$root".'),
  contenttype: z.string().min(1).default('application/octet-stream'),
});
export type AzureBlobDestination = z.output<typeof azureBlobDestinationSchema>;
