import { DATABASE_ENTITIES, type Config, type DatabaseEntity } from '@kinora/config';
import { openDatabase, type Database } from '@kinora/db';
import { createLogger, serve } from '@kinora/observability';
import { exitWhenPortTaken } from '@kinora/service';
import { buildKinora } from './app.js';

type Opened = Awaited<ReturnType<typeof openDatabase>>;

/**
 * Starts the all-in-one platform (embedded database when `DATABASE_URL` is unset) and drains on SIGTERM. An entity
 * with a database of its own (`USERS_DATABASE_URL`, …, different from `DATABASE_URL`) gets its own pools.
 */
export async function run(config: Readonly<Config>, opts: { started: number; stopTracing: () => Promise<void> }): Promise<void> {
  const logger = createLogger({ level: config.logLevel, name: 'kinora' });
  await exitWhenPortTaken(config, logger);
  const opened: Opened[] = [];
  const closeAll = async (): Promise<void> => {
    for (const o of opened.reverse()) await o.close().catch(() => {});
  };
  let db: Opened;
  const databases: Partial<Record<DatabaseEntity, Database>> = {};
  try {
    db = await openDatabase(config, logger, 'kinora');
    opened.push(db);
    for (const entity of DATABASE_ENTITIES) {
      const conn = config.databases[entity];
      const same = conn.url === config.databaseUrl && conn.replicaUrls.join(',') === config.databaseReplicaUrls.join(',');
      if (same) continue;
      const own = await openDatabase(config, logger, `kinora-${entity}`, entity);
      opened.push(own);
      databases[entity] = own.database;
    }
  } catch (err) {
    // One line saying what to change (the data folder, DATABASE_URL), not a stack trace.
    logger.fatal({ dataDir: config.dataDir }, `could not start the database: ${(err as Error).message}`);
    await closeAll();
    process.exit(1);
  }
  try {
    const app = await buildKinora(config, { database: db.database, databases, logger });
    await serve(app, {
      port: config.port,
      host: config.host,
      shutdownGraceMs: config.shutdownGraceMs,
      onShutdown: async () => {
        await closeAll();
        await opts.stopTracing();
      },
    });
    logger.info({ url: config.publicUrl, dataDir: config.dataDir, services: config.services, ms: Date.now() - opts.started }, 'Kinora is ready');
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await closeAll();
    process.exit(1);
  }
}
