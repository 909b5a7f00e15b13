export * from './delivery-store.js';
export * from './errors.js';
export * from './job-data.js';
export * from './producer.js';
