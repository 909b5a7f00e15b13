export * from './adapter.js';
export * from './adapters.js';
export * from './definitions-entry.js';
