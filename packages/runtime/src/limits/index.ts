export * from './account-keys.js';
export * from './fleet-limiter.js';
export * from './limit-key.js';
export * from './rules.js';
