export * from './account-keys.js';
export * from './fleet-limiter.js';
export * from './rules.js';
