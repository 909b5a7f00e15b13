/**
 * `@upload-fleet/destinations/definitions`: the destination definitions and what is derived
 * from them, without any adapter or platform SDK. The API, the producer, the dashboard and
 * the credentials package import this entry.
 */
export * from './definition.js';
export * from './definitions.js';
export * from './limit-keys.js';
