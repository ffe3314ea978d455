import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { createLogger, createMetrics, createServiceApp, listen } from '@rewards/infrastructure';
import { migrate, openDatabase } from '@rewards/infrastructure/persistence';
import { AuthModule } from './app.module.js';
import { loadAuthConfig } from './config.js';
import { KeyStore } from './keys/key-store.js';
import { AdminBootstrap } from './users/admin-bootstrap.js';
import { OutboxRelay } from './outbox/outbox.js';
import { Housekeeping } from './housekeeping.js';

const config = loadAuthConfig();
const logger = createLogger('auth', config.LOG_LEVEL);

async function main() {
  const database = await openDatabase({
    url: config.AUTH_DATABASE_URL,
    poolSize: config.AUTH_DB_POOL_SIZE,
    logger,
  });
  await migrate(database.db, fileURLToPath(new URL('../migrations', import.meta.url)), 'auth', logger);
  const metrics = createMetrics('auth');
  const app = await createServiceApp(AuthModule.register(config, database, metrics), { service: 'auth', logger, internalSecret: config.INTERNAL_SECRET }, metrics);
  await app.get(KeyStore).load();
  await app.get(AdminBootstrap).ensureAdmin(logger);
  app.get(OutboxRelay).start(logger);
  app.get(Housekeeping).start(logger);
  await listen(app, config.AUTH_PORT, config.HOST, logger, async () => {
    await database.close();
  });
}

main().catch((err) => {
  logger.fatal({ err }, 'auth failed to start');
  process.exit(1);
});
