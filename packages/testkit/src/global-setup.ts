import type { TestProject } from 'vitest/node';
import { startTestRedis } from './redis.js';

/** Starts one redis-server for the whole run unless REDIS_URL points at one already. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    project.provide('redisUrl', process.env.REDIS_URL);
    return async () => undefined;
  }
  const redis = await startTestRedis();
  process.env.TEST_REDIS_URL = redis.url;
  project.provide('redisUrl', redis.url);
  return () => redis.dispose();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
