// What every service and the gateway share. Database access is a subpath of its own
// (`@rewards/infrastructure/persistence`), so the gateway never loads the database drivers.
export * from './config.js';
export * from './logger.js';
export * from './errors.js';
export * from './pg-errors.js';
export * from './principal.js';
export * from './remote-token-verifier.js';
export * from './access.js';
export * from './input.js';
export * from './internal.js';
export * from './http.js';
export * from './cursor.js';
