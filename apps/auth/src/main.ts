import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { createLogger, createMetrics, createServiceApp, listen } from '@rewards/infrastructure';
import { migrate, openDatabase } from '@rewards/infrastructure/persistence';
import { AuthModule } from './app.module.js';
import { loadAuthConfig } from './config.js';
import { SigningKeyStore } from './keys/signing-key.store.js';
import { AdminBootstrap } from './users/admin.bootstrap.js';

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
  const app = await createServiceApp(
    AuthModule.register(config, database, metrics, logger),
    { service: 'auth', logger, internalSecret: config.INTERNAL_SECRET },
    metrics,
  );
  await app.get(SigningKeyStore).load();
  await app.get(AdminBootstrap).ensureAdmin(logger);
  // Listening initializes the application, which starts the periodic jobs (OutboxRelay, HousekeepingJob).
  await listen(app, config.AUTH_PORT, config.HOST, logger, async () => {
    await database.close();
  });
}

main().catch((err) => {
  logger.fatal({ err }, 'auth failed to start');
  process.exit(1);
});
