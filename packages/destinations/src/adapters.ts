import type { DestinationAdapter } from './adapter.js';
import { definitionOf, type DestinationsConfig, type DestinationType } from './definitions.js';

export type AdapterRegistry = { [T in DestinationType]?: DestinationAdapter<T> };

/**
 * The adapters of the given types, built from the operator's settings. Each adapter is
 * imported here, on demand, so a process loads only the SDKs of the pools it runs.
 */
export async function loadAdapters(types: readonly DestinationType[], config: DestinationsConfig): Promise<AdapterRegistry> {
  const registry: Record<string, DestinationAdapter> = {};
  for (const type of types) {
    const definition = definitionOf(type);
    registry[type] = await (definition.loadAdapter as (settings: unknown) => Promise<DestinationAdapter>)(config[type]);
  }
  return registry as AdapterRegistry;
}
