import type { DestinationType } from '@upload-fleet/core';
import type { DestinationAdapter } from './adapter.js';
import type { DestinationsConfig } from './config.js';
import { createAzureBlobAdapter } from './azureblob/index.js';
import { createFtpAdapter } from './ftp/index.js';
import { createFacebookAdapter } from './facebook/index.js';
import { createDropboxAdapter } from './dropbox/index.js';
import { httpAdapter } from './http/index.js';
import { createS3Adapter } from './s3/index.js';
import { createYouTubeAdapter } from './youtube/index.js';

type AdapterFactories = { [T in DestinationType]?: (config: DestinationsConfig) => DestinationAdapter<T> };

/**
 * The explicit registry of adapters. A type without an adapter yet is absent, and a pool
 * configured for it refuses to start. Adding a destination: one folder, one line here.
 */
const factories: AdapterFactories = {
  http: () => httpAdapter,
  dropbox: (config) => createDropboxAdapter(config.dropbox),
  youtube: (config) => createYouTubeAdapter(config.youtube),
  facebook: (config) => createFacebookAdapter(config.facebook),
  s3: (config) => createS3Adapter(config.s3),
  azureblob: (config) => createAzureBlobAdapter(config.azureblob),
  ftp: (config) => createFtpAdapter(config.ftp),
};

export type AdapterRegistry = { [T in DestinationType]?: DestinationAdapter<T> };

/** The destination types this build can upload to. */
export const availableDestinationTypes = Object.keys(factories) as DestinationType[];

export function createAdapters(config: DestinationsConfig): AdapterRegistry {
  const registry: AdapterRegistry = {};
  for (const type of availableDestinationTypes) {
    (registry as Record<string, DestinationAdapter>)[type] = (factories[type] as (c: DestinationsConfig) => DestinationAdapter)(config);
  }
  return registry;
}
