export * from './adapter.js';
export * from './config.js';
export * from './registry.js';
