export * from './errors.js';
export * from './common.js';
export * from './auth.js';
export * from './events.js';
export * from './webhooks.js';
export * from './route.js';
export * from './routes.js';
export * from './client.js';
