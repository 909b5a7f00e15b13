import { startTestRedis } from './redis.js';

/**
 * vitest globalSetup: starts one redis-server for the whole run, unless REDIS_URL points
 * at one already. Test workers are started after this runs and inherit TEST_REDIS_URL.
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    return async () => undefined;
  }
  const redis = await startTestRedis();
  process.env.TEST_REDIS_URL = redis.url;
  return () => redis.dispose();
}
