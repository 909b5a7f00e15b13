/** One BullMQ queue per destination type, so a slow platform never starves another. */
export function uploadQueueName(type: string): string {
  return `upload-${type}`;
}

/** Webhook deliveries (callback_url) have their own queue and retries. */
export const WEBHOOK_QUEUE = 'webhook';

/**
 * Default key prefix. On Redis Cluster use a prefix with a hash tag, like `{upload-fleet}`,
 * so that all keys of a queue land in one slot (BullMQ's documented pattern).
 */
export const DEFAULT_PREFIX = 'upload-fleet';
