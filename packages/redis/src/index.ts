export * from './connection.js';
export * from './embedded-redis.js';
export * from './settings.js';
