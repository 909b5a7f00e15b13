/**
 * The configuration layer: setting builders, the definition of a process's config, and the
 * settings shared by several processes that belong to core. Importable on its own as
 * `@upload-fleet/core/settings` (no logger, no destination schemas) by light entrypoints.
 */
export * from './setting.js';
export * from './builders.js';
export * from './config.js';
export * from './shared.js';
