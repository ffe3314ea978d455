// The database side of a service: PostgreSQL pool and migrations, the unit of work, the health
// controller (which pings the database), LISTEN/NOTIFY, commit-ordered feeds and the providers every
// service module shares.
export * from './database.js';
export * from './pg-notifications.js';
export * from './unit-of-work.js';
export * from './health.js';
export * from './service-providers.js';
export * from './commit-feed.js';
