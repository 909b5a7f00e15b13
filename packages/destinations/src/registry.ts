import type { DestinationType } from '@upload-fleet/core';
import type { DestinationAdapter } from './adapter.js';
import type { DestinationsConfig } from './config.js';
import { httpAdapter } from './http/index.js';

type AdapterFactories = { [T in DestinationType]?: (config: DestinationsConfig) => DestinationAdapter<T> };

/**
 * The explicit registry of adapters. A type without an adapter yet is absent, and a pool
 * configured for it refuses to start. Adding a destination: one folder, one line here.
 */
const factories: AdapterFactories = {
  http: () => httpAdapter,
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
