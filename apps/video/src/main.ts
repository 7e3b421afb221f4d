import { loadConfigOrExit } from '@kinora/config';
import { openDatabase } from '@kinora/db';
import { createLogger, serve, startTracing } from '@kinora/observability';
import { buildApp } from './app.js';

const config = loadConfigOrExit();
const stopTracing = startTracing({ endpoint: config.otelEndpoint, serviceName: 'kinora-video' });
const logger = createLogger({ level: config.logLevel, name: 'video' });
const db = await openDatabase(config, logger, 'kinora-video');
const app = await buildApp(config, { database: db.database, logger });
await serve(app, {
  port: config.port,
  host: config.host,
  shutdownGraceMs: config.shutdownGraceMs,
  onShutdown: async () => {
    await db.close();
    await stopTracing();
  },
});
