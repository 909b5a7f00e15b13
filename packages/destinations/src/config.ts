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
  youtube: {
    /** Base of the YouTube Data API (videos, playlistItems, channels). */
    apiBaseUrl: string;
    /** Base of the resumable upload endpoint. */
    uploadBaseUrl: string;
  };
  facebook: {
    /** Graph API version used in every request path, like "v21.0". */
    apiVersion: string;
  };
  dropbox: {
    /** Base of the RPC endpoints (api.dropboxapi.com). */
    apiBaseUrl: string;
    /** Base of the content endpoints (content.dropboxapi.com). */
    contentBaseUrl: string;
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
    YOUTUBE_API_BASE_URL: z.string().url().default('https://www.googleapis.com/youtube/v3'),
    YOUTUBE_UPLOAD_BASE_URL: z.string().url().default('https://www.googleapis.com/upload/youtube/v3'),
    FACEBOOK_API_VERSION: z.string().regex(/^v\d+\.\d+$/, 'FACEBOOK_API_VERSION must look like "v21.0"').default('v21.0'),
    DROPBOX_API_BASE_URL: z.string().url().default('https://api.dropboxapi.com/2'),
    DROPBOX_CONTENT_BASE_URL: z.string().url().default('https://content.dropboxapi.com/2'),
  })
  .transform(
    (env): DestinationsConfig => ({
      s3: { partsInFlight: env.S3_PARTS_IN_FLIGHT, forcePathStyle: env.S3_FORCE_PATH_STYLE === undefined ? undefined : env.S3_FORCE_PATH_STYLE === 'true' },
      azureblob: { endpoint: env.AZURE_BLOB_ENDPOINT, blocksInFlight: env.AZURE_BLOCKS_IN_FLIGHT },
      ftp: { timeoutMs: env.FTP_TIMEOUT_MS },
      youtube: { apiBaseUrl: env.YOUTUBE_API_BASE_URL, uploadBaseUrl: env.YOUTUBE_UPLOAD_BASE_URL },
      facebook: { apiVersion: env.FACEBOOK_API_VERSION },
      dropbox: { apiBaseUrl: env.DROPBOX_API_BASE_URL, contentBaseUrl: env.DROPBOX_CONTENT_BASE_URL },
    }),
  );

/** Defaults, for tests and for callers that configure nothing. */
export const defaultDestinationsConfig = (): DestinationsConfig => destinationsEnvSchema.parse({});
