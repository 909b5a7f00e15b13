/**
 * The Azure Blob parameters beyond the spec (issue "What real deliveries need beyond the
 * spec", item 3): `cachecontrol`, `contentdisposition`, `metadata`, `access_tier` and
 * `sas_url_for`. Their submit-time rules live here; definition.ts reports them by field.
 * No SDK here: definition.ts imports this module.
 */

/** x-ms-access-tier of block blobs on standard accounts (https://learn.microsoft.com/azure/storage/blobs/access-tiers-overview). */
export const AZURE_ACCESS_TIERS = ['Hot', 'Cool', 'Cold', 'Archive'] as const;
export type AzureAccessTier = (typeof AZURE_ACCESS_TIERS)[number];

/**
 * A SAS signed with the account key cannot be revoked short of rotating the key, so the
 * fleet hands out read-only ones of at most 7 days (the same bound as S3's presigned URLs).
 */
export const SAS_MAX_SECONDS = 7 * 24 * 3600;

/**
 * Metadata names "must adhere to the naming rules for C# identifiers" and are
 * case-insensitive; values are HTTP header text
 * (https://learn.microsoft.com/rest/api/storageservices/setting-and-retrieving-properties-and-metadata-for-blob-resources).
 */
const METADATA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function metadataProblems(metadata: Record<string, string> | undefined): string[] {
  if (metadata === undefined) return [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_NAME.test(name)) problems.push(`metadata name "${name.slice(0, 40)}" is not valid: Azure takes letters, digits and underscores, not starting with a digit`);
    if (seen.has(name.toLowerCase())) problems.push(`metadata names are case-insensitive in Azure: "${name.slice(0, 40)}" is given twice`);
    seen.add(name.toLowerCase());
    if (!/^[\x20-\x7e]*$/.test(value)) problems.push(`metadata "${name.slice(0, 40)}" must be plain ASCII text: encode other characters (e.g. percent-encoding)`);
  }
  return problems;
}
