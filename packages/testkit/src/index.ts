export * from './redis.js';
export * from './http-receiver.js';
