import { z } from 'zod';

/**
 * Settings of the destinations that are not in the job: they belong to the operator
 * (endpoints of sovereign clouds, tuning), not to whoever submits. Parsed from the
 * environment by the entrypoints; tests build the object directly.
 */
export interface DestinationsConfig {
  s3: {
    /** Parts uploaded at once per upload (multipart). */
    partsInFlight: number;
    /** Path-style URLs (http://host/bucket/key). Default: only for hosts that are an IP or carry a port. */
    forcePathStyle: boolean | undefined;
  };
  azureblob: {
    /** Blob service endpoint; `{account}` is replaced by the account name. */
    endpoint: string;
    /** Blocks staged at once per upload. */
    blocksInFlight: number;
  };
  ftp: {
    /** Control-connection timeout. */
    timeoutMs: number;
  };
}

const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const destinationsEnvSchema = z
  .object({
    S3_PARTS_IN_FLIGHT: int(4),
    S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
    AZURE_BLOB_ENDPOINT: z
      .string()
      .default('https://{account}.blob.core.windows.net')
      .refine((v) => /^https?:\/\//.test(v), 'AZURE_BLOB_ENDPOINT must be an http(s) URL, like https://{account}.blob.core.windows.net'),
    AZURE_BLOCKS_IN_FLIGHT: int(4),
    FTP_TIMEOUT_MS: int(30_000),
  })
  .transform(
    (env): DestinationsConfig => ({
      s3: { partsInFlight: env.S3_PARTS_IN_FLIGHT, forcePathStyle: env.S3_FORCE_PATH_STYLE === undefined ? undefined : env.S3_FORCE_PATH_STYLE === 'true' },
      azureblob: { endpoint: env.AZURE_BLOB_ENDPOINT, blocksInFlight: env.AZURE_BLOCKS_IN_FLIGHT },
      ftp: { timeoutMs: env.FTP_TIMEOUT_MS },
    }),
  );

/** Defaults, for tests and for callers that configure nothing. */
export const defaultDestinationsConfig = (): DestinationsConfig => destinationsEnvSchema.parse({});
