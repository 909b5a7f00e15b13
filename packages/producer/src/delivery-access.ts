import type { DeliveryRecord, DeliveryStore } from './delivery-store.js';
import { DeliveryForbiddenError, DeliveryNotFoundError } from './errors.js';

/** Who acts on a delivery: the API key's name. Idempotency keys and status reads are scoped to it. */
export interface OwnerOptions {
  owner?: string;
}

/**
 * Reads a delivery record for a caller, the one gate of every read and change. Without an
 * owner (the library used directly, the worker) every delivery is readable.
 * Throws DeliveryNotFoundError / DeliveryForbiddenError.
 */
export async function readOwnedDelivery(store: DeliveryStore, token: string, owner: string | undefined): Promise<DeliveryRecord> {
  // A token is never longer or other than this; anything else cannot name a record.
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(token)) throw new DeliveryNotFoundError(token);
  const record = await store.read(token);
  if (!record) throw new DeliveryNotFoundError(token);
  if (owner !== undefined && record.meta.owner !== owner) throw new DeliveryForbiddenError(token);
  return record;
}
