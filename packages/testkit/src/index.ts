export * from './redis.js';
export * from './redis-cluster.js';
export * from './http-receiver.js';
export * from './tcp-proxy.js';
export * from './fakes/youtube.js';
export * from './fakes/oauth.js';
export * from './fakes/dropbox.js';
export * from './fakes/facebook.js';
