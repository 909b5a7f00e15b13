/** One BullMQ queue per destination type, so a slow platform never starves another. */
export function uploadQueueName(type: string): string {
  return `upload-${type}`;
}

/** Webhook deliveries (callback_url) have their own queue and retries. */
export const WEBHOOK_QUEUE = 'webhook';

/**
 * Default key prefix. On Redis Cluster it needs no hash tag: the fleet tags each key by
 * what it belongs to (key-layout.ts), so each queue's keys share one slot and the queues
 * spread over the masters.
 */
export const DEFAULT_PREFIX = 'upload-fleet';
