import type { DestinationType } from '@upload-fleet/core';
import type { DestinationAdapter } from './adapter.js';
import { httpAdapter } from './http/index.js';

/**
 * The explicit registry of adapters. A type without an adapter yet is absent, and a pool
 * configured for it refuses to start. Adding a destination: one folder, one line here.
 */
export const adapters: Partial<{ [T in DestinationType]: DestinationAdapter<T> }> = {
  http: httpAdapter,
};

export function adapterFor<T extends DestinationType>(type: T): DestinationAdapter<T> | undefined {
  return adapters[type] as DestinationAdapter<T> | undefined;
}
