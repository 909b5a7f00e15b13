import { booleanSetting, defineConfig, durationMsSetting, integerSetting, settingGroup, stringSetting, urlSetting, type ValuesOf } from '@upload-fleet/core';

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

const httpUrl = <const N extends string>(name: N, fallback: string) => urlSetting(name, { protocols: ['http', 'https'], default: fallback });

/**
 * The operator settings of every destination, built with the shared setting builders so
 * they follow the fleet's rules (empty is unset, digits only, messages that say what to
 * write). Each destination's own definition file can hold its part of this group.
 */
export const destinationsEnvSettings = settingGroup(
  integerSetting('S3_PARTS_IN_FLIGHT', { default: 4, min: 1, unit: 'parts' }),
  // Unset: automatic (path-style for hosts that are an IP or carry a port).
  booleanSetting('S3_FORCE_PATH_STYLE', {}),
  urlSetting('AZURE_BLOB_ENDPOINT', { protocols: ['http', 'https'], default: 'https://{account}.blob.core.windows.net', example: 'https://{account}.blob.core.windows.net' }),
  integerSetting('AZURE_BLOCKS_IN_FLIGHT', { default: 4, min: 1, unit: 'blocks' }),
  durationMsSetting('FTP_TIMEOUT_MS', { default: 30_000 }),
  httpUrl('YOUTUBE_API_BASE_URL', 'https://www.googleapis.com/youtube/v3'),
  httpUrl('YOUTUBE_UPLOAD_BASE_URL', 'https://www.googleapis.com/upload/youtube/v3'),
  stringSetting('FACEBOOK_API_VERSION', { default: 'v21.0', pattern: { regex: /^v\d+\.\d+$/, must: 'look like "v21.0"' } }),
  httpUrl('DROPBOX_API_BASE_URL', 'https://api.dropboxapi.com/2'),
  httpUrl('DROPBOX_CONTENT_BASE_URL', 'https://content.dropboxapi.com/2'),
);

/** The config from read values. */
export function destinationsConfigOf(env: ValuesOf<typeof destinationsEnvSettings>): DestinationsConfig {
  return {
    s3: { partsInFlight: env.S3_PARTS_IN_FLIGHT, forcePathStyle: env.S3_FORCE_PATH_STYLE },
    azureblob: { endpoint: env.AZURE_BLOB_ENDPOINT, blocksInFlight: env.AZURE_BLOCKS_IN_FLIGHT },
    ftp: { timeoutMs: env.FTP_TIMEOUT_MS },
    youtube: { apiBaseUrl: env.YOUTUBE_API_BASE_URL, uploadBaseUrl: env.YOUTUBE_UPLOAD_BASE_URL },
    facebook: { apiVersion: env.FACEBOOK_API_VERSION },
    dropbox: { apiBaseUrl: env.DROPBOX_API_BASE_URL, contentBaseUrl: env.DROPBOX_CONTENT_BASE_URL },
  };
}

export const destinationsConfig = defineConfig({ label: 'destinations', settings: destinationsEnvSettings, build: destinationsConfigOf });

/** `destinationsConfig` as a zod schema: `.parse(env)` / `.safeParse(env)`. */
export const destinationsEnvSchema = destinationsConfig.schema;

/** Defaults, for tests and for callers that configure nothing. */
export const defaultDestinationsConfig = (): DestinationsConfig => destinationsConfig.load({});
