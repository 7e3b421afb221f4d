import { loadConfigOrExit } from '@kinora/config';
import { openDatabase } from '@kinora/db';
import { createLogger, serve, startTracing } from '@kinora/observability';
import { buildKinora } from './app.js';

const started = Date.now();
const config = loadConfigOrExit();
const stopTracing = startTracing({ endpoint: config.otelEndpoint, serviceName: 'kinora' });
const logger = createLogger({ level: config.logLevel, name: 'kinora' });
const db = await openDatabase(config, logger, 'kinora');
try {
  const app = await buildKinora(config, { database: db.database, logger });
  await serve(app, {
    port: config.port,
    host: config.host,
    shutdownGraceMs: config.shutdownGraceMs,
    onShutdown: async () => {
      await db.close();
      await stopTracing();
    },
  });
  logger.info({ url: config.publicUrl, dataDir: config.dataDir, services: config.services, ms: Date.now() - started }, 'Kinora is ready');
} catch (err) {
  logger.fatal({ err }, 'start-up failed');
  await db.close().catch(() => {});
  process.exit(1);
}
