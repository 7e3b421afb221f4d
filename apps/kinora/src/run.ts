import type { Config } from '@kinora/config';
import { openDatabase } from '@kinora/db';
import { createLogger, serve } from '@kinora/observability';
import { exitWhenPortTaken } from '@kinora/service';
import { buildKinora } from './app.js';

/** Starts the all-in-one platform (embedded database when `DATABASE_URL` is unset) and drains on SIGTERM. */
export async function run(config: Readonly<Config>, opts: { started: number; stopTracing: () => Promise<void> }): Promise<void> {
  const logger = createLogger({ level: config.logLevel, name: 'kinora' });
  await exitWhenPortTaken(config, logger);
  let db: Awaited<ReturnType<typeof openDatabase>>;
  try {
    db = await openDatabase(config, logger, 'kinora');
  } catch (err) {
    // One line saying what to change (the data folder, DATABASE_URL), not a stack trace.
    logger.fatal({ dataDir: config.dataDir }, `could not start the database: ${(err as Error).message}`);
    process.exit(1);
  }
  try {
    const app = await buildKinora(config, { database: db.database, logger });
    await serve(app, {
      port: config.port,
      host: config.host,
      shutdownGraceMs: config.shutdownGraceMs,
      onShutdown: async () => {
        await db.close();
        await opts.stopTracing();
      },
    });
    logger.info({ url: config.publicUrl, dataDir: config.dataDir, services: config.services, ms: Date.now() - opts.started }, 'Kinora is ready');
  } catch (err) {
    logger.fatal({ err }, 'start-up failed');
    await db.close().catch(() => {});
    process.exit(1);
  }
}
