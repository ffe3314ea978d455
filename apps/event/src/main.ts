import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { createLogger, createMetrics, createServiceApp, listen, RemoteTokenVerifier } from '@rewards/infrastructure';
import { migrate, openDatabase } from '@rewards/infrastructure/persistence';
import { EventModule } from './app.module.js';
import { loadEventConfig } from './config.js';

const config = loadEventConfig();
const logger = createLogger('event', config.LOG_LEVEL);

async function main() {
  const database = await openDatabase({ url: config.EVENT_DATABASE_URL, poolSize: config.EVENT_DB_POOL_SIZE, logger });
  await migrate(database.db, fileURLToPath(new URL('../migrations', import.meta.url)), 'event', logger);
  const verifier = new RemoteTokenVerifier({
    authUrls: config.AUTH_SERVICE_URL,
    internalSecret: config.INTERNAL_SECRET,
    logger,
  });
  const metrics = createMetrics('event');
  const app = await createServiceApp(
    EventModule.register(config, database, metrics, verifier),
    { service: 'event', logger, internalSecret: config.INTERNAL_SECRET },
    metrics,
  );
  // The verifier's key refresh and revocation polling start and stop with the module (Jobs).
  await listen(app, config.EVENT_PORT, config.HOST, logger, async () => {
    await database.close();
  });
}

main().catch((err) => {
  logger.fatal({ err }, 'event failed to start');
  process.exit(1);
});
