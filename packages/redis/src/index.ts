export * from './connection.js';
export * from './embedded-redis.js';
