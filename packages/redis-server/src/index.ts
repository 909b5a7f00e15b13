export * from './embedded-redis.js';
