export * from './auth-secret.js';
export * from './connect-flow.js';
export * from './credential-provider.js';
export * from './credential-store.js';
export * from './oauth-settings.js';
export * from './token-endpoint.js';
