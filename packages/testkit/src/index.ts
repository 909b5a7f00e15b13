export * from './redis.js';
export * from './http-receiver.js';
export * from './tcp-proxy.js';
